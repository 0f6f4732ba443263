"""Sessions of people: the JSON session API, cookie flags, idle and absolute expiry,
deactivation, and the rate limit on password attempts per client address."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from factories import csrf_from, use_cheap_password_hashing
from factories_security import (
    TEST_PASSWORD,
    api_sign_in,
    app_client,
    audit_actions,
    audit_events,
    login_attempts,
    make_user,
)
from weiwai.config import get_settings, reset_settings
from weiwai.db import session_scope


@pytest.fixture
def db(use_db, monkeypatch):
    use_cheap_password_hashing(monkeypatch)
    return use_db


@pytest.fixture
def people(db):
    with session_scope() as session:
        make_user(session, username="olivia", role="operations")
        make_user(session, username="carl", role="collector")
    return {"lender": "olivia", "collector": "carl"}


@pytest.fixture
def clock(monkeypatch):
    """The session's clock (weiwai.web.deps), moved forward by the test."""
    state = SimpleNamespace(now=time.time())
    monkeypatch.setattr("weiwai.web.deps.time", SimpleNamespace(time=lambda: state.now))
    return state


def session_cookie(response) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("weiwai_session="):
            return header
    return None


def cookie_attributes(response) -> list[str]:
    return [part.strip().lower() for part in session_cookie(response).split(";")]


# --- the JSON session API ---------------------------------------------------------------


def test_json_sign_in_answers_me_and_sets_the_cookie_and_sign_out_clears_it(people):
    with app_client() as client:
        response = api_sign_in(client, people["collector"])
        assert response.status_code == 200, response.text
        me = response.json()
        assert (me["kind"], me["username"], me["role"]) == ("user", "carl", "collector")
        assert me["agency_code"] and "actions.write" in me["permissions"] and "users.write" not in me["permissions"]
        assert session_cookie(response) is not None
        assert client.get("/api/v1/me").json()["username"] == "carl"

        out = client.delete("/api/v1/session")
        assert out.status_code == 204 and out.content == b""
        assert client.get("/api/v1/me").status_code == 401
        assert client.delete("/api/v1/session").status_code == 204  # signing out twice is harmless
    assert audit_actions("log") == ["login.success", "logout"]
    assert login_attempts() == [("testclient", "carl", True)]


def test_json_sign_in_failure_is_a_committed_401_problem(people):
    with app_client() as client:
        response = api_sign_in(client, people["lender"], "not the password")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "authentication_failed"
        assert session_cookie(response) is None
        unknown = api_sign_in(client, "nobody-at-all")
        assert unknown.status_code == 401 and unknown.json()["detail"] == response.json()["detail"]
        assert client.post("/api/v1/session", json={"username": "olivia"}).status_code == 422
    assert audit_actions("login") == ["login.failure", "login.failure"]
    assert login_attempts() == [("testclient", "olivia", False), ("testclient", "nobody-at-all", False)]


def test_json_sign_in_is_locked_like_the_form(people):
    with app_client() as client:
        for _attempt in range(5):
            assert api_sign_in(client, people["lender"], "not the password").status_code == 401
        assert api_sign_in(client, people["lender"]).status_code == 401  # right password, but locked
    assert audit_events("login.failure")[-1].details["reason"] == "locked"


# --- the cookie -------------------------------------------------------------------------


def test_cookie_is_secure_httponly_and_samesite_outside_demo_mode(people):
    with app_client() as client:
        attributes = cookie_attributes(api_sign_in(client, people["lender"]))
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= set(attributes)


def test_cookie_is_not_secure_when_configured_for_plain_http(people, monkeypatch):
    monkeypatch.setenv("WEIWAI_COOKIE_SECURE", "false")
    reset_settings()
    with app_client() as client:
        attributes = cookie_attributes(api_sign_in(client, people["lender"]))
    assert "secure" not in attributes and "httponly" in attributes and "samesite=lax" in attributes


def test_the_secure_cookie_is_not_sent_back_over_plain_http(people):
    from factories_security import TestClient
    from weiwai.web.app import create_app

    with TestClient(create_app(), base_url="http://testserver") as client:
        assert api_sign_in(client, people["lender"]).status_code == 200
        assert client.get("/api/v1/me").status_code == 401


# --- expiry -----------------------------------------------------------------------------


def test_session_ends_after_the_idle_time(people, clock):
    idle = get_settings().session_idle_seconds
    with app_client() as client:
        api_sign_in(client, people["lender"])
        # Each request within the idle time keeps the session alive, beyond the idle time in all.
        for _step in range(3):
            clock.now += idle - 30
            assert client.get("/api/v1/me").status_code == 200
        clock.now += idle + 1
        response = client.get("/api/v1/me")
        assert response.status_code == 401 and "expired" in response.json()["detail"]
        clock.now += 1
        assert client.get("/api/v1/me").status_code == 401  # the expired session was cleared


def test_session_ends_after_the_maximum_age_however_active(people, clock, monkeypatch):
    monkeypatch.setenv("WEIWAI_SESSION_MAX_AGE_SECONDS", "3600")
    monkeypatch.setenv("WEIWAI_SESSION_IDLE_SECONDS", "900")
    reset_settings()
    with app_client() as client:
        api_sign_in(client, people["lender"])
        for _step in range(4):  # active every ten minutes: never idle
            clock.now += 600
            assert client.get("/api/v1/me").status_code == 200
        clock.now += 1201  # 3601 seconds after signing in
        assert client.get("/api/v1/me").status_code == 401


