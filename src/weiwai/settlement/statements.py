"""Monthly commission statements per agency: drafted from the ledger, then issued.

A draft collects every entry of the agency not yet on a statement whose period is at or
before the statement's: late payments and clawbacks of earlier months land on the next
statement drafted, never on one already issued. Issuing writes the XLSX, stores its
SHA-256 and freezes the statement and its entries (weiwai.settlement.guard).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency
from weiwai.db import utcnow
from weiwai.errors import Conflict, NotFound
from weiwai.i18n import _
from weiwai.money import ZERO, to_fen
from weiwai.security import audit
from weiwai.settlement.models import CommissionEntry, CommissionStatement, EntryKind, StatementStatus
from weiwai.settlement.periods import parse_period
from weiwai.settlement.xlsx import write_statement

_STATEMENT_NO_MAX = 40


@dataclass(frozen=True)
class IssuedStatement:
    statement: CommissionStatement
    path: Path


def statement_no_for(agency: Agency, period: str) -> str:
    """CS-<yyyymm>-<agency code>; '#<id>' stands in when a long code would not fit."""
    prefix = f"CS-{period.replace('-', '')}-"
    number = prefix + agency.code
    # '#' never occurs in agency codes, so the fallback cannot collide with a real code.
    return number if len(number) <= _STATEMENT_NO_MAX else f"{prefix}#{agency.id}"


def draft_statement(*, session: Session, agency_id: int, period: str) -> CommissionStatement:
    """Create or refresh the agency's draft for `period` with every unassigned entry up to it."""
    period = parse_period(period)
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise NotFound(_("no agency {ref}").format(ref=agency_id))
    statement = session.scalar(
        select(CommissionStatement).where(
            CommissionStatement.agency_id == agency_id, CommissionStatement.period == period
        )
    )
    if statement is not None and statement.status == StatementStatus.issued:
        raise Conflict(
            _("statement {no} for {period} is already issued; later entries go into the next statement").format(
                no=statement.statement_no, period=period
            )
        )
    if statement is None:
        statement = CommissionStatement(
            statement_no=statement_no_for(agency, period), agency_id=agency_id, period=period
        )
        session.add(statement)
        session.flush()
    # One set-based UPDATE: unassigned entries are by definition on no issued statement.
    session.execute(
        update(CommissionEntry)
        .where(
            CommissionEntry.agency_id == agency_id,
            CommissionEntry.statement_id.is_(None),
            CommissionEntry.period <= period,
        )
        .values(statement_id=statement.id)
        .execution_options(synchronize_session=False)
    )
    refresh_totals(session=session, statement=statement)
    return statement


def refresh_totals(*, session: Session, statement: CommissionStatement) -> None:
    """Recompute a draft's totals from its entries (recovered is net of clawed-back payments)."""
    rows = session.execute(
        select(CommissionEntry.kind, func.sum(CommissionEntry.base_amount), func.sum(CommissionEntry.amount),
               func.count())
        .where(CommissionEntry.statement_id == statement.id)
        .group_by(CommissionEntry.kind)
    ).all()
    amounts = {str(kind): to_fen(Decimal(amount or 0)) for kind, _base, amount, _count in rows}
    statement.recovered = to_fen(sum((Decimal(base or 0) for _kind, base, _amount, _count in rows), ZERO))
    statement.commission = amounts.get(EntryKind.commission.value, ZERO)
    statement.fixed_fees = amounts.get(EntryKind.fixed_fee.value, ZERO)
    statement.clawbacks = amounts.get(EntryKind.clawback.value, ZERO)
    statement.total = statement.commission + statement.fixed_fees + statement.clawbacks
    statement.entry_count = sum(count for *_rest, count in rows)
    session.flush()


def issue_statement(
    *, session: Session, statement_id: int, actor: str, out_dir: Path, at: datetime | None = None
) -> IssuedStatement:
    """Write the statement's XLSX into `out_dir`, keep its SHA-256, and freeze it for good."""
    statement = session.get(CommissionStatement, statement_id)
    if statement is None:
        raise NotFound(_("no statement {ref}").format(ref=statement_id))
    if statement.status == StatementStatus.issued:
        raise Conflict(_("statement {no} is already issued").format(no=statement.statement_no))
    refresh_totals(session=session, statement=statement)
    statement.status = StatementStatus.issued
    statement.issued_by = actor
    statement.issued_at = at or utcnow()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{statement.statement_no}.xlsx"
    # Written beside the target and renamed, so a half-written file never has the final name.
    handle, temporary = tempfile.mkstemp(dir=out_dir, suffix=".xlsx.part")
    os.close(handle)
    try:
        # No flush until the hash is known: the guard allows one change of an issued
        # statement's row, and issuing (status, stamp and hash) must be that one change.
        with session.no_autoflush:
            digest = write_statement(session=session, statement=statement, path=Path(temporary))
        statement.document_sha256 = digest
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    audit.record(session=session, actor=actor, action="export", entity="commission_statement",
                 entity_id=statement.id, details={"statement_no": statement.statement_no, "file": path.name,
                                                  "sha256": statement.document_sha256})
    session.flush()
    return IssuedStatement(statement=statement, path=path)


def get_statement(*, session: Session, ref: int | str) -> CommissionStatement:
    """A statement by id or by number."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        statement = session.get(CommissionStatement, int(ref))
    else:
        statement = session.scalar(select(CommissionStatement).where(CommissionStatement.statement_no == ref))
    if statement is None:
        raise NotFound(_("no statement {ref}").format(ref=ref))
    return statement
