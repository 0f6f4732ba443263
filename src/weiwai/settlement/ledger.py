"""The commission ledger: what each agency earned, one append-only entry per source.

Month end (`compute_commission`) is set-based so that it scales to millions of payments:
the recovery rate of every placement cohort is one GROUP BY, the commission rate of each
(batch, contract, bucket) group is evaluated once by the fee-schedule rules
(weiwai.agencies.fees), and the entries are written by one INSERT … SELECT on
PostgreSQL (the rows never leave the server; exact NUMERIC arithmetic rounds half up
like weiwai.money.to_fen). SQLite has no exact decimals, so there the amounts are
computed in Python with fees.commission_on and written with executemany.

Every entry has a unique source_key, so re-running a period never doubles anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Integer,
    Numeric,
    String,
    cast,
    column,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from weiwai.agencies.fees import commission_rate, fixed_fees
from weiwai.agencies.models import Contract
from weiwai.agencies.schemas import FeeSchedule
from weiwai.db import UtcDateTime, utcnow
from weiwai.money import ZERO, to_fen
from weiwai.payments.models import AttributionKind, PaymentAttribution
from weiwai.placements.models import Case, CaseStatus, CaseStatusChange, CloseReason
from weiwai.portfolio.models import Payment, PaymentStatus
from weiwai.settlement.models import CommissionEntry, EntryKind
from weiwai.settlement.periods import parse_period, period_bounds, period_of

COMMISSIONABLE_KINDS = (AttributionKind.case.value, AttributionKind.grace.value)
# Outcomes that earn the contract's fixed fee, once per case.
FEE_EARNING_REASONS = (CloseReason.paid_in_full.value, CloseReason.settled.value, CloseReason.plan_completed.value)
_INSERT_CHUNK = 5000


def commission_key(payment_id: int) -> str:
    return f"commission:payment:{payment_id}"


def clawback_key(payment_id: int) -> str:
    return f"clawback:payment:{payment_id}"


def fixed_fee_key(case_id: int) -> str:
    return f"fixed_fee:case:{case_id}"


def fixed_fee_clawback_key(case_id: int) -> str:
    return f"clawback:fixed_fee:case:{case_id}"


@dataclass(frozen=True)
class CommissionRun:
    """What one run of month end added to the ledger (nothing, when re-run)."""

    period: str
    commission_entries: int
    commission_amount: Decimal
    fixed_fee_entries: int
    fixed_fee_amount: Decimal

    def as_dict(self) -> dict:
        return {
            "period": self.period,
            "commission_entries": self.commission_entries,
            "commission_amount": str(self.commission_amount),
            "fixed_fee_entries": self.fixed_fee_entries,
            "fixed_fee_amount": str(self.fixed_fee_amount),
        }


# --- month end --------------------------------------------------------------------------


def compute_commission(*, session: Session, period: str) -> CommissionRun:
    """Add the period's commission and fixed-fee entries to the ledger; idempotent."""
    period = parse_period(period)
    start, end = period_bounds(period)
    schedules = _fee_schedules(session)
    rates = _group_rates(session, end=end, schedules=schedules)
    if session.get_bind().dialect.name == "postgresql":
        count, amount = _insert_commission_pg(session, period=period, start=start, end=end, rates=rates)
    else:
        count, amount = _insert_commission_portable(session, period=period, start=start, end=end, rates=rates)
    fee_count, fee_amount = _insert_fixed_fees(session, period=period, end=end, schedules=schedules)
    return CommissionRun(period, count, to_fen(amount), fee_count, to_fen(fee_amount))


def _fee_schedules(session: Session) -> dict[int, FeeSchedule]:
    rows = session.execute(select(Contract.id, Contract.fee_schedule)).all()
    return {contract_id: FeeSchedule.model_validate(schedule) for contract_id, schedule in rows}


