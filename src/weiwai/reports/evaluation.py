"""Evaluating agencies: per batch as of a day, or over a period. Read-only.

The facts of every agency × stratum come from a handful of GROUP BY queries
(weiwai.reports.fact_queries); the KPIs and the fair comparison are computed from them
in weiwai.reports.comparison. Definitions: docs/kpis.md; method: docs/evaluation.md.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency
from weiwai.clock import today_local
from weiwai.config import get_settings
from weiwai.errors import NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.placements.models import PlacementBatch
from weiwai.reports import fact_queries as q
from weiwai.reports.comparison import compare
from weiwai.reports.kpis import Facts
from weiwai.reports.schemas import Evaluation, FactsRead


def get_batch(*, session: Session, batch_no: str) -> PlacementBatch:
    """The batch with this number, or NotFound."""
    batch = session.scalar(select(PlacementBatch).where(PlacementBatch.batch_no == batch_no))
    if batch is None:
        raise NotFound(_("no placement batch {batch_no}").format(batch_no=batch_no))
    return batch


def batch_scope(*, batch: PlacementBatch, as_of: date) -> q.Scope:
    """The batch's cases, with everything that happened up to the end of `as_of`."""
    return q.Scope(last_day=as_of, batch_id=batch.id, time_zone=get_settings().default_time_zone)


def period_scope(*, date_from: date, date_to: date) -> q.Scope:
    """Every case open at some time from `date_from` to `date_to`, with what happened then."""
    if date_to < date_from:
        raise RuleViolation(
            _("the period ends ({date_to}) before it starts ({date_from})").format(date_to=date_to, date_from=date_from)
        )
    return q.Scope(first_day=date_from, last_day=date_to, time_zone=get_settings().default_time_zone)


def collect_facts(*, session: Session, scope: q.Scope) -> tuple[dict[q.GroupKey, Facts], dict[int, Decimal]]:
    """The facts of every agency × stratum in scope (one GROUP BY per source), and each
    agency's median hours to first attempt over all its strata."""
    facts: dict[q.GroupKey, Facts] = defaultdict(Facts)
    for key, (cases, balance_fen) in q.case_counts(session, scope):
        facts[key].cases = cases
        facts[key].balance_placed = q.money_of_fen(balance_fen)
    agency_middles: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for key, (attempts, connected, rpc, attempted, median, middle_sum, middle_count) in q.action_facts(session, scope):
        facts[key].attempts, facts[key].connected, facts[key].rpc = int(attempts), int(connected), int(rpc)
        facts[key].cases_attempted = int(attempted)
        facts[key].first_contact_hours_median = q.hours_of(median)
        if middle_count:
            agency_middles[key[0]][0] += Decimal(str(middle_sum))
            agency_middles[key[0]][1] += int(middle_count)
    for key, (recovered_fen, cases_recovered) in q.recovered_amounts(session, scope):
        facts[key].recovered = q.money_of_fen(recovered_fen)
        facts[key].cases_recovered = int(cases_recovered)
    for key, (commission_fen,) in q.commission_amounts(session, scope):
        facts[key].commission_and_fees = q.money_of_fen(commission_fen)
    for key, (made, due, kept, partly) in q.promise_counts(session, scope):
        facts[key].promises, facts[key].promises_due = int(made), int(due)
        facts[key].promises_kept, facts[key].promises_partly_kept = int(kept), int(partly)
    for key, (complaints,) in q.complaint_counts(session, scope):
        facts[key].complaints = int(complaints)
    agency_medians = {agency_id: q.hours_of(seconds / count) for agency_id, (seconds, count) in agency_middles.items()}
    return dict(facts), agency_medians


def evaluate(*, session: Session, scope: q.Scope, batch_no: str | None = None) -> Evaluation:
    """Agencies compared within each stratum of the scope, and their mix-adjusted overall."""
    facts, medians = collect_facts(session=session, scope=scope)
    agency_ids = sorted({key[0] for key in facts})
    agencies = session.execute(select(Agency.id, Agency.code).where(Agency.id.in_(agency_ids)))
    codes = {row.id: row.code for row in agencies}
    totals, strata, overall = compare(facts, codes, medians)
    return Evaluation(
        kind="batch" if scope.batch_id is not None else "period",
        batch_no=batch_no, date_from=scope.first_day, date_to=scope.last_day,
        totals=FactsRead.of(totals), strata=strata, overall=overall,
    )


def evaluate_batch(*, session: Session, batch_no: str, as_of: date | None = None) -> Evaluation:
    """A batch's agencies compared on the same strata, as of a day (default today)."""
    batch = get_batch(session=session, batch_no=batch_no)
    scope = batch_scope(batch=batch, as_of=as_of or today_local())
    return evaluate(session=session, scope=scope, batch_no=batch.batch_no)


def evaluate_agencies(*, session: Session, date_from: date, date_to: date) -> Evaluation:
    """Agencies compared on the same strata over a period, across batches."""
    scope = period_scope(date_from=date_from, date_to=date_to)
    return evaluate(session=session, scope=scope)
