"""Typed dependencies for routes: one transaction per request, and who is asking.

`SessionDep` commits when the route returns and rolls back when it raises, so routes
and services never commit themselves. `CurrentUser` is the principal: a person signed
in with the session cookie, or an agency system presenting an API token
(`Authorization: Bearer ww_...`). `require(permission)` opens a route to the roles whose
permissions (weiwai.security.permissions) include it; which rows the route then shows
is decided by weiwai.security.scope.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from weiwai.db import new_session
from weiwai.security.models import Role
from weiwai.security.permissions import Permission, permissions_of

LENDER_ROLES = frozenset(
    {Role.admin, Role.operations, Role.compliance, Role.infosec, Role.finance, Role.auditor}
)
AGENCY_ROLES = frozenset({Role.agency_manager, Role.collector})

SESSION_USER_KEY = "uid"
SESSION_ISSUED_KEY = "iat"  # when the person signed in (epoch seconds): the absolute expiry counts from it
SESSION_SEEN_KEY = "seen"  # the last request (epoch seconds): the idle expiry counts from it
# Refresh the idle clock at most once a minute, so that most responses need not re-sign the cookie.
SEEN_RESOLUTION_SECONDS = 60


def get_session(request: Request) -> Iterator[Session]:
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        _keep_token_use(request)
        raise
    finally:
        session.close()


def _keep_token_use(request: Request) -> None:
    """A failed request rolls back its record of the token use; write that record again on its own."""
    use = getattr(request.state, "token_use", None)
    if use is None:
        return
    from weiwai.security.models import ApiTokenUse

    with new_session() as session:
        session.add(ApiTokenUse(**use))
        session.commit()


# scope="function": commit before the response is sent, so a failed commit is an error
# the client sees rather than a success that silently did not happen.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Principal:
    """Who is asking: enough to decide what they may do and see, without another query.

    For an API token, `role` is agency_manager (a token sees its whole agency), `user_id`
    is None and `scopes` narrows the permissions to what the token was granted.
    """

    user_id: int | None
    username: str
    role: Role
    agency_id: int | None
    token_id: int | None = None
    scopes: frozenset[Permission] | None = None

    @property
    def is_lender(self) -> bool:
        return self.role in LENDER_ROLES

    @property
    def is_token(self) -> bool:
        return self.token_id is not None

    @property
    def permissions(self) -> frozenset[Permission]:
        granted = permissions_of(self.role)
        return granted if self.scopes is None else granted & self.scopes

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def actor(self) -> str:
        """How this principal is named in history and audit records."""
        if self.is_token:
            return f"token:{self.username}"
        return f"user:{self.username}"


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def current_principal(request: Request, session: SessionDep) -> Principal:
    """The caller, from an API token or the session cookie; 401 otherwise (pages redirect to login)."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        return _token_principal(request, session, authorization)
    return _session_principal(request, session)


def _token_principal(request: Request, session: Session, authorization: str) -> Principal:
    from weiwai.security.tokens import TokenRefused, verify_token

    scheme, _sep, raw = authorization.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise HTTPException(status_code=401, detail="use Authorization: Bearer <token>",
                            headers={"WWW-Authenticate": "Bearer"})
    token, use = verify_token(session=session, raw=raw.strip(), method=request.method, path=request.url.path,
                              client=_client(request))
    # Kept to be written again should the request fail and roll back.
    request.state.token_use = use
    if token is None:
        raise TokenRefused("the API token is unknown, expired or revoked")
    return Principal(user_id=None, username=f"{token.prefix}", role=Role.agency_manager, agency_id=token.agency_id,
                     token_id=token.id, scopes=frozenset(Permission(s) for s in token.scopes))


def _session_principal(request: Request, session: Session) -> Principal:
    from weiwai.config import get_settings
    from weiwai.security.models import User

    cookie = request.session if "session" in request.scope else {}
    user_id = cookie.get(SESSION_USER_KEY)
    if user_id is None:
        raise HTTPException(status_code=401, detail="not signed in")
    settings = get_settings()
    now = int(time.time())
    issued, seen = cookie.get(SESSION_ISSUED_KEY, 0), cookie.get(SESSION_SEEN_KEY, 0)
    if now - issued > settings.session_max_age_seconds or now - seen > settings.session_idle_seconds:
        cookie.clear()
        raise HTTPException(status_code=401, detail="the session has expired; sign in again")
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        cookie.clear()
        raise HTTPException(status_code=401, detail="not signed in")
    if user.password_changed_at is not None and issued < int(user.password_changed_at.timestamp()):
        # Signed in with the old password: a change or reset ends every such session.
        cookie.clear()
        raise HTTPException(status_code=401, detail="the password was changed; sign in again")
    if now - seen >= SEEN_RESOLUTION_SECONDS:
        cookie[SESSION_SEEN_KEY] = now
    return Principal(user_id=user.id, username=user.username, role=Role(user.role), agency_id=user.agency_id)


def start_session(request: Request, user_id: int, *, not_before: datetime | None = None) -> None:
    """Sign `user_id` in: a fresh session and session id, so nothing set before authentication carries over.

    `not_before`: the session counts as issued no earlier than this (a password change that
    ended the older sessions must not end this one, even within the same second).
    """
    now = int(time.time())
    if not_before is not None:
        now = max(now, int(not_before.timestamp()))
    from weiwai.web.csrf import SESSION_ID_KEY, new_session_id

    request.session.clear()
    # A new session id, hence a new CSRF token: the pre-login session's token is void.
    request.session.update({SESSION_USER_KEY: user_id, SESSION_ISSUED_KEY: now, SESSION_SEEN_KEY: now,
                            SESSION_ID_KEY: new_session_id()})


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(permission: Permission):
    """Dependency factory: the principal, if they hold `permission`, else 403.

    The permission is kept on the dependency (`.permission`), so the route table can be
    read back for docs/roles.md and the authorisation tests.
    """

    def dependency(principal: CurrentUser) -> Principal:
        if not principal.can(permission):
            raise HTTPException(status_code=403, detail=f"this needs the permission {permission.value}")
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]
    dependency.__name__ = f"require_{permission.name}"
    return dependency


def Allowed(permission: Permission):  # noqa: N802 - reads as a type in signatures
    """`principal: Allowed(Permission.cases_read)` in a route signature."""
    return Annotated[Principal, Depends(require(permission))]


def require_roles(*roles: Role):
    """Dependency factory: the principal, if their role is one of `roles`, else 403.

    Kept for pages; API routes use `require(permission)` so that the roles table is the
    one place that says who may do what.
    """
    allowed = frozenset(roles)

    def dependency(principal: CurrentUser) -> Principal:
        if principal.role not in allowed or principal.is_token:
            raise HTTPException(status_code=403, detail="your role may not do this")
        return principal

    return dependency
