"""Judging a promise to pay from the payments by local day."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from weiwai.collection.models import PromiseStatus
from weiwai.collection.promises import evaluate_promise

PROMISED = date(2024, 3, 5)
DUE = date(2024, 3, 10)
AMOUNT = Decimal("500.00")
AFTER = DUE + timedelta(days=1)


def judge(payments, as_of=AFTER, amount=AMOUNT):
    return evaluate_promise(amount, DUE, payments, as_of, promised_on=PROMISED)


def test_paid_in_full_on_the_due_day_is_kept():
    assert judge({DUE: Decimal("500.00")}) == (PromiseStatus.kept, Decimal("500.00"))


def test_paid_the_day_after_the_due_day_is_broken():
    assert judge({AFTER: Decimal("500.00")}, as_of=AFTER + timedelta(days=1)) == (PromiseStatus.broken, Decimal("0.00"))


def test_part_paid_is_partly_kept():
    assert judge({DUE: Decimal("200.00")}) == (PromiseStatus.partly_kept, Decimal("200.00"))


def test_several_payments_add_up():
    payments = {PROMISED: Decimal("100.00"), date(2024, 3, 7): Decimal("150.50"), DUE: Decimal("249.50")}
    assert judge(payments) == (PromiseStatus.kept, Decimal("500.00"))


def test_more_than_promised_is_kept_and_reported():
    assert judge({DUE: Decimal("800.00")}) == (PromiseStatus.kept, Decimal("800.00"))


def test_payments_before_the_promise_day_do_not_count():
    payments = {PROMISED - timedelta(days=1): Decimal("500.00"), PROMISED: Decimal("10.00")}
    assert judge(payments) == (PromiseStatus.partly_kept, Decimal("10.00"))


def test_nothing_paid_is_broken():
    assert judge({}) == (PromiseStatus.broken, Decimal("0.00"))


def test_pending_until_the_due_date_has_passed():
    assert judge({}, as_of=DUE) == (PromiseStatus.pending, Decimal("0.00"))
    assert judge({PROMISED: Decimal("600.00")}, as_of=DUE)[0] == PromiseStatus.pending
    assert judge({}, as_of=AFTER)[0] == PromiseStatus.broken


def test_pending_reports_what_was_paid_so_far():
    payments = {PROMISED: Decimal("100.00"), date(2024, 3, 8): Decimal("50.00")}
    assert judge(payments, as_of=date(2024, 3, 7)) == (PromiseStatus.pending, Decimal("100.00"))


@given(st.lists(st.tuples(st.integers(-3, 8), st.integers(0, 100_000)), max_size=8))
def test_status_follows_the_sum_in_the_window(raw):
    payments: dict[date, Decimal] = {}
    for offset, fen in raw:
        day = PROMISED + timedelta(days=offset)
        payments[day] = payments.get(day, Decimal("0.00")) + Decimal(fen) / 100
    in_window = sum((v for d, v in payments.items() if PROMISED <= d <= DUE), Decimal("0.00"))
    status, paid = judge(payments)
    assert paid == in_window
    expected = (PromiseStatus.kept if in_window >= AMOUNT
                else PromiseStatus.partly_kept if in_window > 0 else PromiseStatus.broken)
    assert status == expected
