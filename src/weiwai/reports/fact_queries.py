"""Set-based queries for the facts behind the KPIs, per agency × stratum. Read-only.

Each query joins one source (cases, collection actions, payment attributions, commission
entries, promises, complaints) to the evaluated cases and GROUPs BY agency, bucket,
balance band and region, so the database returns one row per group — a few hundred at
most — whatever the number of cases. The caller merges the rows (weiwai.reports.evaluation).

Amounts are summed as whole fen (integers): SQLite keeps NUMERIC fractions as binary
floating point, and summing those drifts. Times to first attempt are whole seconds, and
their medians come from window functions (ROW_NUMBER / COUNT OVER), which SQLite and
PostgreSQL both have.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Select, and_, case, cast, extract, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from weiwai.collection.models import CollectionAction, PromiseStatus, PromiseToPay
from weiwai.collection.outcomes import ATTEMPT_OUTCOMES, CONNECTED_OUTCOMES, RIGHT_PARTY_OUTCOMES
from weiwai.compliance.models import Complaint
from weiwai.money import FEN, to_fen
from weiwai.payments.models import AttributionKind, PaymentAttribution
from weiwai.placements.models import Case
from weiwai.portfolio.models import Payment
from weiwai.reports.kpis import HOURS_PLACES
from weiwai.settlement.models import CommissionEntry

GroupKey = tuple[int, str, str, str]  # agency_id, bucket, balance band, region
GROUP_COLUMNS = (Case.agency_id, Case.bucket, Case.balance_band, Case.region)
RECOVERED_KINDS = (AttributionKind.case.value, AttributionKind.grace.value)
EVALUATED_PROMISES = (PromiseStatus.kept.value, PromiseStatus.partly_kept.value, PromiseStatus.broken.value)


@dataclass(frozen=True)
class Scope:
    """Which cases are evaluated, and the window of local days in which their events count.

    A batch scope has no first day: its cohort is the batch, and everything up to the end
    of `last_day` counts. A period scope holds every case open at some time in the window.
    """

    last_day: date
    first_day: date | None = None
    batch_id: int | None = None
    time_zone: str = "Asia/Shanghai"

    @property
    def start(self) -> datetime | None:
        """The first moment of the window (UTC), or None when it is open-ended."""
        if self.first_day is None:
            return None
        return datetime.combine(self.first_day, time(), ZoneInfo(self.time_zone))

    @property
    def end(self) -> datetime:
        """The first moment after the window: local midnight after `last_day`."""
        return datetime.combine(self.last_day + timedelta(days=1), time(), ZoneInfo(self.time_zone))

    def cases(self) -> list[ColumnElement[bool]]:
        """Conditions on Case: the cases held in scope."""
        conditions = [Case.placed_at < self.end]
        if self.batch_id is not None:
            conditions.append(Case.batch_id == self.batch_id)
        if self.start is not None:
            conditions.append(or_(Case.ended_at.is_(None), Case.ended_at >= self.start))
        return conditions

    def moment_in_window(self, column) -> ColumnElement[bool]:
        condition = column < self.end
        return condition if self.start is None else and_(column >= self.start, condition)

    def day_in_window(self, column) -> ColumnElement[bool]:
        condition = column <= self.last_day
        return condition if self.first_day is None else and_(column >= self.first_day, condition)

    def period_in_window(self, column) -> ColumnElement[bool]:
        """Commission periods ("YYYY-MM") of the months the window touches."""
        condition = column <= self.last_day.strftime("%Y-%m")
        return condition if self.first_day is None else and_(column >= self.first_day.strftime("%Y-%m"), condition)


def fen(column) -> ColumnElement[int]:
    return cast(func.round(column * 100), BigInteger)


def money_of_fen(value: int | Decimal | None) -> Decimal:
    return to_fen(Decimal(value or 0) * FEN)


def _count_if(condition) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _rows(session: Session, query: Select) -> Iterable[tuple[GroupKey, tuple]]:
    for row in session.execute(query):
        yield (int(row[0]), row[1], row[2], row[3]), tuple(row[4:])


def case_counts(session: Session, scope: Scope) -> Iterable[tuple[GroupKey, tuple]]:
    """(cases, balance placed in fen) per group."""
    query = (
        select(*GROUP_COLUMNS, func.count(Case.id), func.sum(fen(Case.balance_placed)))
        .where(*scope.cases())
        .group_by(*GROUP_COLUMNS)
    )
    return _rows(session, query)


def _outcome_conditions() -> tuple[ColumnElement[bool], ColumnElement[bool], ColumnElement[bool]]:
    """Attempt, connected and right-party contact, as weiwai.collection.outcomes defines them."""

    def among(outcomes) -> ColumnElement[bool]:
        return CollectionAction.outcome.in_(sorted(outcome.value for outcome in outcomes))

    return among(ATTEMPT_OUTCOMES), among(CONNECTED_OUTCOMES), among(RIGHT_PARTY_OUTCOMES)


def recovered_amounts(session: Session, scope: Scope) -> Iterable[tuple[GroupKey, tuple]]:
    """(recovered in fen, cases with a recovery) per group.

    Recovered = case and grace attributions of payments made in the window, except those
    reversed before the window ended; direct payments are the lender's and count for nobody.
    """
    attribution = PaymentAttribution
    per_case = (
        select(attribution.case_id.label("case_id"), func.sum(fen(attribution.amount)).label("recovered_fen"))
        .join(Payment, Payment.id == attribution.payment_id)
        .where(
            attribution.kind.in_(RECOVERED_KINDS),
            attribution.case_id.is_not(None),
            or_(attribution.reversed_at.is_(None), attribution.reversed_at >= scope.end),
            scope.moment_in_window(Payment.paid_at),
        )
        .group_by(attribution.case_id)
        .subquery()
    )
    query = (
        select(*GROUP_COLUMNS, func.sum(per_case.c.recovered_fen), _count_if(per_case.c.recovered_fen > 0))
        .join(per_case, per_case.c.case_id == Case.id)
        .where(*scope.cases())
        .group_by(*GROUP_COLUMNS)
    )
    return _rows(session, query)


def commission_amounts(session: Session, scope: Scope) -> Iterable[tuple[GroupKey, tuple]]:
    """(commission + fixed fees + clawbacks in fen) per group, for the months of the window."""
    query = (
        select(*GROUP_COLUMNS, func.sum(fen(CommissionEntry.amount)))
        .select_from(CommissionEntry)
        .join(Case, Case.id == CommissionEntry.case_id)
        .where(*scope.cases(), scope.period_in_window(CommissionEntry.period))
        .group_by(*GROUP_COLUMNS)
    )
    return _rows(session, query)


def promise_counts(session: Session, scope: Scope) -> Iterable[tuple[GroupKey, tuple]]:
    """(promises made, fell due and evaluated, kept, partly kept) per group."""
    made = scope.day_in_window(PromiseToPay.promised_on)
    due = and_(scope.day_in_window(PromiseToPay.due_on), PromiseToPay.status.in_(EVALUATED_PROMISES))
    query = (
        select(
            *GROUP_COLUMNS,
            _count_if(made),
            _count_if(due),
            _count_if(and_(due, PromiseToPay.status == PromiseStatus.kept.value)),
            _count_if(and_(due, PromiseToPay.status == PromiseStatus.partly_kept.value)),
        )
        .select_from(PromiseToPay)
        .join(Case, Case.id == PromiseToPay.case_id)
        .where(*scope.cases())
        .group_by(*GROUP_COLUMNS)
    )
    return _rows(session, query)


def complaint_counts(session: Session, scope: Scope) -> Iterable[tuple[GroupKey, tuple]]:
    """(complaints received in the window about the case) per group."""
    query = (
        select(*GROUP_COLUMNS, func.count(Complaint.id))
        .select_from(Complaint)
        .join(Case, Case.id == Complaint.case_id)
        .where(*scope.cases(), scope.moment_in_window(Complaint.received_at))
        .group_by(*GROUP_COLUMNS)
    )
    return _rows(session, query)


def _seconds_between(later, earlier, dialect: str) -> ColumnElement:
    """Whole seconds from `earlier` to `later`: exact on both backends, so medians are too."""
    if dialect == "sqlite":
        return func.round((func.julianday(later) - func.julianday(earlier)) * literal(86400))
    return func.round(extract("epoch", later - earlier))


def _middle(row_number, count) -> ColumnElement[bool]:
    """The one or two middle rows of a ranked group: their mean is the median."""
    return row_number.in_([(count + 1) // 2, (count + 2) // 2])


def action_facts(session: Session, scope: Scope) -> Iterable[tuple[GroupKey, tuple]]:
    """Per group: (attempts, connected, RPC, cases with an attempt, median seconds to first
    attempt, and the agency-median parts: sum and count of the agency's middle values).

    One pass over the actions: they are first reduced to one row per case (counts in the
    window, first attempt before its end), then ranked by time to first attempt within the
    group and within the agency. The agency's median is a middle value or the mean of two, which
    may lie in different groups, so each group returns the sum and count of the agency's
    middle values it holds and the caller adds them up (`agency_medians`).

    Time to first contact counts only cases whose first attempt falls in the window;
    cases never attempted are what coverage measures, not this.
    """
    attempt, connected, rpc = _outcome_conditions()
    action = CollectionAction
    in_window = scope.moment_in_window(action.occurred_at)
    per_case_actions = (
        select(
            action.case_id.label("case_id"),
            _count_if(and_(attempt, in_window)).label("attempts"),
            _count_if(and_(connected, in_window)).label("connected"),
            _count_if(and_(rpc, in_window)).label("rpc"),
            func.min(case((attempt, action.occurred_at))).label("first_at"),
        )
        .where(action.occurred_at < scope.end)
        .group_by(action.case_id)
        .subquery()
    )
    # Ranked in whole seconds, turned into hours only at the end (hours_of): exact.
    seconds = _seconds_between(per_case_actions.c.first_at, Case.placed_at, session.get_bind().dialect.name)
    if scope.start is not None:
        seconds = case((per_case_actions.c.first_at >= scope.start, seconds))
    per_case = (
        select(
            *(column.label(f"k{i}") for i, column in enumerate(GROUP_COLUMNS)),
            per_case_actions.c.attempts, per_case_actions.c.connected, per_case_actions.c.rpc,
            seconds.label("seconds"),
        )
        .join(per_case_actions, per_case_actions.c.case_id == Case.id)
        .where(*scope.cases())
        .subquery()
    )
    group = [per_case.c[f"k{i}"] for i in range(len(GROUP_COLUMNS))]
    agency = group[:1]
    # SQLite sorts NULL first and PostgreSQL last: put cases without a time last on both.
    by_time = (case((per_case.c.seconds.is_(None), 1), else_=0), per_case.c.seconds)
    ranked = select(
        per_case,
        func.row_number().over(partition_by=group, order_by=by_time).label("rn"),
        func.count(per_case.c.seconds).over(partition_by=group).label("n"),
        func.row_number().over(partition_by=agency, order_by=by_time).label("agency_rn"),
        func.count(per_case.c.seconds).over(partition_by=agency).label("agency_n"),
    ).subquery()
    keys = [ranked.c[f"k{i}"] for i in range(len(GROUP_COLUMNS))]
    stratum_middle = and_(ranked.c.seconds.is_not(None), _middle(ranked.c.rn, ranked.c.n))
    agency_middle = and_(ranked.c.seconds.is_not(None), _middle(ranked.c.agency_rn, ranked.c.agency_n))
    query = select(
        *keys,
        func.sum(ranked.c.attempts),
        func.sum(ranked.c.connected),
        func.sum(ranked.c.rpc),
        _count_if(ranked.c.attempts > 0),
        func.avg(case((stratum_middle, ranked.c.seconds))),
        func.sum(case((agency_middle, ranked.c.seconds))),
        _count_if(agency_middle),
    ).group_by(*keys)
    return _rows(session, query)


def hours_of(seconds) -> Decimal | None:
    """Seconds as summed or averaged by the database, in hours rounded half up to HOURS_PLACES."""
    if seconds is None:
        return None
    return (Decimal(str(seconds)) / 3600).quantize(HOURS_PLACES, rounding=ROUND_HALF_UP)
