"""Judging promises that fell due, against posted payments, on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from factories_collection import (
    english_messages,  # noqa: F401  (autouse)
    make_payment,
    make_world,
)
from weiwai.collection import service
from weiwai.collection.models import PromiseStatus
from weiwai.collection.promise_service import evaluate_due_promises, evaluate_promises_job
from weiwai.collection.schemas import ActionCreate
from weiwai.placements.models import CaseStatus, CaseStatusChange
from weiwai.portfolio.models import PaymentStatus

# The collection log's mechanics, not the compliance rules (tested in test_compliance_*).
pytestmark = pytest.mark.usefixtures("record_compliance")

PROMISE_AT = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)  # 10:00 on 5 March in Shanghai
DUE = date(2024, 3, 10)
EVAL_AT = datetime(2024, 3, 11, 1, 0, tzinfo=UTC)


def shanghai(day: date, hour: int) -> datetime:
    """A moment given in Shanghai local time (UTC+8)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=8)


def promise(session, world, *, amount="500.00", due=DUE, at=PROMISE_AT, key=None):
    data = ActionCreate(channel="phone", occurred_at=at, party="debtor", outcome="promise_to_pay",
                        phone_id=world.debtor.phones[0].id, promise_amount=Decimal(amount), promise_due_on=due,
                        idempotency_key=key)
    action = service.log_action(session=session, case_id=world.case.id, data=data, actor="user:c", at=at)
    return service.list_promises(session=session, case_id=world.case.id)[-1] if action else None


def evaluate(session, as_of=DUE + timedelta(days=1)):
    return evaluate_due_promises(session=session, as_of=as_of, at=EVAL_AT)


@pytest.fixture
def world(session):
    return make_world(session)


def test_paid_in_full_on_the_due_day_late_evening_is_kept(session, world):
    ptp = promise(session, world)
    make_payment(session, account=world.account, amount="500.00", paid_at=shanghai(DUE, 23))
    counts = evaluate(session)
    assert (ptp.status, ptp.paid_amount, ptp.evaluated_at) == (PromiseStatus.kept, Decimal("500.00"), EVAL_AT)
    assert counts["kept"] == 1 and counts["evaluated"] == 1


def test_paid_just_after_midnight_local_is_the_next_day_and_too_late(session, world):
    ptp = promise(session, world)
    # 16:00 UTC on the due day is midnight, the next day, in Shanghai.
    make_payment(session, account=world.account, amount="500.00", paid_at=shanghai(DUE + timedelta(days=1), 0))
    evaluate(session, as_of=DUE + timedelta(days=2))
    assert ptp.status == PromiseStatus.broken and ptp.paid_amount == Decimal("0.00")


def test_partly_paid_and_several_payments(session, world):
    ptp = promise(session, world)
    make_payment(session, account=world.account, amount="100.00", paid_at=shanghai(date(2024, 3, 6), 9))
    make_payment(session, account=world.account, amount="150.00", paid_at=shanghai(date(2024, 3, 8), 9))
    evaluate(session)
    assert (ptp.status, ptp.paid_amount) == (PromiseStatus.partly_kept, Decimal("250.00"))


def test_several_payments_reaching_the_amount_keep_it(session, world):
    ptp = promise(session, world)
    for day in (5, 7, 10):
        make_payment(session, account=world.account, amount="166.67", paid_at=shanghai(date(2024, 3, day), 20))
    evaluate(session)
    assert (ptp.status, ptp.paid_amount) == (PromiseStatus.kept, Decimal("500.01"))


def test_payments_before_the_promise_day_and_reversed_ones_do_not_count(session, world):
    ptp = promise(session, world)
    make_payment(session, account=world.account, amount="500.00", paid_at=shanghai(date(2024, 3, 4), 23))
    make_payment(session, account=world.account, amount="500.00", paid_at=shanghai(date(2024, 3, 6), 9),
                 status=PaymentStatus.reversed)
    evaluate(session)
    assert ptp.status == PromiseStatus.broken


