"""Stored scorecards: each agency's KPIs per stratum of a batch, as of a day, and what
performance-weighted allocation reads from them.

One Scorecard row per agency × stratum of the batch, plus one roll-up row per agency
with "*" as bucket, band and region holding its mix-adjusted KPIs (docs/evaluation.md).
`metrics` maps KPI names and fact names to decimal strings; a KPI that is n/a is null.
Re-storing a batch for the same day replaces that day's rows, so the job may re-run.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from weiwai.clock import default_zone, today_local
from weiwai.db import utcnow
from weiwai.placements.models import BatchStatus, PlacementBatch
from weiwai.reports.comparison import ROLLUP
from weiwai.reports.evaluation import evaluate_batch, get_batch
from weiwai.reports.kpis import ratio
from weiwai.reports.models import Scorecard
from weiwai.reports.schemas import Evaluation, FactsRead, KpiSet

# A closed batch still changes after it closes: grace payments count for the agency after
# its cases ended, and commission (with clawbacks) is booked at the next month end. So
# batches are scored for this many days after closing, then their last scorecard stands.
SCORING_DAYS_AFTER_CLOSE = 45

StratumKey = tuple[str, str, str]


def _metrics(kpis: KpiSet, facts: FactsRead, **extra: Decimal | None) -> dict[str, str | None]:
    values: dict[str, str | None] = {name: None if value is None else str(value) for name, value in kpis.items()}
    values.update({name: str(value) for name, value in facts.model_dump().items()})
    values.update({name: None if value is None else str(value) for name, value in extra.items()})
    return values


def store_batch_scorecards(
    *, session: Session, batch_no: str, as_of: date | None = None, at: datetime | None = None
) -> list[Scorecard]:
    """Compute and store the batch's scorecards as of a day, replacing any stored for that day."""
    evaluation = evaluate_batch(session=session, batch_no=batch_no, as_of=as_of or today_local())
    return save_scorecards(session=session, evaluation=evaluation, at=at)


def save_scorecards(*, session: Session, evaluation: Evaluation, at: datetime | None = None) -> list[Scorecard]:
    """Store a batch evaluation as the batch's scorecards for its as-of day, replacing that day's."""
    if evaluation.kind != "batch" or evaluation.batch_no is None:
        raise ValueError("only a batch evaluation makes scorecards")
    batch = get_batch(session=session, batch_no=evaluation.batch_no)
    as_of = evaluation.date_to
    session.execute(delete(Scorecard).where(Scorecard.batch_id == batch.id, Scorecard.as_of == as_of))
    computed_at = at or utcnow()
    rows = []
    for stratum in evaluation.strata:
        for result in stratum.agencies:
            rows.append(Scorecard(
                agency_id=result.agency_id, batch_id=batch.id, as_of=as_of, bucket=stratum.bucket,
                balance_band=stratum.balance_band, region=stratum.region, cases=result.facts.cases,
                metrics=_metrics(result.kpis, result.facts), computed_at=computed_at,
            ))
    for overall in evaluation.overall:
        rows.append(Scorecard(
            agency_id=overall.agency_id, batch_id=batch.id, as_of=as_of, bucket=ROLLUP, balance_band=ROLLUP,
            region=ROLLUP, cases=overall.facts.cases,
            metrics=_metrics(overall.mix_adjusted, overall.facts, mix_share=overall.mix_share),
            computed_at=computed_at,
        ))
    session.add_all(rows)
    session.flush()
    return rows


def store_active_scorecards(*, session: Session, as_of: date | None = None, at: datetime | None = None) -> dict:
    """Store scorecards as of a day for every active batch, and for batches that closed in
    the SCORING_DAYS_AFTER_CLOSE days before it; returns counts for the run record."""
    as_of = as_of or today_local()
    day_start = datetime.combine(as_of, time(), default_zone())
    scored = or_(
        PlacementBatch.status == BatchStatus.active.value,
        and_(PlacementBatch.status == BatchStatus.closed.value, PlacementBatch.activated_at.is_not(None),
             PlacementBatch.closed_at >= day_start - timedelta(days=SCORING_DAYS_AFTER_CLOSE)),
    )
    batch_nos = session.scalars(select(PlacementBatch.batch_no).where(scored).order_by(PlacementBatch.id)).all()
    stored = 0
    for batch_no in batch_nos:
        stored += len(store_batch_scorecards(session=session, batch_no=batch_no, as_of=as_of, at=at))
    return {"batches": len(batch_nos), "scorecards": stored}


