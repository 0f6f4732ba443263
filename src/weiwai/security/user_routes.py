"""Users over HTTP: list, read, create, change (ETag / If-Match), passwords.

Reading needs users.read: lender staff with it see everyone, an agency manager the users
of their own agency. Changing needs users.write: an administrator changes anyone, an
agency manager only the collectors of their own agency (weiwai.security.service). Anyone
signed in with a password may change their own password by giving the current one.
Every change is an audit event.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from weiwai.agencies.models import Agency
from weiwai.db import utcnow
from weiwai.errors import NotFound
from weiwai.i18n import _
from weiwai.security import scope, service
from weiwai.security.login_limits import TooManyLoginAttempts, verify_own_password
from weiwai.security.models import Role, User
from weiwai.security.permissions import Permission
from weiwai.security.schemas import PasswordChange, UserCreate, UserRead, UserUpdate
from weiwai.web.app import problem
from weiwai.web.deps import Allowed, CurrentUser, SessionDep, start_session
from weiwai.web.etag import check_if_match, set_etag
from weiwai.web.pagination import DEFAULT_PAGE_SIZE, Limit, Offset, Page
from weiwai.web.params import OptionalRowId, RowId

router = APIRouter(prefix="/api/v1", tags=["users"])

Reader = Allowed(Permission.users_read)
Writer = Allowed(Permission.users_write)
PROBLEM = {"content": {"application/problem+json": {}}}


def _read(session, user: User) -> UserRead:
    agency = session.get(Agency, user.agency_id) if user.agency_id is not None else None
    return UserRead.of(user, agency.code if agency else None, now=utcnow())


@router.get("/users", response_model=Page[UserRead])
def list_users(
    session: SessionDep,
    principal: Reader,
    role: Role | None = None,
    agency_id: OptionalRowId = None,
    active: bool | None = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[UserRead]:
    """Users by username; an agency manager gets only their own agency's."""
    agency_id = scope.own_agency(principal, agency_id)
    rows, total = service.search_users(
        session=session, role=role, agency_id=agency_id, active=active, offset=offset, limit=limit
    )
    now = utcnow()
    return Page[UserRead](items=[UserRead.of(user, code, now=now) for user, code in rows], total=total,
                          offset=offset, limit=limit)


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(session: SessionDep, principal: Reader, user_id: RowId, response: Response) -> UserRead:
    """One user, with their version as the ETag (send it back in If-Match to change them)."""
    user = service.visible_user(session=session, principal=principal, user_id=user_id)
    set_etag(response, user.version)
    return _read(session, user)


@router.post("/users", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def create_user(session: SessionDep, principal: Writer, data: UserCreate, response: Response) -> UserRead:
    """Create a user. An agency manager creates collectors of their own agency only."""
    agency_id = service.agency_for_new_user(principal, data.role, data.agency_id)
    user = service.create_user(
        session=session, username=data.username, display_name=data.display_name, role=data.role,
        password=data.password, agency_id=agency_id, actor=principal.actor,
    )
    set_etag(response, user.version)
    return _read(session, user)


@router.patch("/users/{user_id}", response_model=UserRead, responses={412: PROBLEM})
def update_user(
    request: Request, session: SessionDep, principal: Writer, user_id: RowId, data: UserUpdate, response: Response
) -> UserRead:
    """Change the display name or deactivate / reactivate; a deactivated user's sessions stop working at once."""
    user = service.visible_user(session=session, principal=principal, user_id=user_id)
    service.check_may_manage(principal, user)
    check_if_match(request, user.version)
    service.update_user(
        session=session, user=user, display_name=data.display_name, is_active=data.is_active, actor=principal.actor,
        acting_user_id=principal.user_id,
    )
    set_etag(response, user.version)
    return _read(session, user)


@router.post(
    "/users/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT, responses={403: PROBLEM, 429: PROBLEM}
)
def change_password(
    request: Request,
    session: SessionDep,
    principal: CurrentUser,
    user_id: RowId,
    data: PasswordChange,
):
    """Change your own password (give `current_password`), or reset someone else's (administrators;
    agency managers for their collectors). A reset also lifts a lockout."""
    if principal.is_token:
        raise service.Forbidden(_("an API token cannot change passwords"))
    own = principal.user_id == user_id
    if own:
        user = service.get_user(session=session, user_id=user_id)
        client = request.client.host if request.client else None
        try:
            ok = verify_own_password(session=session, user=user, password=data.current_password or "", client=client)
        except TooManyLoginAttempts as exc:
            answer = problem(exc.http_status, exc.code, type(exc).__name__, exc.message)
            answer.headers["Retry-After"] = str(exc.retry_after)
            return answer
        if not ok:
            # Returned, not raised: the failed attempt must be committed (it counts towards the limit).
            return _wrong_current_password()
    else:
        if not principal.can(Permission.users_write):
            # Someone else's password is out of reach: answer as for a user that does not exist.
            raise NotFound(_("no user {ref}").format(ref=user_id))
        user = service.visible_user(session=session, principal=principal, user_id=user_id)
        service.check_may_manage(principal, user)
    service.set_password(session=session, user=user, new_password=data.new_password, actor=principal.actor, own=own)
    if own and principal.token_id is None and "session" in request.scope:
        # The change ends every session signed in before it; this one continues afresh.
        start_session(request, user.id, not_before=user.password_changed_at)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _wrong_current_password() -> JSONResponse:
    return problem(403, "wrong_password", "Forbidden", _("the current password is not right"))
