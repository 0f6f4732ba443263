"""Portfolio summary as of a date: counts and balances by bucket, credit grade, region and
status, with totals. Read-only.

Two GROUP BY queries, each returning a few hundred rows however large the book:
- buckets: accounts are first grouped by (status, due date), columns the database has
  statistics and an index for, so it aggregates them in one pass; the bucket of each
  group is then computed in SQL and the groups summed per bucket. (Grouping the accounts
  directly by the bucket expression makes PostgreSQL misjudge the number of groups and
  sort a million rows on disk.) Within a group, accounts that owe nothing are current
  whatever their due date; they are counted apart, and add nothing to the balances.
- grades and regions: open accounts joined to debtors, grouped by (grade, region).
Balances are summed in whole fen (see outstanding_fen_sql), exact on SQLite too.

The outstanding book is the open accounts: totals, buckets, grades and regions count only
those. `by_status` covers every account, so written-off and closed balances stay visible.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from weiwai.config import get_settings
from weiwai.portfolio.delinquency import bucket_of
from weiwai.portfolio.models import Account, AccountStatus, Debtor
from weiwai.portfolio.schemas import Money
from weiwai.portfolio.service import (
    bucket_labels,
    bucket_when,
    dialect_of,
    fen_to_money,
    outstanding_fen_sql,
    owes_sql,
    principal_fen_sql,
)


class SummaryLine(BaseModel):
    key: str
    accounts: int
    total_outstanding: Money
    principal_outstanding: Money


class PortfolioSummary(BaseModel):
    as_of: date
    totals: SummaryLine  # open accounts
    delinquent: SummaryLine  # open accounts past due (any bucket but M0)
    by_bucket: list[SummaryLine]  # every configured bucket, M0 first, zeros included
    by_grade: list[SummaryLine]
    by_region: list[SummaryLine]
    by_status: list[SummaryLine]  # every account


@dataclass
class _Tally:
    accounts: int = 0
    outstanding_fen: int = 0
    principal_fen: int = 0

    def add(self, accounts: int, outstanding_fen: int, principal_fen: int) -> None:
        self.accounts += accounts
        self.outstanding_fen += outstanding_fen
        self.principal_fen += principal_fen

    def line(self, key: str) -> SummaryLine:
        return SummaryLine(
            key=key,
            accounts=self.accounts,
            total_outstanding=fen_to_money(self.outstanding_fen),
            principal_outstanding=fen_to_money(self.principal_fen),
        )


def portfolio_summary(*, session: Session, as_of: date) -> PortfolioSummary:
    """Counts and balances of the book as of a date, by bucket, grade, region and status."""
    current = bucket_of(0, get_settings().buckets)
    totals, delinquent = _Tally(), _Tally()
    by_bucket = {label: _Tally() for label in bucket_labels()}
    by_status: dict[str, _Tally] = defaultdict(_Tally)
    rows = session.execute(_by_status_and_bucket(session, as_of))
    for status, bucket, count, owing, outstanding, principal in rows:
        count, owing, outstanding, principal = int(count), int(owing), int(outstanding), int(principal)
        by_status[status].add(count, outstanding, principal)
        if status != AccountStatus.open:
            continue
        totals.add(count, outstanding, principal)
        by_bucket[bucket].add(owing, outstanding, principal)
        by_bucket[current].add(count - owing, 0, 0)
        if bucket != current:
            delinquent.add(owing, outstanding, principal)

    by_grade: dict[str, _Tally] = defaultdict(_Tally)
    by_region: dict[str, _Tally] = defaultdict(_Tally)
    for grade, region, count, outstanding, principal in session.execute(_open_by_grade_and_region(session)):
        figures = (int(count), int(outstanding), int(principal))
        by_grade[grade].add(*figures)
        by_region[region].add(*figures)

    return PortfolioSummary(
        as_of=as_of,
        totals=totals.line("total"),
        delinquent=delinquent.line("delinquent"),
        by_bucket=[tally.line(label) for label, tally in by_bucket.items()],
        by_grade=[by_grade[key].line(key) for key in sorted(by_grade)],
        by_region=[by_region[key].line(key) for key in sorted(by_region)],
        by_status=[by_status[key].line(key) for key in _status_order(by_status)],
    )


def _sums(dialect_name: str):
    return (
        func.count().label("accounts"),
        func.coalesce(func.sum(outstanding_fen_sql(dialect_name)), 0).label("outstanding_fen"),
        func.coalesce(func.sum(principal_fen_sql(dialect_name)), 0).label("principal_fen"),
    )


def _by_status_and_bucket(session: Session, as_of: date):
    """(status, bucket of the owing accounts, accounts, owing accounts, outstanding fen, principal fen)."""
    by_due_date = (
        select(
            Account.status.label("status"),
            Account.due_date.label("due_date"),
            func.sum(case((owes_sql(), 1), else_=0)).label("owing"),
            *_sums(dialect_of(session)),
        )
        .group_by(Account.status, Account.due_date)
        .subquery()
    )
    # The owing accounts of an open group are the delinquent ones (see delinquent_sql).
    owing_bucket = bucket_when(
        by_due_date.c.status == AccountStatus.open.value, by_due_date.c.due_date, as_of, dialect_of(session)
    )
    bucketed = select(
        by_due_date.c.status,
        owing_bucket.label("bucket"),
        by_due_date.c.accounts,
        by_due_date.c.owing,
        by_due_date.c.outstanding_fen,
        by_due_date.c.principal_fen,
    ).subquery()
    # Grouped on the subquery's columns, not on the CASE expression itself: PostgreSQL
    # cannot tell that two copies of an expression with bound parameters are the same.
    return select(
        bucketed.c.status,
        bucketed.c.bucket,
        func.sum(bucketed.c.accounts),
        func.sum(bucketed.c.owing),
        func.sum(bucketed.c.outstanding_fen),
        func.sum(bucketed.c.principal_fen),
    ).group_by(bucketed.c.status, bucketed.c.bucket)


def _open_by_grade_and_region(session: Session):
    return (
        select(Debtor.credit_grade, Debtor.region, *_sums(dialect_of(session)))
        .join(Debtor, Account.debtor_id == Debtor.id)
        .where(Account.status == AccountStatus.open.value)
        .group_by(Debtor.credit_grade, Debtor.region)
    )


def _status_order(present: dict[str, _Tally]) -> list[str]:
    known = [status.value for status in AccountStatus if status.value in present]
    return known + sorted(set(present) - set(known))