def cohort_recovery_rates(*, session: Session, end: datetime) -> dict[tuple[int, int], Decimal]:
    """Recovery rate per placement cohort (batch, agency) that recovered anything by `end`.

    Recovery rate = recovered ÷ balance placed (0 for a cohort placed with no balance).

    Recovered is the agency's attributed money (case and grace) paid before `end`, less
    payments already reversed by then (shared/domain/kpis.md, one definition).
    """
    attribution, payment = PaymentAttribution, Payment
    recovered_rows = session.execute(
        select(Case.batch_id, Case.agency_id, func.sum(attribution.amount))
        .select_from(attribution)
        .join(payment, payment.id == attribution.payment_id)
        .join(Case, Case.id == attribution.case_id)
        .where(
            attribution.kind.in_(COMMISSIONABLE_KINDS),
            payment.paid_at < end,
            or_(attribution.reversed_at.is_(None), attribution.reversed_at >= end),
        )
        .group_by(Case.batch_id, Case.agency_id)
    ).all()
    recovered = {(batch, agency): Decimal(total or 0) for batch, agency, total in recovered_rows}
    placed_rows = session.execute(
        select(Case.batch_id, Case.agency_id, func.sum(Case.balance_placed)).group_by(Case.batch_id, Case.agency_id)
    ).all()
    placed = {(batch, agency): Decimal(total or 0) for batch, agency, total in placed_rows}
    return {
        cohort: amount / placed[cohort] if placed.get(cohort, ZERO) > 0 else ZERO
        for cohort, amount in recovered.items()
        if amount > 0
    }


def _group_rates(
    session: Session, *, end: datetime, schedules: dict[int, FeeSchedule]
) -> dict[tuple[int, int, str], Decimal]:
    """Commission rate of every (batch, contract, bucket) group whose cohort recovered anything."""
    cohort_rates = cohort_recovery_rates(session=session, end=end)
    groups = session.execute(
        select(Case.batch_id, Case.agency_id, Case.contract_id, Case.bucket).distinct()
    ).all()
    rates: dict[tuple[int, int, str], Decimal] = {}
    for batch, agency, contract_id, bucket in groups:
        recovery_rate = cohort_rates.get((batch, agency))
        if recovery_rate is None:
            continue  # nothing recovered in this cohort: no payment of it can earn anything
        rates[(batch, contract_id, bucket)] = commission_rate(
            schedules[contract_id], bucket=bucket, recovery_rate=recovery_rate
        )
    return rates


def _period_commissionables(*, start: datetime, end: datetime, skip_charged: bool = True):
    """The FROM/WHERE of the period's commissionable payments (still without an entry)."""
    attribution, payment = PaymentAttribution, Payment
    query = (
        select()
        .select_from(payment)
        .join(attribution, attribution.payment_id == payment.id)
        .join(Case, Case.id == attribution.case_id)
        .where(
            payment.paid_at >= start,
            payment.paid_at < end,
            # A payment reversed before month end earns nothing and needs no clawback.
            payment.status == PaymentStatus.posted.value,
            attribution.kind.in_(COMMISSIONABLE_KINDS),
            attribution.reversed_at.is_(None),
            attribution.amount > 0,
        )
    )
    if skip_charged:
        query = query.where(
            ~exists().where(
                CommissionEntry.payment_id == payment.id, CommissionEntry.kind == EntryKind.commission.value
            )
        )
    return query


# Scratch tables with statistics (ANALYZE), so the planner hash-joins the few group rates
# and the already charged payments instead of guessing "one row" and nesting loops, which
# at millions of payments costs minutes. Rates are keyed by one text column because an
# index on any of the three case columns otherwise lures the planner into a loop per rate.
_GROUP_RATES = table("commission_group_rates", column("group_key", String), column("rate", Numeric(9, 6)))
_CHARGED = table("commission_charged", column("payment_id", Integer))
_SCRATCH_TABLES = (
    "CREATE TEMPORARY TABLE commission_group_rates (group_key text, rate numeric(9, 6)) ON COMMIT DROP",
    # Commission entries carry the month of their payment, so this period's are all there is to skip.
    "CREATE TEMPORARY TABLE commission_charged ON COMMIT DROP AS "
    "SELECT payment_id FROM commission_entries WHERE kind = 'commission' AND period = :period",
)


