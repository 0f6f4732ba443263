"""Month end as one step (ledger, then a draft per agency), the month-end job, and the
reads behind the statement CLI and API."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weiwai.errors import DomainError
from weiwai.i18n import _
from weiwai.settlement.ledger import CommissionRun, compute_commission
from weiwai.settlement.models import CommissionEntry, CommissionStatement, StatementStatus
from weiwai.settlement.periods import parse_period, period_of_day, previous_period
from weiwai.settlement.statements import draft_statement
from weiwai.settlement.xlsx import write_statement

MONTH_END_JOB = "month_end_commission"


class DocumentMismatch(DomainError):
    """The rebuilt XLSX of an issued statement differs from what was issued."""

    code = "document_mismatch"
    http_status = 500


@dataclass
class PeriodRun:
    commission: CommissionRun
    statements: list[CommissionStatement] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {**self.commission.as_dict(), "statements": [s.statement_no for s in self.statements]}


def run_period(*, session: Session, period: str) -> PeriodRun:
    """Compute the period's commission, then draft a statement for every agency with something on it."""
    period = parse_period(period)
    run = PeriodRun(commission=compute_commission(session=session, period=period))
    with_entries = select(CommissionEntry.agency_id).where(
        CommissionEntry.statement_id.is_(None), CommissionEntry.period <= period
    )
    with_draft = select(CommissionStatement.agency_id).where(
        CommissionStatement.period == period, CommissionStatement.status == StatementStatus.draft.value
    )
    issued = set(session.scalars(
        select(CommissionStatement.agency_id).where(
            CommissionStatement.period == period, CommissionStatement.status == StatementStatus.issued.value
        )
    ))
    agency_ids = sorted(set(session.scalars(with_entries.distinct())) | set(session.scalars(with_draft)))
    for agency_id in agency_ids:
        if agency_id in issued:
            continue  # already issued for this period: its late entries wait for the next one
        run.statements.append(draft_statement(session=session, agency_id=agency_id, period=period))
    return run


def month_end_commission(*, session: Session, run_for: date) -> dict:
    """Month end for the month before `run_for`'s: the ledger, then a draft per agency.

    Registered to be due on the first of each month (weiwai.settlement.jobs); run on
    another day it still closes the previous month, and re-running it adds nothing.
    """
    period = previous_period(period_of_day(run_for))
    return run_period(session=session, period=period).as_dict()


def list_statements(
    *,
    session: Session,
    agency_id: int | None = None,
    period: str | None = None,
    status: StatementStatus | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[CommissionStatement], int]:
    """Statements, newest period first, and how many match."""
    query = select(CommissionStatement)
    if agency_id is not None:
        query = query.where(CommissionStatement.agency_id == agency_id)
    if period is not None:
        query = query.where(CommissionStatement.period == parse_period(period))
    if status is not None:
        query = query.where(CommissionStatement.status == StatementStatus(status).value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(CommissionStatement.period.desc(), CommissionStatement.statement_no).offset(offset).limit(limit)
    ).all()
    return list(items), total


def statement_document(*, session: Session, statement: CommissionStatement, directory: Path | None = None) -> Path:
    """Rebuild the statement's XLSX into a temporary file; an issued one must match its stored hash."""
    handle = tempfile.NamedTemporaryFile(
        prefix=f"{statement.statement_no}-", suffix=".xlsx", dir=directory, delete=False
    )
    handle.close()
    path = Path(handle.name)
    digest = write_statement(session=session, statement=statement, path=path)
    if statement.status == StatementStatus.issued and digest != statement.document_sha256:
        path.unlink(missing_ok=True)
        raise DocumentMismatch(
            _("the rebuilt document of statement {no} does not match the one issued (SHA-256 {sha}); "
              "use the archived file").format(no=statement.statement_no, sha=statement.document_sha256)
        )
    return path
