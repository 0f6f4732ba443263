"""Web hardening: CSRF tokens, security headers, session rotation at sign-in, reveal rate limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from factories import csrf_from, make_debtor, make_user, sign_in, use_cheap_password_hashing
from factories_security import api_sign_in, app_client, audit_actions, bearer
from weiwai.db import session_scope, utcnow
from weiwai.security.models import AuditEvent


@pytest.fixture
def people(use_db, monkeypatch):
    use_cheap_password_hashing(monkeypatch)
    with session_scope() as session:
        make_user(session, username="olivia", role="operations")
        make_user(session, username="cora", role="compliance")
        debtor_id = make_debtor(session).id
    return {"debtor": debtor_id}


def test_a_cookie_session_must_send_its_token_on_unsafe_requests(people):
    with app_client() as client:
        assert api_sign_in(client, "olivia").status_code == 200
        token = client.headers.pop("X-CSRF-Token")
        refused = client.delete("/api/v1/session")
        assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
        assert refused.headers["content-type"] == "application/problem+json"
        wrong = client.delete("/api/v1/session", headers={"X-CSRF-Token": "0" * 64})
        assert wrong.status_code == 403
        assert client.get("/api/v1/me").status_code == 200  # still signed in: nothing happened
        assert client.get("/api/v1/me").headers["x-csrf-token"] == token
        assert client.delete("/api/v1/session", headers={"X-CSRF-Token": token}).status_code == 204
        assert client.get("/api/v1/me").status_code == 401


def test_forms_carry_the_token_and_a_form_without_it_gets_a_403_page(people):
    with app_client() as client:
        assert sign_in(client, "olivia").status_code == 303
        client.headers.pop("X-CSRF-Token")
        page = client.get("/", headers={"accept": "text/html"}).text
        token = csrf_from(page)  # the sign-out form in the top bar
        assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in page  # what htmx sends
        refused = client.post("/logout", headers={"accept": "text/html"}, follow_redirects=False)
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
        done = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/login"


def test_the_sign_in_form_needs_the_token_of_its_own_session(people):
    with app_client() as client, app_client() as other:
        no_token = client.post("/login", data={"username": "olivia", "password": "x"}, follow_redirects=False)
        assert no_token.status_code == 403
        foreign = csrf_from(other.get("/login").text)  # a token from another browser's session
        client.get("/login")
        from factories import TEST_PASSWORD

        forged = client.post("/login", data={"username": "olivia", "password": TEST_PASSWORD, "csrf_token": foreign},
                             follow_redirects=False)
        assert forged.status_code == 403
        assert client.get("/api/v1/me").status_code == 401  # not signed in


def test_sign_in_rotates_the_session_and_voids_the_pre_login_token(people):
    with app_client() as client:
        before = csrf_from(client.get("/login").text)
        response = sign_in(client, "olivia")
        after = response.headers["x-csrf-token"]
        del client.headers["X-CSRF-Token"]  # present each token explicitly below
        assert after != before
        assert client.post("/logout", data={"csrf_token": before}, follow_redirects=False).status_code == 403
        # Signing in again, even as the same person, issues yet another session id.
        again = sign_in(client, "olivia").headers["x-csrf-token"]
        del client.headers["X-CSRF-Token"]
        assert again not in (before, after)
        assert client.post("/logout", headers={"X-CSRF-Token": after}, follow_redirects=False).status_code == 403
        assert client.post("/logout", headers={"X-CSRF-Token": again}, follow_redirects=False).status_code == 303


def test_bearer_requests_need_no_csrf_token(people):
    with app_client() as client:
        api_sign_in(client, "olivia")
        client.headers.pop("X-CSRF-Token")
        # An Authorization header: the cookie is not what authenticates, so no CSRF check
        # (the unknown token is refused as such, 401, not as a forgery).
        response = client.delete("/api/v1/session", headers=bearer("ww_nope_nope"))
        assert response.status_code != 403


def test_security_headers_on_every_response(people):
    with app_client() as client:
        for response in (client.get("/login"), client.get("/api/v1/me"), client.get("/healthz")):
            headers = response.headers
            policy = headers["content-security-policy"]
            for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'",
                              "form-action 'self'", "base-uri 'none'"):
                assert directive in policy
            assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["x-frame-options"] == "DENY"
            assert headers["referrer-policy"] == "same-origin"
            assert "camera=()" in headers["permissions-policy"]
            assert headers["cross-origin-opener-policy"] == "same-origin"
            assert headers["strict-transport-security"].startswith("max-age=")
            assert headers["cache-control"] == "no-store"
        static = client.get("/static/favicon.svg")
        assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"


def test_no_hsts_in_demo_mode(use_db, monkeypatch):
    from weiwai.config import reset_settings

    monkeypatch.setenv("WEIWAI_DEMO_MODE", "true")
    reset_settings()
    with app_client() as client:
        assert "strict-transport-security" not in client.get("/login").headers


def test_templates_have_no_inline_scripts():
    import re

    from weiwai.web.i18n_web import TEMPLATES_DIR

    for template in TEMPLATES_DIR.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        for tag in text.split("<script")[1:]:
            opening = tag.split(">", 1)[0]
            assert "src=" in opening or 'type="application/json"' in opening, template.name
        assert not re.search(r"<[^>]*\son[a-z]+=", text), f"inline event handler in {template.name}"


def test_every_post_form_carries_the_csrf_field():
    import re

    from weiwai.web.i18n_web import TEMPLATES_DIR

    for template in TEMPLATES_DIR.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        for form in re.findall(r"<form\b[^>]*>.*?</form>", text, flags=re.S):
            if 'method="post"' in form.split(">", 1)[0]:
                assert 'name="csrf_token" value="{{ csrf_token(request) }}"' in form, template.name


# --- rate limits -------------------------------------------------------------------------


def test_reveals_beyond_the_limit_answer_429_with_retry_after_and_are_audited(people, monkeypatch):
    from weiwai.config import reset_settings

    monkeypatch.setenv("WEIWAI_REVEAL_LIMIT_PER_WINDOW", "2")
    reset_settings()
    url = f"/api/v1/debtors/{people['debtor']}/reveal"
    with app_client() as client:
        api_sign_in(client, "cora")
        for _ in range(2):
            assert client.post(url, json={"reason": "客户来电核实"}).status_code == 200
        refused = client.post(url, json={"reason": "客户来电核实"})
        assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert audit_actions("reveal") == ["reveal", "reveal", "reveal.throttled"]
    with session_scope() as session:
        throttled = session.scalars(select(AuditEvent).where(AuditEvent.action == "reveal.throttled")).one()
        assert throttled.actor == "user:cora" and throttled.details["limit"] == 2


def test_the_reveal_window_slides(session):
    """Only the actor's own reveals within the window count; Retry-After is when the oldest leaves it."""
    from weiwai.security import audit
    from weiwai.security.rate_limits import RateLimited, check_rate

    now = utcnow()
    for minutes_ago in (50, 20):
        audit.record(session=session, actor="user:rate-test", action="reveal")
        session.flush()
        session.execute(AuditEvent.__table__.update().where(AuditEvent.actor == "user:rate-test",
                                                            AuditEvent.occurred_at > now - timedelta(seconds=5))
                        .values(occurred_at=now - timedelta(minutes=minutes_ago)))
    audit.record(session=session, actor="user:someone-else", action="reveal")
    window = timedelta(hours=1)
    check_rate(session=session, actor="user:rate-test", action="reveal", limit=3, window=window, now=now)
    with pytest.raises(RateLimited) as refused:
        check_rate(session=session, actor="user:rate-test", action="reveal", limit=2, window=window, now=now)
    assert 9 * 60 <= refused.value.retry_after <= 10 * 60 + 1
    # An hour later the older reveal has left the window.
    check_rate(session=session, actor="user:rate-test", action="reveal", limit=2, window=window,
               now=now + timedelta(minutes=15))