def _group_key(batch_id, contract_id, bucket):
    return cast(batch_id, String) + ":" + cast(contract_id, String) + ":" + bucket


def _insert_commission_pg(
    session: Session, *, period: str, start: datetime, end: datetime, rates: dict[tuple[int, int, str], Decimal]
) -> tuple[int, Decimal]:
    if not rates:
        return 0, ZERO
    for statement in _SCRATCH_TABLES:
        session.execute(text(statement), {"period": period})
    session.execute(
        insert(_GROUP_RATES),
        [{"group_key": f"{b}:{c}:{k}", "rate": rate} for (b, c, k), rate in rates.items()],
    )
    session.execute(text("ANALYZE commission_group_rates"))
    session.execute(text("ANALYZE commission_charged"))
    payment, attribution, rate_table = Payment, PaymentAttribution, _GROUP_RATES
    rows = (
        _period_commissionables(start=start, end=end, skip_charged=False)
        .join(rate_table, rate_table.c.group_key == _group_key(Case.batch_id, Case.contract_id, Case.bucket))
        # Not an anti-join against commission_entries itself: while this statement fills
        # that table, a planner that believes it empty would scan it once per row.
        .where(~exists().where(_CHARGED.c.payment_id == payment.id))
        .add_columns(
            Case.agency_id,
            Case.contract_id,
            Case.id,
            payment.id,
            literal(EntryKind.commission.value),
            literal("commission:payment:") + cast(payment.id, String),
            literal(period),
            attribution.amount,
            rate_table.c.rate,
            # NUMERIC is exact and ROUND goes half away from zero: half up on these positive amounts.
            func.round(attribution.amount * rate_table.c.rate, 2),
            literal(utcnow(), type_=UtcDateTime()),
        )
    )
    columns = ["agency_id", "contract_id", "case_id", "payment_id", "kind", "source_key", "period",
               "base_amount", "rate", "amount", "created_at"]
    written = (
        pg_insert(CommissionEntry)
        .from_select(columns, rows)
        # The unique source_key still has the last word (e.g. a concurrent run).
        .on_conflict_do_nothing(index_elements=["source_key"])
        .returning(CommissionEntry.amount)
        .cte("written")
    )
    count, amount = session.execute(select(func.count(), func.coalesce(func.sum(written.c.amount), 0))).one()
    session.execute(text("DROP TABLE commission_group_rates, commission_charged"))
    return count, Decimal(amount)


def _insert_commission_portable(
    session: Session, *, period: str, start: datetime, end: datetime, rates: dict[tuple[int, int, str], Decimal]
) -> tuple[int, Decimal]:
    rows = session.execute(
        _period_commissionables(start=start, end=end).add_columns(
            Case.agency_id, Case.contract_id, Case.id, Case.batch_id, Case.bucket,
            Payment.id, PaymentAttribution.amount,
        )
    ).all()
    now, count, total = utcnow(), 0, ZERO
    batch: list[dict] = []
    for agency_id, contract_id, case_id, batch_id, bucket, payment_id, base in rows:
        rate = rates[(batch_id, contract_id, bucket)]
        amount = to_fen(Decimal(base) * rate)
        batch.append({
            "agency_id": agency_id, "contract_id": contract_id, "case_id": case_id, "payment_id": payment_id,
            "kind": EntryKind.commission.value, "source_key": commission_key(payment_id), "period": period,
            "base_amount": to_fen(base), "rate": rate, "amount": amount, "created_at": now,
        })
        count, total = count + 1, total + amount
        if len(batch) >= _INSERT_CHUNK:
            session.execute(insert(CommissionEntry), batch)
            batch = []
    if batch:
        session.execute(insert(CommissionEntry), batch)
    return count, total


