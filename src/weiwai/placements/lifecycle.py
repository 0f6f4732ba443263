"""Lifecycles of placement batches and cases, as explicit transition tables.

Any change not listed here raises IllegalTransition. Every case change is recorded
(CaseStatusChange) with who made it and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from weiwai.db import utcnow
from weiwai.errors import IllegalTransition
from weiwai.placements.models import (
    OPEN_CASE_STATUSES,
    BatchStatus,
    Case,
    CaseStatus,
    CaseStatusChange,
    CloseReason,
    PlacementBatch,
)

BATCH_TRANSITIONS: dict[BatchStatus, frozenset[BatchStatus]] = {
    BatchStatus.draft: frozenset({BatchStatus.confirmed, BatchStatus.closed}),  # closed = discarded
    BatchStatus.confirmed: frozenset({BatchStatus.active, BatchStatus.closed}),
    BatchStatus.active: frozenset({BatchStatus.closed}),
    BatchStatus.closed: frozenset(),
}

_ENDED_FROM_OPEN = {CaseStatus.paid, CaseStatus.settled, CaseStatus.returned, CaseStatus.recalled,
                    CaseStatus.expired, CaseStatus.closed}
CASE_TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    # placed: with the agency, not yet worked
    CaseStatus.placed: frozenset({CaseStatus.working, CaseStatus.promised} | _ENDED_FROM_OPEN),
    # working: at least one action logged
    CaseStatus.working: frozenset({CaseStatus.promised} | _ENDED_FROM_OPEN),
    # promised: a promise to pay is pending; a broken promise puts it back to working
    CaseStatus.promised: frozenset({CaseStatus.working} | _ENDED_FROM_OPEN),
    # Outcomes of the period; each is finally closed with a close reason.
    CaseStatus.paid: frozenset({CaseStatus.closed}),
    CaseStatus.settled: frozenset({CaseStatus.closed}),
    CaseStatus.returned: frozenset({CaseStatus.closed}),
    CaseStatus.recalled: frozenset({CaseStatus.closed}),
    CaseStatus.expired: frozenset({CaseStatus.closed}),
    CaseStatus.closed: frozenset(),
}

# The close reason a case gets when it is closed from each ending state.
DEFAULT_CLOSE_REASON: dict[CaseStatus, CloseReason] = {
    CaseStatus.paid: CloseReason.paid_in_full,
    CaseStatus.settled: CloseReason.settled,
    CaseStatus.returned: CloseReason.returned,
    CaseStatus.recalled: CloseReason.recalled,
    CaseStatus.expired: CloseReason.expired,
}


def check_batch_transition(current: BatchStatus, target: BatchStatus) -> None:
    if target not in BATCH_TRANSITIONS[BatchStatus(current)]:
        raise IllegalTransition(f"batch cannot go from {current} to {target}")


def check_case_transition(current: CaseStatus, target: CaseStatus) -> None:
    if target not in CASE_TRANSITIONS[CaseStatus(current)]:
        raise IllegalTransition(f"case cannot go from {current} to {target}")


def is_open(status: CaseStatus | str) -> bool:
    """Open cases are with their agency: it may see and work them."""
    return CaseStatus(status) in OPEN_CASE_STATUSES


def transition_batch(*, batch: PlacementBatch, to: BatchStatus, actor: str, at: datetime | None = None) -> None:
    """Move a batch to `to`, stamping who and when."""
    check_batch_transition(batch.status, to)
    at = at or utcnow()
    batch.status = to
    if to == BatchStatus.confirmed:
        batch.confirmed_by, batch.confirmed_at = actor, at
    elif to == BatchStatus.active:
        batch.activated_at = at
    elif to == BatchStatus.closed:
        batch.closed_at = at


def transition_case(
    *,
    session: Session,
    case: Case,
    to: CaseStatus,
    actor: str,
    reason: str | None = None,
    close_reason: CloseReason | None = None,
    at: datetime | None = None,
) -> CaseStatusChange:
    """Move a case to `to` and record the change; ending a case stamps `ended_at`."""
    check_case_transition(case.status, to)
    at = at or utcnow()
    change = CaseStatusChange(
        case_id=case.id, from_status=str(case.status), to_status=str(to), reason=reason,
        changed_by=actor, changed_at=at,
    )
    was_open = is_open(case.status)
    case.status = to
    if was_open and not is_open(to):
        case.ended_at = at
    if to == CaseStatus.closed:
        case.close_reason = close_reason or case.close_reason or CloseReason.expired
    elif close_reason is not None:
        case.close_reason = close_reason
    if reason and not is_open(to):
        case.end_note = reason
    session.add(change)
    return change
