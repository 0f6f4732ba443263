"""The one-account delinquency rule and money conversions used by the read side."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weiwai.portfolio.models import Account, AccountStatus
from weiwai.portfolio.schemas import AccountPage
from weiwai.portfolio.service import account_days_past_due, fen_to_money

AS_OF = date(2024, 6, 30)


def _account(status=AccountStatus.open, due=date(2024, 5, 1), principal="100.00", interest="0.00") -> Account:
    return Account(
        status=status,
        due_date=due,
        principal_outstanding=Decimal(principal),
        interest_outstanding=Decimal(interest),
        fee_outstanding=Decimal("0.00"),
        penalty_outstanding=Decimal("0.00"),
    )


@pytest.mark.parametrize(
    "account, expected",
    [
        (_account(), 60),
        (_account(due=AS_OF), 0),
        (_account(due=date(2024, 7, 5)), 0),
        (_account(due=None), 0),
        (_account(principal="0.00"), 0),
        (_account(principal="0.00", interest="0.01"), 60),
        (_account(status=AccountStatus.written_off), 0),
        (_account(status=AccountStatus.closed), 0),
        (_account(status=AccountStatus.paid_off, principal="0.00"), 0),
    ],
)
def test_only_open_accounts_with_a_balance_are_past_due(account, expected):
    assert account_days_past_due(account, AS_OF) == expected


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_fen_round_trip_is_exact(fen):
    amount = fen_to_money(fen)
    assert amount == Decimal(fen) / 100
    assert amount.as_tuple().exponent == -2


def test_fen_of_nothing_is_zero():
    assert fen_to_money(None) == Decimal("0.00")


def test_empty_page_serialises():
    assert AccountPage(items=[], total=0, offset=0, limit=50).model_dump(mode="json") == {
        "items": [], "total": 0, "offset": 0, "limit": 50
    }
