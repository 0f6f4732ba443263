"""Sign-in for people: the login page, logout, and /api/v1/me.

The session is a signed cookie (Starlette SessionMiddleware, see weiwai.web.app) holding
only the user id. On sign-in the session is cleared and issued afresh, so nothing set
before authentication carries over into the signed-in session.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from weiwai.security import audit
from weiwai.security.models import Role, User
from weiwai.security.service import AuthenticationFailed, authenticate
from weiwai.web.deps import SESSION_USER_KEY, CurrentUser, SessionDep, start_session
from weiwai.web.i18n_web import render
from weiwai.web.pages import local_path

router = APIRouter(tags=["security"])


class MeRead(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    agency_id: int | None


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", {"next": local_path(next), "username": "", "error": None})


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
):
    try:
        user = authenticate(session=session, username=username, password=password, client=_client(request))
    except AuthenticationFailed as exc:
        # Returned, not raised: the request's transaction must commit the failure count
        # and the audit event.
        context = {"next": local_path(next), "username": username, "error": exc.message}
        return render(request, "login.html", context, status_code=401)
    start_session(request, user.id)
    return RedirectResponse(local_path(next), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, session: SessionDep) -> RedirectResponse:
    user_id = request.session.get(SESSION_USER_KEY)
    user = session.get(User, user_id) if user_id is not None else None
    if user is not None:
        audit.record(
            session=session, actor=f"user:{user.username}", action="logout", entity="user", entity_id=user.id,
            details={"client": _client(request)},
        )
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/api/v1/me")
def me(principal: CurrentUser, session: SessionDep) -> MeRead:
    """The signed-in user."""
    user = session.get(User, principal.user_id)
    return MeRead(
        id=user.id, username=user.username, display_name=user.display_name, role=principal.role,
        agency_id=user.agency_id,
    )