def scorecards_job(*, session: Session, run_for: date) -> dict:
    """Store scorecards of every batch active on the day before `run_for` (the last complete day)."""
    return store_active_scorecards(session=session, as_of=run_for - timedelta(days=1))


def latest_performance(*, session: Session, as_of: date | None = None) -> dict[int, dict[StratumKey, Decimal]]:
    """Each agency's recovery rate by amount per stratum, from its newest scorecards (on or before `as_of`).

    For every agency × stratum the newest scoring day is taken; when several batches were
    scored that day their facts are pooled (Σ recovered ÷ Σ balance placed), which is the
    recovery rate of those cases together. Roll-up ("*") rows are for people, not
    allocation, and strata without a rate (nothing placed) are left out.
    """
    newest = (
        select(Scorecard.agency_id, Scorecard.bucket, Scorecard.balance_band, Scorecard.region,
               func.max(Scorecard.as_of).label("as_of"))
        .where(Scorecard.batch_id.is_not(None), Scorecard.bucket != ROLLUP)
        .group_by(Scorecard.agency_id, Scorecard.bucket, Scorecard.balance_band, Scorecard.region)
    )
    if as_of is not None:
        newest = newest.where(Scorecard.as_of <= as_of)
    newest = newest.subquery()
    rows = session.scalars(
        select(Scorecard).join(newest, and_(
            Scorecard.agency_id == newest.c.agency_id, Scorecard.bucket == newest.c.bucket,
            Scorecard.balance_band == newest.c.balance_band, Scorecard.region == newest.c.region,
            Scorecard.as_of == newest.c.as_of, Scorecard.batch_id.is_not(None),
        ))
    ).all()
    pooled: dict[tuple[int, StratumKey], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows:
        totals = pooled[(row.agency_id, (row.bucket, row.balance_band, row.region))]
        totals[0] += Decimal(row.metrics.get("recovered") or 0)
        totals[1] += Decimal(row.metrics.get("balance_placed") or 0)
    performance: dict[int, dict[StratumKey, Decimal]] = defaultdict(dict)
    for (agency_id, stratum), (recovered, placed) in pooled.items():
        rate = ratio(recovered, placed)
        if rate is not None:
            performance[agency_id][stratum] = rate
    return dict(performance)


def list_scorecards(
    *,
    session: Session,
    agency_id: int | None = None,
    batch_no: str | None = None,
    as_of: date | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Scorecard], int]:
    """Stored scorecards, filtered; without `as_of`, the newest day of each batch. Returns (page, total)."""
    conditions = []
    if agency_id is not None:
        conditions.append(Scorecard.agency_id == agency_id)
    if batch_no is not None:
        conditions.append(Scorecard.batch_id == get_batch(session=session, batch_no=batch_no).id)
    if as_of is not None:
        conditions.append(Scorecard.as_of == as_of)
    query = select(Scorecard).where(*conditions)
    if as_of is None:
        newest = (
            select(Scorecard.batch_id, func.max(Scorecard.as_of).label("as_of"))
            .where(*conditions).group_by(Scorecard.batch_id).subquery()
        )
        query = query.join(newest, and_(Scorecard.batch_id == newest.c.batch_id, Scorecard.as_of == newest.c.as_of))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page = session.scalars(
        query.order_by(Scorecard.batch_id, Scorecard.agency_id, Scorecard.bucket, Scorecard.balance_band,
                       Scorecard.region).offset(offset).limit(limit)
    ).all()
    return list(page), total or 0