def test_a_payment_on_the_promise_day_counts(session, world):
    ptp = promise(session, world)
    make_payment(session, account=world.account, amount="500.00", paid_at=shanghai(date(2024, 3, 5), 0))
    evaluate(session)
    assert ptp.status == PromiseStatus.kept


def test_payments_on_another_account_do_not_count(session, world):
    ptp = promise(session, world)
    other = make_world(session)
    make_payment(session, account=other.account, amount="500.00", paid_at=shanghai(DUE, 9))
    evaluate(session)
    assert ptp.status == PromiseStatus.broken


def test_evaluated_only_after_the_due_date(session, world):
    ptp = promise(session, world)
    assert evaluate(session, as_of=DUE)["evaluated"] == 0
    assert ptp.status == PromiseStatus.pending and world.case.status == CaseStatus.promised
    assert evaluate(session, as_of=DUE + timedelta(days=1))["evaluated"] == 1
    assert ptp.status == PromiseStatus.broken
    # Judged once: a later run leaves it alone.
    make_payment(session, account=world.account, amount="500.00", paid_at=shanghai(DUE, 9))
    assert evaluate(session, as_of=DUE + timedelta(days=5))["evaluated"] == 0
    assert ptp.status == PromiseStatus.broken


@pytest.mark.parametrize("paid,status", [(None, PromiseStatus.broken), ("100.00", PromiseStatus.partly_kept),
                                         ("500.00", PromiseStatus.kept)])
def test_the_case_goes_back_to_working_once_no_promise_is_pending(session, world, paid, status):
    promise(session, world)
    if paid:
        make_payment(session, account=world.account, amount=paid, paid_at=shanghai(DUE, 9))
    counts = evaluate(session)
    assert world.case.status == CaseStatus.working and counts["cases_back_to_working"] == 1
    change = session.scalars(select(CaseStatusChange).where(CaseStatusChange.case_id == world.case.id)
                             .order_by(CaseStatusChange.id.desc())).first()
    assert (change.from_status, change.to_status, change.changed_at) == ("promised", "working", EVAL_AT)
    assert str(status) in change.reason


def test_a_case_with_a_later_pending_promise_stays_promised(session, world):
    first = promise(session, world)
    second = promise(session, world, due=date(2024, 3, 20), at=PROMISE_AT + timedelta(days=1))
    counts = evaluate(session)
    assert first.status == PromiseStatus.broken and second.status == PromiseStatus.pending
    assert world.case.status == CaseStatus.promised and counts["cases_back_to_working"] == 0
    evaluate(session, as_of=date(2024, 3, 21))
    assert world.case.status == CaseStatus.working


def test_a_case_that_left_promised_is_not_moved(session, world):
    ptp = promise(session, world)
    world.case.status = CaseStatus.paid
    session.flush()
    evaluate(session)
    assert ptp.status == PromiseStatus.broken and world.case.status == CaseStatus.paid


def test_the_debtors_time_zone_decides_the_day(session):
    world = make_world(session)
    world.debtor.time_zone = "America/New_York"
    session.flush()
    at = datetime(2024, 3, 5, 15, 0, tzinfo=UTC)  # 10:00 on 5 March in New York
    ptp = promise(session, world, at=at)
    # 03:00 UTC on 11 March is still 10 March (23:00) in New York.
    make_payment(session, account=world.account, amount="500.00", paid_at=datetime(2024, 3, 11, 3, 0, tzinfo=UTC))
    evaluate(session, as_of=date(2024, 3, 11))
    assert ptp.status == PromiseStatus.kept


def test_the_job_function_uses_run_for_as_today(session, world):
    ptp = promise(session, world)
    result = evaluate_promises_job(session=session, run_for=DUE + timedelta(days=1))
    assert result["evaluated"] == 1 and ptp.status == PromiseStatus.broken
