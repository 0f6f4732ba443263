"""Issued statements are immutable: the session refuses to flush any change to one, or to
the entries it covers. Corrections are new entries that fall into the next statement.

Registered for every Session when the settlement package is imported (its __init__), so
that no code path — service, script or shell — can quietly rewrite what an agency was
sent. Only one change of an issued statement's row is allowed: the one that issues it.
"""

from __future__ import annotations

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from weiwai.errors import Conflict
from weiwai.settlement.models import CommissionEntry, CommissionStatement, StatementStatus


class IssuedStatementChanged(Conflict):
    code = "statement_issued"


def _issued_number(session: Session, statement_id: int | None) -> str | None:
    """The number of the statement if the database has it as issued.

    Read from the database, not the object: an expired or re-assigned attribute has no
    reliable "before" value in memory.
    """
    if statement_id is None:
        return None
    with session.no_autoflush:
        return session.scalar(
            select(CommissionStatement.statement_no).where(
                CommissionStatement.id == statement_id, CommissionStatement.status == StatementStatus.issued.value
            )
        )


def _stored_statement_id(session: Session, entry: CommissionEntry) -> int | None:
    with session.no_autoflush:
        return session.scalar(select(CommissionEntry.statement_id).where(CommissionEntry.id == entry.id))


def _refuse(number: str) -> None:
    from weiwai.i18n import _

    raise IssuedStatementChanged(
        _("statement {no} is issued and cannot be changed; corrections go into the next statement").format(no=number)
    )


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_issued_statements(session: Session, _context, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, CommissionStatement | CommissionEntry):
            continue  # every flush of the application passes here: stay cheap for the rest
        if obj not in session.deleted and not session.is_modified(obj, include_collections=False):
            continue
        if isinstance(obj, CommissionStatement):
            number = _issued_number(session, obj.id)
            if number is not None:
                _refuse(number)
        elif isinstance(obj, CommissionEntry):
            for statement_id in {_stored_statement_id(session, obj), obj.statement_id}:
                number = _issued_number(session, statement_id)
                if number is not None:
                    _refuse(number)
    for obj in session.new:
        if isinstance(obj, CommissionEntry) and obj.statement_id is not None:
            number = _issued_number(session, obj.statement_id)
            if number is not None:
                _refuse(number)
