"""Sign-in for people: the login page, logout, the JSON session API, and /api/v1/me.

The session is a signed cookie (Starlette SessionMiddleware, see weiwai.web.app) holding
the user id and when it was issued and last used (weiwai.web.deps). On sign-in the
session is cleared and issued afresh, so nothing set before authentication carries over.

A failed sign-in must still commit its records (failure count, lock, login attempt,
audit event), so the routes return their error responses rather than raise: a raised
error would roll the request's transaction back.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency
from weiwai.security import audit
from weiwai.security.login_limits import TooManyLoginAttempts, sign_in
from weiwai.security.models import ApiToken, Role, User
from weiwai.security.schemas import MeRead, SessionCreate
from weiwai.security.service import AuthenticationFailed
from weiwai.web.app import problem
from weiwai.web.csrf import CSRF_HEADER, csrf_token
from weiwai.web.deps import SESSION_USER_KEY, CurrentUser, Principal, SessionDep, start_session
from weiwai.web.i18n_web import render
from weiwai.web.pages import local_path

__all__ = ["MeRead", "router"]

router = APIRouter(tags=["security"])

PROBLEM = {"content": {"application/problem+json": {}}}


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _me_of_user(session: Session, user: User, principal: Principal | None = None) -> MeRead:
    agency = session.get(Agency, user.agency_id) if user.agency_id is not None else None
    role = Role(user.role)
    permissions = principal.permissions if principal is not None else Principal(
        user_id=user.id, username=user.username, role=role, agency_id=user.agency_id).permissions
    return MeRead(
        kind="user", id=user.id, username=user.username, display_name=user.display_name, role=role,
        agency_id=user.agency_id, agency_code=agency.code if agency else None, permissions=sorted(permissions),
    )


def _logout(request: Request, session: Session) -> None:
    user_id = request.session.get(SESSION_USER_KEY) if "session" in request.scope else None
    user = session.get(User, user_id) if user_id is not None else None
    if user is not None:
        audit.record(
            session=session, actor=f"user:{user.username}", action="logout", entity="user", entity_id=user.id,
            details={"client": _client(request)},
        )
    if "session" in request.scope:
        request.session.clear()


# --- the login page ---------------------------------------------------------------------


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
    context = {"next": local_path(next), "username": username}
    try:
        user = sign_in(session=session, username=username, password=password, client=_client(request))
    except TooManyLoginAttempts as exc:
        response = render(request, "login.html", {**context, "error": exc.message}, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except AuthenticationFailed as exc:
        # Returned, not raised: the request's transaction must commit the failure records.
        return render(request, "login.html", {**context, "error": exc.message}, status_code=401)
    start_session(request, user.id)
    redirect = RedirectResponse(local_path(next), status_code=303)
    redirect.headers[CSRF_HEADER] = csrf_token(request)
    return redirect


@router.post("/logout", include_in_schema=False)
def logout(request: Request, session: SessionDep) -> RedirectResponse:
    _logout(request, session)
    return RedirectResponse("/login", status_code=303)


# --- the JSON session API ---------------------------------------------------------------


@router.post(
    "/api/v1/session",
    response_model=MeRead,
    responses={401: PROBLEM, 429: PROBLEM},
    summary="Sign in with a password",
)
def create_session(request: Request, response: Response, session: SessionDep, data: SessionCreate):
    """Sign in: answers who you are and sets the session cookie (HttpOnly, Secure, SameSite=Lax).

    The `X-CSRF-Token` response header carries the token that every later POST, PUT, PATCH
    and DELETE made with this cookie must send back in the same header.

    Wrong credentials answer 401 `authentication_failed` (the same for an unknown user, a
    wrong password, a locked or a deactivated account); too many failures from your
    address answer 429 `too_many_login_attempts` with Retry-After.
    """
    try:
        user = sign_in(session=session, username=data.username, password=data.password, client=_client(request))
    except TooManyLoginAttempts as exc:
        response = problem(exc.http_status, exc.code, type(exc).__name__, exc.message)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except AuthenticationFailed as exc:
        # Returned, not raised: the request's transaction must commit the failure records.
        return problem(exc.http_status, exc.code, type(exc).__name__, exc.message)
    start_session(request, user.id)
    response.headers[CSRF_HEADER] = csrf_token(request)
    return _me_of_user(session, user)


@router.delete("/api/v1/session", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out")
def delete_session(request: Request, session: SessionDep) -> Response:
    """Sign out: the session cookie is cleared (answers 204 even when not signed in)."""
    _logout(request, session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- who am I ---------------------------------------------------------------------------


@router.get("/api/v1/me", response_model=MeRead)
def me(principal: CurrentUser, session: SessionDep, request: Request, response: Response) -> MeRead:
    """The signed-in person, or the API token making the request (its agency and scopes).

    Signed in with the cookie, the `X-CSRF-Token` response header carries the session's CSRF token.
    """
    if principal.is_token:
        token = session.get(ApiToken, principal.token_id)
        agency = session.get(Agency, token.agency_id)
        return MeRead(
            kind="token", id=None, username=principal.username, display_name=token.name, role=principal.role,
            agency_id=token.agency_id, agency_code=agency.code if agency else None,
            permissions=sorted(principal.permissions), token_id=token.id, scopes=sorted(token.scopes),
            expires_at=token.expires_at,
        )
    response.headers[CSRF_HEADER] = csrf_token(request)
    return _me_of_user(session, session.get(User, principal.user_id), principal)
