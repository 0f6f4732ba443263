"""API tokens end to end: issue over HTTP (shown once), use with Bearer, scopes, refusals,
the access log of every use (refused ones and failed requests included), revocation,
and who may manage whose tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import APIRouter

from factories import use_cheap_password_hashing
from factories_security import (
    api_sign_in,
    app_client,
    audit_events,
    bearer,
    make_agency,
    make_user,
    token_uses,
)
from weiwai.agencies.models import Agency, AgencyStatus
from weiwai.db import session_scope, utcnow
from weiwai.errors import NotFound
from weiwai.security.permissions import Permission
from weiwai.security.tokens import issue_token
from weiwai.web.deps import Allowed

# Test-only routes: one needing actions.write, one that fails after authenticating.
probe = APIRouter(prefix="/api/v1/test-only")


@probe.post("/write")
def needs_actions_write(principal: Allowed(Permission.actions_write)) -> dict:
    return {"actor": principal.actor}


@probe.get("/missing")
def fails_after_authenticating(principal: Allowed(Permission.cases_read)) -> dict:
    raise NotFound("nothing here")


@pytest.fixture
def world(use_db, monkeypatch):
    """Two agencies (A, B), A's manager and collector, B's manager, an admin, infosec and operations."""
    use_cheap_password_hashing(monkeypatch)
    with session_scope() as session:
        a, b = make_agency(session, code="AG-A"), make_agency(session, code="AG-B")
        make_user(session, username="mgr-a", role="agency_manager", agency_id=a.id)
        make_user(session, username="col-a", role="collector", agency_id=a.id)
        make_user(session, username="mgr-b", role="agency_manager", agency_id=b.id)
        for role in ("admin", "infosec", "operations"):
            make_user(session, username=role, role=role)
        return {"a": a.id, "b": b.id}


def signed_in(client, username):
    assert api_sign_in(client, username).status_code == 200
    return client


def test_token_lifecycle_over_http(world):
    a = world["a"]
    with app_client(extra_router=probe) as manager, app_client(extra_router=probe) as system:
        signed_in(manager, "mgr-a")
        created = manager.post(f"/api/v1/agencies/{a}/tokens", json={"name": "dialler", "expires_in_days": 30})
        assert created.status_code == 201, created.text
        body = created.json()
        secret = body["token"]
        assert secret.startswith(f"ww_{body['prefix']}_") and len(secret) == 59
        assert body["scopes"] == ["actions.read", "actions.write", "cases.read", "compliance.check"]
        assert (body["status"], body["agency_code"], body["created_by"]) == ("active", "AG-A", "user:mgr-a")
        assert body["last_used_at"] is None
        assert timedelta(days=29) < _parse(body["expires_at"]) - utcnow() <= timedelta(days=30)

        me = system.get("/api/v1/me", headers=bearer(secret))
        assert me.status_code == 200, me.text
        me = me.json()
        assert (me["kind"], me["id"], me["agency_id"], me["agency_code"]) == ("token", None, a, "AG-A")
        assert (me["token_id"], me["display_name"], me["role"]) == (body["id"], "dialler", "agency_manager")
        assert me["scopes"] == body["scopes"] and set(me["permissions"]) == set(body["scopes"])
        assert system.post("/api/v1/test-only/write", headers=bearer(secret)).json() == {
            "actor": f"token:{body['prefix']}"}

        listed = manager.get(f"/api/v1/agencies/{a}/tokens").json()
        assert listed["total"] == 1 and listed["items"][0]["last_used_at"] is not None
        assert "token" not in listed["items"][0] and "token_sha256" not in listed["items"][0]
        assert secret not in manager.get(f"/api/v1/agencies/{a}/tokens").text

        revoked = manager.post(f"/api/v1/agencies/{a}/tokens/{body['id']}/revoke")
        assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
        assert revoked.json()["revoked_by"] == "user:mgr-a"
        refused = system.get("/api/v1/me", headers=bearer(secret))
        assert refused.status_code == 401 and refused.json()["code"] == "invalid_token"
        assert manager.post(f"/api/v1/agencies/{a}/tokens/{body['id']}/revoke").status_code == 200  # idempotent

        uses = manager.get(f"/api/v1/agencies/{a}/tokens/{body['id']}/uses").json()
        assert uses["total"] == 3
        assert [(u["method"], u["path"], u["outcome"]) for u in uses["items"]] == [
            ("GET", "/api/v1/me", "revoked"),
            ("POST", "/api/v1/test-only/write", "accepted"),
            ("GET", "/api/v1/me", "accepted"),
        ]
    assert [e.details["name"] for e in audit_events("token.issue")] == ["dialler"]
    assert [e.actor for e in audit_events("token.revoke")] == ["user:mgr-a"]  # once, though revoked twice


def _parse(value: str):
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _issue(agency_id: int, *, scopes=None, lifetime=timedelta(days=90), now=None) -> tuple[int, str]:
    with session_scope() as session:
        issued = issue_token(session=session, agency_id=agency_id, name="system", scopes=scopes, lifetime=lifetime,
                             actor="test", now=now)
        return issued.token.id, issued.secret


def test_refused_tokens_are_401_problems_and_every_use_is_recorded(world):
    live_id, live = _issue(world["a"])
    expired_id, expired = _issue(world["a"], lifetime=timedelta(days=1), now=utcnow() - timedelta(days=2))
    b_id, of_b = _issue(world["b"])
    wrong_secret = live[:16] + ("A" if live[16] != "A" else "B") + live[17:]
    with session_scope() as session:
        session.get(Agency, world["b"]).status = AgencyStatus.suspended

    with app_client() as client:
        for raw in (wrong_secret, expired, of_b, "ww_nosuchprefix_" + "x" * 43, "not-a-token"):
            response = client.get("/api/v1/me", headers=bearer(raw))
            assert response.status_code == 401, raw
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "invalid_token"
        basic = client.get("/api/v1/me", headers={"authorization": "Basic dXNlcjpwdw=="})
        assert basic.status_code == 401 and basic.headers["www-authenticate"] == "Bearer"
        assert client.get("/api/v1/me", headers=bearer(live)).status_code == 200

    assert [(token_id, outcome) for token_id, _method, _path, outcome in token_uses()] == [
        (live_id, "wrong_secret"), (expired_id, "expired"), (b_id, "agency_inactive"), (None, "unknown"),
        (None, "unknown"), (live_id, "accepted"),
    ]


def test_uses_are_recorded_when_the_request_fails_after_authentication(world):
    _id, reader = _issue(world["a"], scopes={Permission.cases_read})
    with app_client(extra_router=probe) as client:
        assert client.get("/api/v1/test-only/missing", headers=bearer(reader)).status_code == 404
        # Scope narrowing: without actions.write the token is refused that route…
        narrowed = client.post("/api/v1/test-only/write", headers=bearer(reader))
        assert narrowed.status_code == 403 and narrowed.json()["code"] == "forbidden"
        # … which an agency manager signed in with a password may use.
        signed_in(client, "mgr-a")
        assert client.post("/api/v1/test-only/write").status_code == 200
    assert [(path, outcome) for _token, _method, path, outcome in token_uses()] == [
        ("/api/v1/test-only/missing", "accepted"), ("/api/v1/test-only/write", "accepted"),
    ]


def test_tokens_cannot_manage_tokens_or_users(world):
    _id, secret = _issue(world["a"], scopes={Permission.cases_read, Permission.actions_write})
    with app_client() as client:
        assert client.get(f"/api/v1/agencies/{world['a']}/tokens", headers=bearer(secret)).status_code == 403
        created = client.post(f"/api/v1/agencies/{world['a']}/tokens", json={"name": "x"}, headers=bearer(secret))
        assert created.status_code == 403
        assert client.get("/api/v1/users", headers=bearer(secret)).status_code == 403


@pytest.mark.parametrize(
    "username, agency, expected",
    [
        ("mgr-a", "a", 201), ("mgr-a", "b", 404), ("mgr-b", "a", 404), ("col-a", "a", 403),
        ("operations", "a", 403), ("admin", "a", 201), ("admin", "b", 201), ("infosec", "b", 201),
        ("admin", None, 404),
    ],
)
def test_who_may_issue_tokens_for_which_agency(world, username, agency, expected):
    agency_id = world[agency] if agency else 987654
    with app_client() as client:
        signed_in(client, username)
        response = client.post(f"/api/v1/agencies/{agency_id}/tokens", json={"name": "crm"})
        assert response.status_code == expected, response.text
        listed = client.get(f"/api/v1/agencies/{agency_id}/tokens")
        assert listed.status_code == (200 if expected == 201 else expected)


def test_another_agencys_token_is_not_found_through_ones_own_agency(world):
    b_token, _secret = _issue(world["b"])
    with app_client() as client:
        signed_in(client, "mgr-a")
        assert client.post(f"/api/v1/agencies/{world['a']}/tokens/{b_token}/revoke").status_code == 404
        assert client.get(f"/api/v1/agencies/{world['a']}/tokens/{b_token}/uses").status_code == 404
        assert client.get(f"/api/v1/agencies/{world['b']}/tokens/{b_token}/uses").status_code == 404


@pytest.mark.parametrize(
    "body, code",
    [
        ({"name": "x", "scopes": ["personal_data.reveal"]}, "invalid_scope"),
        ({"name": "x", "scopes": ["tokens.manage"]}, "invalid_scope"),
        ({"name": "x", "scopes": []}, "invalid_scope"),
        ({"name": "x", "scopes": ["no.such.scope"]}, "validation_error"),
        ({"name": "x", "expires_in_days": 0}, "validation_error"),
        ({"name": "x", "expires_in_days": 367}, "validation_error"),
        ({"name": "   "}, "invalid_token_name"),
        ({"name": "x", "digest": "y"}, "validation_error"),
    ],
)
def test_token_requests_are_validated(world, body, code):
    with app_client() as client:
        signed_in(client, "admin")
        response = client.post(f"/api/v1/agencies/{world['a']}/tokens", json=body)
        assert response.status_code == 422 and response.json()["code"] == code, response.text


def test_token_list_is_paginated_and_newest_first(world):
    ids = [_issue(world["a"])[0] for _i in range(3)]
    _issue(world["b"])
    with app_client() as client:
        signed_in(client, "infosec")
        page = client.get(f"/api/v1/agencies/{world['a']}/tokens", params={"limit": 2}).json()
        assert (page["total"], page["limit"], [t["id"] for t in page["items"]]) == (3, 2, ids[:0:-1])
        rest = client.get(f"/api/v1/agencies/{world['a']}/tokens", params={"offset": 2}).json()
        assert [t["id"] for t in rest["items"]] == [ids[0]]
