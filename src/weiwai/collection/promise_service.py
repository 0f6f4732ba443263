"""Judging promises to pay that fell due, against the lender's posted payments.

A promised case goes back to working once none of its promises is pending any more:
broken and partly kept promises leave a balance to collect, and so does a kept
promise of part of the balance (a case paid in full has already left "promised").
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from weiwai.collection.days import local_day
from weiwai.collection.models import PromiseStatus, PromiseToPay
from weiwai.collection.promises import evaluate_promise
from weiwai.db import utcnow
from weiwai.i18n import _
from weiwai.money import ZERO
from weiwai.placements.lifecycle import transition_case
from weiwai.placements.models import Case, CaseStatus
from weiwai.portfolio.models import Account, Debtor, Payment, PaymentStatus

JOB_NAME = "evaluate_promises"
JOB_ACTOR = f"job:{JOB_NAME}"
CHUNK = 1000
# UTC bounds of a local day are at most 14 hours off; a day of margin covers every zone.
MARGIN = timedelta(days=1)


def evaluate_due_promises(
    *, session: Session, as_of: date, at: datetime | None = None, actor: str = JOB_ACTOR
) -> dict[str, int]:
    """Judge every pending promise due before `as_of`; move cases without a pending promise back to working."""
    at = at or utcnow()
    due = list(session.scalars(
        select(PromiseToPay)
        .where(PromiseToPay.status == PromiseStatus.pending.value, PromiseToPay.due_on < as_of)
        .order_by(PromiseToPay.id)
    ))
    counts = {"evaluated": 0, "kept": 0, "partly_kept": 0, "broken": 0, "cases_back_to_working": 0}
    resolved_cases: dict[int, PromiseToPay] = {}
    for start in range(0, len(due), CHUNK):
        chunk = due[start : start + CHUNK]
        payments = _payments_by_account_day(session, chunk)
        for promise in chunk:
            status, paid = evaluate_promise(
                promise.amount, promise.due_on, payments.get(promise.account_id, {}), as_of,
                promised_on=promise.promised_on,
            )
            promise.status, promise.paid_amount, promise.evaluated_at = status, paid, at
            counts["evaluated"] += 1
            counts[str(status)] += 1
            latest = resolved_cases.get(promise.case_id)
            if latest is None or promise.due_on >= latest.due_on:
                resolved_cases[promise.case_id] = promise
    session.flush()
    counts["cases_back_to_working"] = _reopen_work(session, resolved_cases, actor=actor, at=at)
    return counts


def evaluate_promises_job(*, session: Session, run_for: date) -> dict[str, int]:
    """Daily job: judge the promises that fell due before `run_for`."""
    return evaluate_due_promises(session=session, as_of=run_for)


def _payments_by_account_day(session: Session, promises: list[PromiseToPay]) -> dict[int, dict[date, Decimal]]:
    """Posted payments on the promises' accounts, summed by the debtor's local day."""
    account_ids = {p.account_id for p in promises}
    zones = dict(session.execute(
        select(Account.id, Debtor.time_zone).join(Debtor, Account.debtor_id == Debtor.id)
        .where(Account.id.in_(account_ids))
    ).all())
    since = datetime.combine(min(p.promised_on for p in promises), time(), tzinfo=UTC) - MARGIN
    until = datetime.combine(max(p.due_on for p in promises), time(), tzinfo=UTC) + 2 * MARGIN
    sums: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for account_id, amount, paid_at in session.execute(
        select(Payment.account_id, Payment.amount, Payment.paid_at).where(
            Payment.account_id.in_(account_ids),
            Payment.status == PaymentStatus.posted.value,
            Payment.paid_at >= since,
            Payment.paid_at < until,
        )
    ):
        sums[account_id][local_day(paid_at, zones.get(account_id))] += amount
    return sums


def _reopen_work(session: Session, resolved: dict[int, PromiseToPay], *, actor: str, at: datetime) -> int:
    if not resolved:
        return 0
    case_ids = list(resolved)
    still_pending = set(session.scalars(
        select(PromiseToPay.case_id).where(
            PromiseToPay.case_id.in_(case_ids), PromiseToPay.status == PromiseStatus.pending.value)
    ))
    moved = 0
    for case in session.scalars(
        select(Case).where(Case.id.in_(case_ids), Case.status == CaseStatus.promised.value).order_by(Case.id)
    ):
        if case.id in still_pending:
            continue
        promise = resolved[case.id]
        transition_case(
            session=session, case=case, to=CaseStatus.working, actor=actor, at=at,
            reason=_("promise to pay {amount} due {day}: {status}").format(
                amount=promise.amount, day=promise.due_on.isoformat(), status=promise.status),
        )
        moved += 1
    session.flush()
    return moved
