"""People who sign in: creating, changing and authenticating them, with a simple lockout.

Every sign-in attempt, successful or not, is an audit event. Five consecutive failures
lock the account for fifteen minutes. A failed attempt always gets the same answer
(unknown user, wrong password, locked or deactivated), so the answer reveals nothing
about which usernames exist; the audit event records the actual reason.

Who may manage whom: an administrator (a lender principal holding users.write) any
user; an agency manager only the collectors of their own agency (another agency's users
answer 404, their own agency's other users 403). API tokens manage no one. Every change
is an audit event.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from weiwai.agencies.models import Agency
from weiwai.db import utcnow
from weiwai.errors import Conflict, DomainError, NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.security import audit
from weiwai.security.models import AuditEvent, Role, User
from weiwai.security.permissions import Permission
from weiwai.security.passwords import hash_password, needs_rehash, spend_verification_time, verify_password

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
# Long enough for any passphrase, short enough that hashing it is never a burden.
MAX_PASSWORD_LENGTH = 256
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
AGENCY_ROLES = frozenset({Role.agency_manager, Role.collector})

if TYPE_CHECKING:
    from weiwai.web.deps import Principal


class AuthenticationFailed(DomainError):
    code = "authentication_failed"
    http_status = 401


class Forbidden(DomainError):
    """The principal is known but may not do this (HTTP 403)."""

    code = "forbidden"
    http_status = 403


def normalise_username(username: str) -> str:
    """Usernames are compared trimmed and in lower case."""
    return username.strip().lower()


def create_user(
    *,
    session: Session,
    username: str,
    display_name: str,
    role: Role | str,
    password: str,
    agency_id: int | None = None,
    actor: str = "system",
) -> User:
    """Create a user with an Argon2id password hash; agency roles need an agency, lender roles none."""
    username = normalise_username(username)
    if not USERNAME_RE.match(username):
        raise RuleViolation(
            _("a username is 2-64 characters: letters, digits, '.', '_' or '-'"), code="invalid_username"
        )
    display_name = display_name.strip()
    if not display_name:
        raise RuleViolation(_("a display name is required"), code="invalid_display_name")
    try:
        role = Role(role)
    except ValueError:
        raise RuleViolation(
            _("unknown role {role}; use one of {roles}").format(role=role, roles=", ".join(Role)), code="invalid_role"
        ) from None
    _check_agency(session, role, agency_id)
    _check_password(password, username)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(_("username {username} is taken").format(username=username), code="username_taken")
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        agency_id=agency_id,
        password_hash=hash_password(password),
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="user.create",
        entity="user",
        entity_id=user.id,
        details={"username": username, "role": role.value, "agency_id": agency_id},
    )
    return user


def _check_agency(session: Session, role: Role, agency_id: int | None) -> None:
    if role in AGENCY_ROLES:
        if agency_id is None:
            raise RuleViolation(_("role {role} needs an agency").format(role=role.value), code="agency_required")
        if session.get(Agency, agency_id) is None:
            raise RuleViolation(_("agency {id} does not exist").format(id=agency_id), code="unknown_agency")
    elif agency_id is not None:
        raise RuleViolation(
            _("role {role} belongs to the lender and takes no agency").format(role=role.value), code="agency_not_allowed"
        )


def _check_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RuleViolation(
            _("a password needs at least {count} characters").format(count=MIN_PASSWORD_LENGTH), code="weak_password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise RuleViolation(
            _("a password has at most {count} characters").format(count=MAX_PASSWORD_LENGTH), code="weak_password"
        )
    if username in password.lower():
        raise RuleViolation(_("a password must not contain the username"), code="weak_password")


def authenticate(
    *, session: Session, username: str, password: str, client: str | None = None, now: datetime | None = None
) -> User:
    """The active user with this username and password, or AuthenticationFailed.

    A failure is written to the session (failure counter, lock, audit event) before the
    exception is raised: the caller must still commit it.
    """
    now = now or utcnow()
    username = normalise_username(username)[:64]
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        spend_verification_time(password)
        _fail(session, username, client, reason="unknown_user")
    if user.locked_until is not None and user.locked_until > now:
        # The password is not even checked while locked: guessing goes nowhere.
        spend_verification_time(password)
        _fail(session, username, client, reason="locked", user=user)
    if len(password) > MAX_PASSWORD_LENGTH or not verify_password(user.password_hash, password):
        locked = _count_failure(session, user, now)
        _fail(session, username, client, reason="wrong_password", user=user, locked=locked)
    if not user.is_active:
        _fail(session, username, client, reason="inactive", user=user)

    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(
        session=session, actor=f"user:{username}", action="login.success", entity="user", entity_id=user.id,
        details={"client": client},
    )
    return user


def _count_failure(session: Session, user: User, now: datetime) -> bool:
    """Add one consecutive failure; at the limit, lock the account. True if it locked."""
    # Incremented in SQL, so that concurrent attempts cannot lose a count.
    failures = session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
    ).scalar_one()
    if failures < MAX_FAILED_LOGINS:
        return False
    user.locked_until = now + LOCKOUT
    # The next run of failures after the lock expires starts from zero again.
    user.failed_logins = 0
    return True


def _fail(
    session: Session, username: str, client: str | None, *, reason: str, user: User | None = None, locked: bool = False
) -> NoReturn:
    details: dict = {"username": username, "reason": reason, "client": client}
    if locked:
        details["locked_until"] = user.locked_until.isoformat()
    audit.record(
        session=session,
        actor=f"user:{username}",
        action="login.failure",
        entity="user",
        entity_id=None if user is None else user.id,
        details=details,
    )
    session.flush()
    raise AuthenticationFailed(
        _("Wrong username or password. After {count} failed attempts an account is locked for {minutes} minutes.").format(
            count=MAX_FAILED_LOGINS, minutes=int(LOCKOUT.total_seconds() // 60)
        ),
        code="authentication_failed",
    )


def list_users(*, session: Session) -> list[tuple[User, str | None]]:
    """Every user with the code of their agency (None for lender staff), by username."""
    rows = session.execute(
        select(User, Agency.code).outerjoin(Agency, User.agency_id == Agency.id).order_by(User.username)
    ).all()
    return [(row.User, row.code) for row in rows]


# --- managing users ---------------------------------------------------------------------


def search_users(
    *,
    session: Session,
    role: Role | None = None,
    agency_id: int | None = None,
    active: bool | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[tuple[User, str | None]], int]:
    """One page of users (with their agency's code) by username, and how many match in all."""
    query = select(User, Agency.code).outerjoin(Agency, User.agency_id == Agency.id)
    if role is not None:
        query = query.where(User.role == Role(role).value)
    if agency_id is not None:
        query = query.where(User.agency_id == agency_id)
    if active is not None:
        query = query.where(User.is_active.is_(active))
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.execute(query.order_by(User.username, User.id).offset(offset).limit(limit)).all()
    return [(row.User, row.code) for row in rows], total or 0


def get_user(*, session: Session, user_id: int) -> User:
    """The user by id, or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("no user {ref}").format(ref=user_id))
    return user


def find_user(*, session: Session, username: str) -> User:
    """The user by username (trimmed, any case), or NotFound."""
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise NotFound(_("no user {ref}").format(ref=username))
    return user


def visible_user(*, session: Session, principal: Principal, user_id: int) -> User:
    """The user if `principal` may see them (lender staff: all; agency users: their own agency)."""
    user = session.get(User, user_id)
    if user is None or not (principal.is_lender or (principal.agency_id is not None
                                                    and user.agency_id == principal.agency_id)):
        raise NotFound(_("no user {ref}").format(ref=user_id))
    return user


def check_may_manage(principal: Principal, user: User) -> None:
    """Forbidden unless `principal` may change `user` (see the module's docstring)."""
    if principal.is_token or not principal.can(Permission.users_write):
        raise Forbidden(_("you may not manage users"))
    if principal.is_lender:
        return
    if principal.agency_id is None or user.agency_id != principal.agency_id:
        raise NotFound(_("no user {ref}").format(ref=user.id))
    if Role(user.role) != Role.collector:
        raise Forbidden(_("an agency manager manages only the collectors of their agency"))


def agency_for_new_user(principal: Principal, role: Role | str, agency_id: int | None) -> int | None:
    """The agency a user created by `principal` belongs to; Forbidden or NotFound when not theirs to create."""
    if principal.is_token or not principal.can(Permission.users_write):
        raise Forbidden(_("you may not manage users"))
    if principal.is_lender:
        return agency_id
    if principal.agency_id is None or (agency_id is not None and agency_id != principal.agency_id):
        raise NotFound(_("no agency {ref}").format(ref=agency_id))
    if role != Role.collector:
        raise Forbidden(_("an agency manager manages only the collectors of their agency"))
    return principal.agency_id


def _save(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(_("someone else changed this user at the same time; reload and try again")) from exc


def update_user(
    *,
    session: Session,
    user: User,
    display_name: str | None = None,
    is_active: bool | None = None,
    actor: str,
    acting_user_id: int | None = None,
) -> User:
    """Change a user's display name or whether they may sign in; deactivation ends their sessions at once."""
    changes: dict[str, list] = {}
    if display_name is not None:
        display_name = display_name.strip()
        if not display_name or len(display_name) > 100:
            raise RuleViolation(_("a display name is required"), code="invalid_display_name")
        if display_name != user.display_name:
            changes["display_name"] = [user.display_name, display_name]
            user.display_name = display_name
    if is_active is not None and is_active != user.is_active:
        if not is_active and acting_user_id == user.id:
            raise RuleViolation(_("you cannot deactivate yourself"), code="cannot_deactivate_self")
        changes["is_active"] = [user.is_active, is_active]
        user.is_active = is_active
    if not changes:
        return user
    user.version += 1
    _save(session)
    action = "user.update"
    if "is_active" in changes:
        action = "user.activate" if is_active else "user.deactivate"
    audit.record(session=session, actor=actor, action=action, entity="user", entity_id=user.id,
                 details={"username": user.username, "changes": changes})
    return user


def set_password(*, session: Session, user: User, new_password: str, actor: str, own: bool) -> User:
    """Store a new password: the user's own change (`own`), or a reset by someone else, which also unlocks."""
    _check_password(new_password, user.username)
    if verify_password(user.password_hash, new_password):
        raise RuleViolation(_("the new password must differ from the current one"), code="weak_password")
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    user.version += 1
    _save(session)
    audit.record(session=session, actor=actor, action="user.password_change" if own else "user.password_reset",
                 entity="user", entity_id=user.id, details={"username": user.username})
    return user


# --- the audit log ----------------------------------------------------------------------


def search_audit_events(
    *,
    session: Session,
    actor: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[AuditEvent], int]:
    """One page of audit events, newest first, and how many match in all.

    `action` ending in `*` matches by prefix (`login.*`); `since` is inclusive, `until`
    exclusive.
    """
    query = select(AuditEvent)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if action is not None:
        if action.endswith("*"):
            prefix = action.rstrip("*").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(AuditEvent.action.like(prefix + "%", escape="\\"))
        else:
            query = query.where(AuditEvent.action == action)
    if entity is not None:
        query = query.where(AuditEvent.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == entity_id)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    events = session.scalars(query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
                             .offset(offset).limit(limit)).all()
    return list(events), total or 0
