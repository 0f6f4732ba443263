"""Rate limiting of password sign-in by client address, across workers and restarts.

Every password attempt is a row in `login_attempts`. When one client address has failed
`login_failures_per_client` times within `login_window_seconds`, its further attempts are
refused (429 with Retry-After) without the password being checked, and each refusal is an
audit event (`login.throttled`). This complements the per-account lockout of
weiwai.security.service: the lockout stops guessing one account's password, the limit
stops one address from trying many accounts.

Refused attempts are not counted as failures, so the address is let in again once its
oldest counted failure leaves the window. The address is the peer address the server
sees; behind a reverse proxy, run uvicorn with --proxy-headers and --forwarded-allow-ips
so that it is the client's, not the proxy's.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from weiwai.config import get_settings
from weiwai.db import utcnow
from weiwai.errors import DomainError
from weiwai.i18n import _
from weiwai.security import audit
from weiwai.security.models import LoginAttempt, User
from weiwai.security.service import AuthenticationFailed, authenticate, normalise_username

UNKNOWN_CLIENT = "unknown"


class TooManyLoginAttempts(DomainError):
    code = "too_many_login_attempts"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def client_key(client: str | None) -> str:
    return (client or UNKNOWN_CLIENT)[:64]


def retry_after(*, session: Session, client: str | None, now: datetime | None = None) -> int | None:
    """Seconds until `client` may try again, or None while it is under the limit."""
    settings = get_settings()
    now = now or utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    limit = settings.login_failures_per_client
    # The newest `limit` failures in the window: the oldest of them decides when the count drops.
    failures = session.scalars(
        select(LoginAttempt.attempted_at)
        .where(
            LoginAttempt.client == client_key(client),
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.attempted_at > now - window,
        )
        .order_by(LoginAttempt.attempted_at.desc())
        .limit(limit)
    ).all()
    if len(failures) < limit:
        return None
    return max(1, math.ceil((failures[-1] + window - now).total_seconds()))


def check_client(*, session: Session, client: str | None, username: str, now: datetime | None = None) -> None:
    """Raise TooManyLoginAttempts (after adding the `login.throttled` audit event) if `client` is over the limit."""
    wait = retry_after(session=session, client=client, now=now)
    if wait is None:
        return
    username = normalise_username(username)[:64]
    audit.record(
        session=session, actor=f"user:{username}", action="login.throttled", entity="user",
        details={"username": username, "client": client, "retry_after": wait},
    )
    session.flush()
    raise TooManyLoginAttempts(
        _("Too many failed sign-in attempts from your address. Try again in {minutes} minute(s).").format(
            minutes=max(1, math.ceil(wait / 60))
        ),
        retry_after=wait,
    )


def record_attempt(
    *, session: Session, client: str | None, username: str, succeeded: bool, now: datetime | None = None
) -> LoginAttempt:
    """Add the row for one password attempt (the caller's transaction commits it)."""
    attempt = LoginAttempt(
        attempted_at=now or utcnow(), client=client_key(client), username=normalise_username(username)[:64],
        succeeded=succeeded,
    )
    session.add(attempt)
    return attempt


def sign_in(
    *, session: Session, username: str, password: str, client: str | None, now: datetime | None = None
) -> User:
    """Check the client's limit, then the password; every attempt is recorded.

    Raises TooManyLoginAttempts or AuthenticationFailed with the record already in the
    session: the caller must still commit (return an error response rather than raise).
    """
    now = now or utcnow()
    check_client(session=session, client=client, username=username, now=now)
    try:
        user = authenticate(session=session, username=username, password=password, client=client, now=now)
    except AuthenticationFailed:
        record_attempt(session=session, client=client, username=username, succeeded=False, now=now)
        session.flush()
        raise
    record_attempt(session=session, client=client, username=username, succeeded=True, now=now)
    return user


def verify_own_password(*, session: Session, user: User, password: str, client: str | None) -> bool:
    """Check a signed-in person's current password (to change it), under the same client limit.

    A wrong password counts as a failed attempt of the client, so that a stolen session
    cannot be used to guess the password without limit. Raises TooManyLoginAttempts.
    """
    from weiwai.security.passwords import verify_password
    from weiwai.security.service import MAX_PASSWORD_LENGTH

    check_client(session=session, client=client, username=user.username)
    ok = len(password) <= MAX_PASSWORD_LENGTH and verify_password(user.password_hash, password)
    if not ok:
        record_attempt(session=session, client=client, username=user.username, succeeded=False)
        session.flush()
    return ok


def prune_attempts(*, session: Session, now: datetime | None = None, keep: timedelta = timedelta(days=30)) -> int:
    """Delete attempts older than `keep` (they no longer count); return how many."""
    cutoff = (now or utcnow()) - keep
    return session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < cutoff)).rowcount or 0
