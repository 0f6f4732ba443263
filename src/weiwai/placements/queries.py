"""Read side of the placements API: the case list as each principal may see it, and pages
of placement batches, rule sets and job runs.

The case list starts from `weiwai.security.scope.visible_cases(principal)`: an agency's
users and tokens list their agency's open cases (a collector: those assigned to them),
lender staff every case; the filters only narrow that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency
from weiwai.jobs.models import JobRun
from weiwai.placements.batches import batch_read
from weiwai.placements.models import OPEN_CASE_STATUSES, BatchStatus, Case, PlacementBatch, ScreeningRuleSet
from weiwai.placements.schemas import BatchRead, CaseFilters, CaseSummary, JobRunRead, RuleSetRead
from weiwai.portfolio.models import Account
from weiwai.security.scope import case_condition
from weiwai.web.pagination import Page

if TYPE_CHECKING:
    from weiwai.web.deps import Principal


def page_of(
    session: Session, query: Select, *, offset: int, limit: int, count: Select | None = None
) -> tuple[list, int]:
    """The rows of one page of `query` (already ordered) and how many rows it has in all
    (`count`: a cheaper query of the same rows to count, when there is one)."""
    rows = list(session.execute(query.offset(offset).limit(limit)))
    if len(rows) < limit and (rows or offset == 0):
        return rows, offset + len(rows)  # the last page: no need to count
    counted = count if count is not None else query
    total = session.scalar(select(func.count()).select_from(counted.order_by(None).subquery()))
    return rows, total


def list_cases(
    *, session: Session, principal: Principal, filters: CaseFilters, offset: int = 0, limit: int = 50
) -> Page[CaseSummary]:
    """The cases `principal` may see that match `filters`, by case number."""
    conditions = [case_condition(principal), *_case_filters(filters)]
    query = (
        select(Case.case_no, PlacementBatch.batch_no, Account.account_no, Agency.code, Case.status, Case.bucket,
               Case.dpd, Case.balance_band, Case.region, Case.balance_placed, Case.placed_at, Case.period_ends_on,
               Case.ended_at, Case.collector_user_id)
        .join(PlacementBatch, PlacementBatch.id == Case.batch_id)
        .join(Account, Account.id == Case.account_id)
        .join(Agency, Agency.id == Case.agency_id)
        .where(*conditions)
        .order_by(Case.case_no)
    )
    # Counting needs the batch only to filter on its number; the other joins are one-to-one.
    count = select(Case.id).where(*conditions)
    if filters.batch_no is not None:
        count = count.join(PlacementBatch, PlacementBatch.id == Case.batch_id)
    rows, total = page_of(session, query, offset=offset, limit=limit, count=count)
    lender = principal.is_lender
    items = [
        CaseSummary(case_no=r.case_no, batch_no=r.batch_no if lender else None, account_no=r.account_no,
                    agency_code=r.code, status=str(r.status), bucket=r.bucket, dpd=r.dpd,
                    balance_band=r.balance_band, region=r.region, balance_placed=r.balance_placed,
                    placed_at=r.placed_at, period_ends_on=r.period_ends_on, ended_at=r.ended_at,
                    collector_user_id=r.collector_user_id)
        for r in rows
    ]
    return Page[CaseSummary](items=items, total=total, offset=offset, limit=limit)


def _case_filters(filters: CaseFilters) -> list:
    conditions = []
    if filters.status:
        conditions.append(Case.status.in_([status.value for status in filters.status]))
    if filters.open is not None:
        in_open = Case.status.in_([status.value for status in OPEN_CASE_STATUSES])
        conditions.append(in_open if filters.open else ~in_open)
    if filters.agency_id is not None:
        conditions.append(Case.agency_id == filters.agency_id)
    if filters.batch_no is not None:
        conditions.append(PlacementBatch.batch_no == filters.batch_no.strip())
    if filters.collector_user_id is not None:
        conditions.append(Case.collector_user_id == filters.collector_user_id)
    if filters.bucket is not None:
        conditions.append(Case.bucket == filters.bucket.strip())
    if filters.region is not None:
        conditions.append(Case.region == filters.region.strip())
    if filters.period_ends_before is not None:
        conditions.append(Case.period_ends_on < filters.period_ends_before)
    return conditions


def list_batches(
    *, session: Session, status: BatchStatus | None = None, offset: int = 0, limit: int = 50
) -> Page[BatchRead]:
    """Placement batches, newest first."""
    query = select(PlacementBatch).order_by(PlacementBatch.id.desc())
    if status is not None:
        query = query.where(PlacementBatch.status == BatchStatus(status).value)
    rows, total = page_of(session, query, offset=offset, limit=limit)
    return Page[BatchRead](items=[batch_read(session=session, batch=row[0]) for row in rows], total=total,
                           offset=offset, limit=limit)


def list_rule_sets(*, session: Session, name: str | None = None, offset: int = 0, limit: int = 50) -> Page[RuleSetRead]:
    """Saved rule set versions, by name then version."""
    query = select(ScreeningRuleSet).order_by(ScreeningRuleSet.name, ScreeningRuleSet.version)
    if name is not None:
        query = query.where(ScreeningRuleSet.name == name.strip())
    rows, total = page_of(session, query, offset=offset, limit=limit)
    return Page[RuleSetRead](items=[RuleSetRead.model_validate(row[0]) for row in rows], total=total, offset=offset,
                             limit=limit)


def list_job_runs(*, session: Session, job: str | None = None, offset: int = 0, limit: int = 50) -> Page[JobRunRead]:
    """Runs of the scheduled jobs, latest day first."""
    query = select(JobRun).order_by(JobRun.run_for.desc(), JobRun.id.desc())
    if job is not None:
        query = query.where(JobRun.job == job)
    rows, total = page_of(session, query, offset=offset, limit=limit)
    return Page[JobRunRead](items=[JobRunRead.model_validate(row[0]) for row in rows], total=total, offset=offset,
                            limit=limit)