def test_deactivated_user_loses_access_at_once(people):
    from weiwai.security.service import find_user, update_user

    with app_client() as client:
        api_sign_in(client, people["collector"])
        assert client.get("/api/v1/me").status_code == 200
        with session_scope() as session:
            update_user(session=session, user=find_user(session=session, username="carl"), is_active=False,
                        actor="test")
        assert client.get("/api/v1/me").status_code == 401
        assert api_sign_in(client, people["collector"]).status_code == 401


# --- the rate limit per client address --------------------------------------------------


@pytest.fixture
def three_failures_allowed(monkeypatch, db):
    monkeypatch.setenv("WEIWAI_LOGIN_FAILURES_PER_CLIENT", "3")
    monkeypatch.setenv("WEIWAI_LOGIN_WINDOW_SECONDS", "600")
    reset_settings()


def test_too_many_failures_from_one_address_are_refused_without_checking(people, three_failures_allowed, monkeypatch):
    from datetime import timedelta

    from weiwai.db import utcnow
    from weiwai.security import login_limits

    with app_client(client=("203.0.113.9", 4000)) as client:
        # Failures spread over several accounts: the per-account lockout never triggers.
        for username in ("olivia", "carl", "nobody"):
            assert api_sign_in(client, username, "guess-guess-guess").status_code == 401
        refused = api_sign_in(client, people["lender"])  # even the right password
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "too_many_login_attempts"
        assert 1 <= int(refused.headers["retry-after"]) <= 600
        assert session_cookie(refused) is None

        token = csrf_from(client.get("/login").text)
        form = client.post("/login", data={"username": "olivia", "password": TEST_PASSWORD, "next": "/",
                                           "csrf_token": token},
                           headers={"accept": "text/html", "accept-language": "en"}, follow_redirects=False)
        assert form.status_code == 429 and "retry-after" in form.headers
        assert "Too many failed sign-in attempts" in form.text and 'role="alert"' in form.text

    with app_client(client=("198.51.100.7", 4000)) as other:  # another address is not affected
        assert api_sign_in(other, people["lender"]).status_code == 200

    throttled = audit_events("login.throttled")
    assert len(throttled) == 2 and throttled[0].details["client"] == "203.0.113.9"
    # The refusals were not password attempts: only the three failures and the other address's success.
    assert [(client, ok) for client, _user, ok in login_attempts()] == [
        ("203.0.113.9", False), ("203.0.113.9", False), ("203.0.113.9", False), ("198.51.100.7", True)]

    later = utcnow() + timedelta(seconds=601)
    monkeypatch.setattr(login_limits, "utcnow", lambda: later)
    with app_client(client=("203.0.113.9", 4000)) as client:
        assert api_sign_in(client, people["lender"]).status_code == 200  # the failures left the window


def test_retry_after_counts_from_the_oldest_failure_that_still_counts(session, monkeypatch):
    from datetime import timedelta

    from weiwai.db import utcnow
    from weiwai.security.login_limits import record_attempt, retry_after

    monkeypatch.setattr("weiwai.security.login_limits.get_settings",
                        lambda: SimpleNamespace(login_failures_per_client=2, login_window_seconds=100))
    now = utcnow()
    for seconds_ago, ok in ((150, False), (60, False), (40, True), (20, False)):
        record_attempt(session=session, client="10.1.1.1", username="x", succeeded=ok,
                       now=now - timedelta(seconds=seconds_ago))
    session.flush()
    # The two newest failures are 60 s and 20 s old: the older leaves the window in 40 s.
    assert retry_after(session=session, client="10.1.1.1", now=now) == 40
    assert retry_after(session=session, client="10.1.1.2", now=now) is None
    assert retry_after(session=session, client="10.1.1.1", now=now + timedelta(seconds=41)) is None


# --- a changed password ends the sessions signed in before it --------------------------


def test_a_password_reset_ends_the_users_other_sessions(people, clock):
    with session_scope() as session:
        make_user(session, username="ada", role="admin")
    with app_client() as carl, app_client() as admin:
        clock.now -= 5  # both signed in a few seconds before the reset
        assert api_sign_in(carl, people["collector"]).status_code == 200
        assert api_sign_in(admin, "ada").status_code == 200
        carl_id = carl.get("/api/v1/me").json()["id"]
        reset = admin.post(f"/api/v1/users/{carl_id}/password", json={"new_password": "an-entirely-new-passphrase"})
        assert reset.status_code == 204, reset.text
        assert carl.get("/api/v1/me").status_code == 401
        assert admin.get("/api/v1/me").status_code == 200


def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(people, clock):
    with app_client() as laptop, app_client() as phone:
        clock.now -= 5  # both signed in a few seconds before the change
        assert api_sign_in(laptop, people["lender"]).status_code == 200
        assert api_sign_in(phone, people["lender"]).status_code == 200
        clock.now = time.time()
        changed = laptop.post(f"/api/v1/users/{laptop.get('/api/v1/me').json()['id']}/password",
                              json={"current_password": TEST_PASSWORD, "new_password": "an-entirely-new-passphrase"})
        assert changed.status_code == 204, changed.text
        assert laptop.get("/api/v1/me").status_code == 200
        assert phone.get("/api/v1/me").status_code == 401
