"""Helpers for the security tests: the whole app on a fresh database, people, tokens, records.

These tests need real transactions (a failed sign-in or a refused token must be committed
although the request fails), so they run on `use_db` rather than the rolled-back session.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from factories import TEST_PASSWORD, make_agency, make_user, use_cheap_password_hashing  # noqa: F401
from weiwai.db import session_scope
from weiwai.security.models import ApiTokenUse, AuditEvent, LoginAttempt, Role, User
from weiwai.web.deps import Principal

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx dependency
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient


@contextmanager
def app_client(*, client: tuple[str, int] = ("testclient", 50000), extra_router=None) -> Iterator[TestClient]:
    """The whole app over https (so that the Secure cookie comes back), from one client address."""
    from weiwai.web.app import create_app

    app = create_app()
    if extra_router is not None:
        app.include_router(extra_router)
    with TestClient(app, base_url="https://testserver", client=client) as test_client:
        yield test_client


def api_sign_in(client: TestClient, username: str, password: str = TEST_PASSWORD):
    """Sign in through the JSON API; the client then sends the session's CSRF token (X-CSRF-Token)."""
    response = client.post("/api/v1/session", json={"username": username, "password": password})
    if "x-csrf-token" in response.headers:
        client.headers["X-CSRF-Token"] = response.headers["x-csrf-token"]
    return response


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def audit_actions(action_prefix: str = "") -> list[str]:
    with session_scope() as session:
        return list(session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.startswith(action_prefix)).order_by(AuditEvent.id)
        ))


def audit_events(action: str) -> list[AuditEvent]:
    with session_scope() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        session.expunge_all()
        return events


def login_attempts() -> list[tuple[str, str, bool]]:
    with session_scope() as session:
        rows = session.execute(
            select(LoginAttempt.client, LoginAttempt.username, LoginAttempt.succeeded).order_by(LoginAttempt.id)
        ).all()
        return [tuple(row) for row in rows]


def token_uses() -> list[tuple[int | None, str, str, str]]:
    """(token_id, method, path, outcome) of every recorded use, in order."""
    with session_scope() as session:
        rows = session.execute(
            select(ApiTokenUse.token_id, ApiTokenUse.method, ApiTokenUse.path, ApiTokenUse.outcome)
            .order_by(ApiTokenUse.id)
        ).all()
        return [tuple(row) for row in rows]


def principal_of(user: User, *, token: bool = False) -> Principal:
    return Principal(user_id=None if token else user.id, username=user.username, role=Role(user.role),
                     agency_id=user.agency_id, token_id=1 if token else None,
                     scopes=frozenset() if token else None)


@pytest.fixture
def api(session, monkeypatch):
    """A client on the users and audit routers, on the test's session, as `api.as_(user)`.

    The principal is set directly (sign-in is covered by test_security_sessions); the
    routes run on the test's rolled-back session.
    """
    from fastapi import FastAPI

    from weiwai.security import audit_routes, user_routes
    from weiwai.web.app import _add_error_handlers
    from weiwai.web.deps import current_principal, get_session

    use_cheap_password_hashing(monkeypatch)
    app = FastAPI()
    _add_error_handlers(app)
    app.include_router(user_routes.router)
    app.include_router(audit_routes.router)
    holder = SimpleNamespace(principal=None)

    def test_session():
        yield session

    app.dependency_overrides[get_session] = test_session
    app.dependency_overrides[current_principal] = lambda: holder.principal
    client = TestClient(app, headers={"accept-language": "en"})

    def as_(user: User, *, token: bool = False):
        holder.principal = principal_of(user, token=token)
        return client

    return SimpleNamespace(as_=as_)