def _insert_fixed_fees(
    session: Session, *, period: str, end: datetime, schedules: dict[int, FeeSchedule]
) -> tuple[int, Decimal]:
    """Fixed fee for every fee-earning closed case not yet charged, closed before `end`.

    A case closed earlier whose month was never computed is charged now rather than
    never. A case whose payment was reversed after it closed did not really end in
    full payment, so it earns no fee (a fee already charged is clawed back on reversal).
    """
    fee_by_contract = {
        contract_id: fixed_fees(schedule, closed_cases=1)
        for contract_id, schedule in schedules.items()
        if schedule.fixed_fee_per_closed_case
    }
    if not fee_by_contract:
        return 0, ZERO
    closed_at = (
        select(func.max(CaseStatusChange.changed_at))
        .where(CaseStatusChange.case_id == Case.id, CaseStatusChange.to_status == CaseStatus.closed.value)
        .scalar_subquery()
    )
    charged = exists().where(CommissionEntry.case_id == Case.id, CommissionEntry.kind == EntryKind.fixed_fee.value)
    undone = exists().where(
        PaymentAttribution.case_id == Case.id,
        PaymentAttribution.reversed_at.is_not(None),
        PaymentAttribution.reversed_at >= Case.ended_at,
    )
    cases = session.execute(
        select(Case.id, Case.agency_id, Case.contract_id).where(
            Case.status == CaseStatus.closed.value,
            Case.close_reason.in_(FEE_EARNING_REASONS),
            Case.contract_id.in_(list(fee_by_contract)),
            func.coalesce(closed_at, Case.ended_at) < end,
            ~charged,
            ~undone,
        )
    ).all()
    now = utcnow()
    rows = [
        {
            "agency_id": agency_id, "contract_id": contract_id, "case_id": case_id, "payment_id": None,
            "kind": EntryKind.fixed_fee.value, "source_key": fixed_fee_key(case_id), "period": period,
            "base_amount": ZERO, "rate": None, "amount": fee_by_contract[contract_id], "created_at": now,
        }
        for case_id, agency_id, contract_id in cases
    ]
    for i in range(0, len(rows), _INSERT_CHUNK):
        session.execute(insert(CommissionEntry), rows[i : i + _INSERT_CHUNK])
    return len(rows), sum((row["amount"] for row in rows), ZERO)


# --- clawbacks ----------------------------------------------------------------------------


def claw_back_payment(*, session: Session, payment_id: int, case_id: int | None, at: datetime) -> list[CommissionEntry]:
    """Reverse what a reversed payment earned, in the period of the reversal.

    The commission entry itself is never touched (it may sit on an issued statement);
    the clawback is a new, negative entry that the next statement collects. When the
    reversal comes after the case closed paid in full (or settled…), the case's fixed
    fee is clawed back too: the outcome it paid for did not happen.
    """
    created = []
    earned = session.scalar(select(CommissionEntry).where(CommissionEntry.source_key == commission_key(payment_id)))
    if earned is not None:
        created.append(_clawback_of(session, earned, source_key=clawback_key(payment_id), at=at))
    if case_id is not None:
        fee = _fixed_fee_undone_by(session, case_id=case_id, at=at)
        if fee is not None:
            created.append(_clawback_of(session, fee, source_key=fixed_fee_clawback_key(case_id), at=at))
    return created


def _fixed_fee_undone_by(session: Session, *, case_id: int, at: datetime) -> CommissionEntry | None:
    case = session.get(Case, case_id)
    if case is None or case.status != CaseStatus.closed or case.close_reason not in FEE_EARNING_REASONS:
        return None
    if case.ended_at is None or at < case.ended_at:
        return None
    already = session.scalar(
        select(CommissionEntry.id).where(CommissionEntry.source_key == fixed_fee_clawback_key(case_id))
    )
    if already is not None:
        return None
    return session.scalar(select(CommissionEntry).where(CommissionEntry.source_key == fixed_fee_key(case_id)))


def _clawback_of(session: Session, entry: CommissionEntry, *, source_key: str, at: datetime) -> CommissionEntry:
    clawback = CommissionEntry(
        agency_id=entry.agency_id,
        contract_id=entry.contract_id,
        case_id=entry.case_id,
        payment_id=entry.payment_id,
        kind=EntryKind.clawback,
        source_key=source_key,
        period=period_of(at),
        base_amount=-entry.base_amount,
        rate=entry.rate,
        amount=-entry.amount,
    )
    session.add(clawback)
    return clawback
