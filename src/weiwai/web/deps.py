"""Typed dependencies for routes: one transaction per request, and the signed-in user.

`SessionDep` commits when the route returns and rolls back when it raises, so routes
and services never commit themselves. `CurrentUser` is the signed-in principal (from the
session cookie); `require_roles(...)` narrows it to roles allowed for a route.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from weiwai.db import new_session
from weiwai.security.models import Role

LENDER_ROLES = frozenset(
    {Role.admin, Role.operations, Role.compliance, Role.infosec, Role.finance, Role.auditor}
)
AGENCY_ROLES = frozenset({Role.agency_manager, Role.collector})


def get_session() -> Iterator[Session]:
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": commit before the response is sent, so a failed commit is an error
# the client sees rather than a success that silently did not happen.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Principal:
    """Who is asking: enough to decide what they may see, without another query."""

    user_id: int
    username: str
    role: Role
    agency_id: int | None

    @property
    def is_lender(self) -> bool:
        return self.role in LENDER_ROLES

    @property
    def actor(self) -> str:
        """How this principal is named in history and audit records."""
        return f"user:{self.username}"


SESSION_USER_KEY = "uid"


def current_principal(request: Request, session: SessionDep) -> Principal:
    """The signed-in user, or 401 (the web pages redirect to the login page on 401)."""
    from weiwai.security.models import User

    user_id = request.session.get(SESSION_USER_KEY) if "session" in request.scope else None
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not user.is_active:
        raise HTTPException(status_code=401, detail="not signed in")
    return Principal(user_id=user.id, username=user.username, role=Role(user.role), agency_id=user.agency_id)


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role):
    """Dependency factory: the principal, if their role is one of `roles`, else 403."""
    allowed = frozenset(roles)

    def dependency(principal: CurrentUser) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(status_code=403, detail="your role may not do this")
        return principal

    return dependency
