"""Per-person rate limits on looking at personal data: reveals and number-reference resolutions.

The count is the actor's own audit events of that action in a sliding window (every reveal
is audited anyway, so no second store and no per-worker memory). Past the limit the caller
gets 429 with Retry-After, and the refusal itself is an audit event (`<action>.throttled`).

A route calls `check_rate` before doing the work and, because the refusal's audit event
must commit, returns (not raises) `refusal_response(exc)` for a `RateLimited`:

    try:
        check_rate(session=session, actor=principal.actor, action="reveal", limit=settings.reveal_limit_per_window)
    except RateLimited as exc:
        return refusal_response(exc)
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weiwai.db import utcnow
from weiwai.errors import DomainError
from weiwai.i18n import _
from weiwai.security import audit
from weiwai.security.models import AuditEvent


class RateLimited(DomainError):
    http_status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, code=self.code)
        self.retry_after = retry_after


def check_rate(*, session: Session, actor: str, action: str, limit: int, window: timedelta | None = None,
               now: datetime | None = None, entity: str | None = None, entity_id: object = None) -> None:
    """Raise RateLimited (and audit the refusal) if `actor` already has `limit` `action` events in the window."""
    from weiwai.config import get_settings

    now = now or utcnow()
    window = window or timedelta(seconds=get_settings().rate_limit_window_seconds)
    since = now - window
    count, oldest = session.execute(
        select(func.count(AuditEvent.id), func.min(AuditEvent.occurred_at))
        .where(AuditEvent.actor == actor, AuditEvent.action == action, AuditEvent.occurred_at > since)
    ).one()
    if count < limit:
        return
    retry_after = max(1, math.ceil(((oldest or now) + window - now).total_seconds()))
    audit.record(session=session, actor=actor, action=f"{action}.throttled", entity=entity, entity_id=entity_id,
                 details={"limit": limit, "window_seconds": int(window.total_seconds()), "retry_after": retry_after})
    raise RateLimited(
        _("too many {action} requests: at most {limit} per {minutes} minutes; try again in {seconds} seconds").format(
            action=action, limit=limit, minutes=int(window.total_seconds() // 60), seconds=retry_after),
        retry_after=retry_after,
    )


def check_reveal_rate(*, session: Session, actor: str, action: str = "reveal", now: datetime | None = None,
                      entity: str | None = None, entity_id: object = None) -> None:
    """The reveal limit (settings.reveal_limit_per_window) for `action`; RateLimited beyond it."""
    from weiwai.config import get_settings

    settings = get_settings()
    limit = settings.number_ref_limit_per_window if action.startswith("number") else settings.reveal_limit_per_window
    check_rate(session=session, actor=actor, action=action, limit=limit, now=now, entity=entity, entity_id=entity_id)


def refusal_response(exc: RateLimited):
    """The 429 problem+json with Retry-After, returned by a route so that the refusal's audit event commits."""
    from weiwai.web.app import problem

    response = problem(429, exc.code, "Too Many Requests", exc.message)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response
