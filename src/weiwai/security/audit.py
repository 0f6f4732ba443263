"""Recording who did what. Services call `record`; it joins the caller's transaction.

Once that transaction commits, the new events are sealed into the hash chain
(weiwai.security.audit_chain) in a short transaction of their own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from weiwai.security.audit_chain import PENDING_KEY, install_after_commit_hook
from weiwai.security.models import AuditEvent

install_after_commit_hook()


def record(
    *,
    session: Session,
    actor: str,
    action: str,
    entity: str | None = None,
    entity_id: object = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event (e.g. action="reveal", entity="debtor")."""
    event = AuditEvent(
        actor=actor,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        details=details or {},
    )
    session.add(event)
    session.info[PENDING_KEY] = True
    return event
