"""Accounts as of a date, the filtered and paginated list, and an account's history."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from factories import make_account, make_balance_change, make_debtor, make_payment
from weiwai.errors import NotFound, RuleViolation
from weiwai.portfolio import service
from weiwai.portfolio.models import AccountStatus, BalanceChangeSource
from weiwai.portfolio.schemas import AccountFilters

AS_OF = date(2024, 6, 30)


def test_account_has_days_past_due_bucket_and_total_as_of_a_date(session):
    make_account(
        session, account_no="A-1", principal="1000.00", interest="12.34", fee="5.00", penalty="0.66",
        due_date=AS_OF - timedelta(days=45),
    )
    read = service.get_account(session=session, account_no="A-1", as_of=AS_OF)
    assert (read.days_past_due, read.bucket) == (45, "M2")
    assert read.total_outstanding == Decimal("1018.00")
    assert read.as_of == AS_OF

    earlier = service.get_account(session=session, account_no="A-1", as_of=AS_OF - timedelta(days=40))
    assert (earlier.days_past_due, earlier.bucket) == (5, "M1")


def test_closed_and_zero_balance_accounts_are_not_past_due(session):
    long_ago = AS_OF - timedelta(days=400)
    make_account(session, account_no="PAID", principal="0.00", due_date=long_ago, status=AccountStatus.paid_off)
    make_account(session, account_no="ZERO", principal="0.00", due_date=long_ago)
    make_account(session, account_no="WO", principal="500.00", due_date=long_ago, status=AccountStatus.written_off)
    for account_no in ("PAID", "ZERO", "WO"):
        read = service.get_account(session=session, account_no=account_no, as_of=AS_OF)
        assert (read.days_past_due, read.bucket) == (0, "M0"), account_no


def test_unknown_account_is_not_found(session):
    with pytest.raises(NotFound):
        service.get_account(session=session, account_no="NOPE", as_of=AS_OF)
    with pytest.raises(NotFound):
        service.account_history(session=session, account_no="NOPE")


def test_money_is_decimal_and_serialises_as_strings(session):
    make_account(session, account_no="M-1", principal="100.10", interest="0.2")
    read = service.get_account(session=session, account_no="M-1", as_of=AS_OF)
    assert isinstance(read.total_outstanding, Decimal)
    data = read.model_dump(mode="json")
    assert data["total_outstanding"] == "100.30"
    assert data["interest_outstanding"] == "0.20"


@pytest.fixture
def book(session):
    """Six accounts across buckets, grades, regions, products and statuses."""
    north = make_debtor(session, region="北京", credit_grade="A")
    south = make_debtor(session, region="广东", credit_grade="C")
    specs = [
        ("B-01", north, "cash_loan", "100.00", 0, AccountStatus.open),  # due today: M0
        ("B-02", north, "cash_loan", "250.50", 10, AccountStatus.open),  # M1
        ("B-03", south, "consumer", "999.99", 45, AccountStatus.open),  # M2
        ("B-04", south, "consumer", "3000.00", 200, AccountStatus.open),  # M7+
        ("B-05", south, "cash_loan", "0.00", 300, AccountStatus.paid_off),  # M0
        ("B-06", north, "consumer", "120.00", 95, AccountStatus.open),  # M4
    ]
    for account_no, debtor, product, principal, days, status in specs:
        make_account(
            session, account_no=account_no, debtor=debtor, product=product, principal=principal,
            due_date=AS_OF - timedelta(days=days), status=status,
        )
    return specs


def _numbers(page) -> list[str]:
    return [item.account_no for item in page.items]


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({}, {"B-01", "B-02", "B-03", "B-04", "B-05", "B-06"}),
        ({"bucket": "M1"}, {"B-02"}),
        ({"bucket": "M0"}, {"B-01", "B-05"}),
        ({"bucket": "M7+"}, {"B-04"}),
        ({"credit_grade": "A"}, {"B-01", "B-02", "B-06"}),
        ({"region": "广东"}, {"B-03", "B-04", "B-05"}),
        ({"product": "consumer"}, {"B-03", "B-04", "B-06"}),
        ({"status": "paid_off"}, {"B-05"}),
        ({"min_balance": "250.50"}, {"B-02", "B-03", "B-04"}),
        ({"max_balance": "250.50"}, {"B-01", "B-02", "B-05", "B-06"}),
        ({"min_balance": "100.00", "max_balance": "999.99"}, {"B-01", "B-02", "B-03", "B-06"}),
        ({"min_dpd": 10, "max_dpd": 95}, {"B-02", "B-03", "B-06"}),
        ({"min_dpd": 1}, {"B-02", "B-03", "B-04", "B-06"}),
        ({"max_dpd": 0}, {"B-01", "B-05"}),
        ({"region": "北京", "bucket": "M4", "product": "consumer"}, {"B-06"}),
        ({"region": "上海"}, set()),
    ],
)
def test_list_filters(session, book, filters, expected):
    page = service.list_accounts(session=session, as_of=AS_OF, filters=AccountFilters(**filters), limit=200)
    assert set(_numbers(page)) == expected
    assert page.total == len(expected)


def test_balance_filters_are_exact_to_the_fen(session):
    # 0.1 + 0.2 is not 0.3 in binary floating point; the filter must still match.
    make_account(session, account_no="F-1", principal="0.10", interest="0.20")
    page = service.list_accounts(
        session=session, as_of=AS_OF, filters=AccountFilters(min_balance="0.30", max_balance="0.30")
    )
    assert _numbers(page) == ["F-1"]


def test_list_is_most_past_due_first_and_paginates(session, book):
    first = service.list_accounts(session=session, as_of=AS_OF, offset=0, limit=4)
    second = service.list_accounts(session=session, as_of=AS_OF, offset=4, limit=4)
    assert first.total == second.total == 6
    assert _numbers(first) == ["B-04", "B-06", "B-03", "B-02"]
    # Ties (0 days past due) are ordered by account number.
    assert _numbers(second) == ["B-01", "B-05"]
    assert (second.offset, second.limit) == (4, 4)
    beyond = service.list_accounts(session=session, as_of=AS_OF, offset=10, limit=4)
    assert beyond.items == [] and beyond.total == 6


def test_list_items_carry_the_as_of_figures(session, book):
    page = service.list_accounts(session=session, as_of=AS_OF, filters=AccountFilters(bucket="M2"))
    (item,) = page.items
    assert (item.days_past_due, item.bucket, item.region, item.credit_grade) == (45, "M2", "广东", "C")


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"filters": AccountFilters(bucket="M9")}, "unknown_bucket"),
        ({"limit": 0}, "invalid_limit"),
        ({"limit": 201}, "invalid_limit"),
        ({"offset": -1}, "invalid_offset"),
    ],
)
def test_list_refuses_bad_arguments(session, kwargs, code):
    with pytest.raises(RuleViolation) as caught:
        service.list_accounts(session=session, as_of=AS_OF, **kwargs)
    assert caught.value.code == code


def test_blank_filter_values_mean_any():
    filters = AccountFilters(bucket="", region="  ", status="", min_dpd="")
    assert filters == AccountFilters()


def test_history_is_newest_first_with_payments(session):
    account = make_account(session, account_no="H-1", principal="900.00")
    base = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
    make_balance_change(session, account=account, changed_at=base, delta_total="1000.00")
    make_balance_change(
        session, account=account, changed_at=base + timedelta(days=30), delta_total="-100.00",
        source=BalanceChangeSource.payment, reference="TX1",
    )
    make_payment(session, account=account, amount="60.00", paid_at=base + timedelta(days=29))
    make_payment(session, account=account, amount="40.00", paid_at=base + timedelta(days=30))
    other = make_account(session, account_no="H-2")
    make_payment(session, account=other, amount="1.00")

    history = service.account_history(session=session, account_no="H-1")

    assert [change.delta_total for change in history.changes] == [Decimal("-100.00"), Decimal("1000.00")]
    assert history.changes[0].source == "payment" and history.changes[0].reference == "TX1"
    assert history.changes[0].total_outstanding == Decimal("900.00")
    assert [payment.amount for payment in history.payments] == [Decimal("40.00"), Decimal("60.00")]
    assert history.payments[0].paid_at.tzinfo is not None
