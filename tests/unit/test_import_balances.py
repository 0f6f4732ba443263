from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weiwai.errors import RuleViolation
from weiwai.portfolio.balances import (
    COMPONENTS,
    Allocation,
    Balances,
    allocation_of,
    apply_payment,
    balances_of,
    reverse_payment,
    store_balances,
)

D = Decimal
WATERFALL = ["fee", "penalty", "interest", "principal"]

fen_amounts = st.integers(min_value=0, max_value=10**9).map(lambda fen: D(fen).scaleb(-2))
balances = st.builds(
    Balances, principal=fen_amounts, interest=fen_amounts, fee=fen_amounts, penalty=fen_amounts, credit=fen_amounts
)
waterfalls = st.permutations(list(COMPONENTS))


def test_waterfall_pays_components_in_order():
    before = Balances(principal=D("100.00"), interest=D("20.00"), fee=D("5.00"), penalty=D("10.00"))
    after, allocation = apply_payment(before, D("30.00"), waterfall=WATERFALL)
    assert allocation == Allocation(fee=D("5.00"), penalty=D("10.00"), interest=D("15.00"))
    assert after == Balances(principal=D("100.00"), interest=D("5.00"), fee=D("0.00"), penalty=D("0.00"))


def test_another_waterfall_order_is_respected():
    before = Balances(principal=D("100.00"), interest=D("20.00"), fee=D("5.00"), penalty=D("10.00"))
    _after, allocation = apply_payment(before, D("30.00"), waterfall=["principal", "interest", "fee", "penalty"])
    assert allocation == Allocation(principal=D("30.00"))


def test_waterfall_defaults_to_settings(monkeypatch):
    from weiwai.config import get_settings

    monkeypatch.setattr(get_settings(), "payment_waterfall", ["interest", "principal", "fee", "penalty"])
    before = Balances(principal=D("10.00"), interest=D("3.00"), fee=D("5.00"), penalty=D("0.00"))
    _after, allocation = apply_payment(before, D("4.00"))
    assert allocation == Allocation(interest=D("3.00"), principal=D("1.00"))


def test_overpayment_becomes_credit():
    before = Balances(principal=D("1.00"), interest=D("0.50"), fee=D("0.00"), penalty=D("0.00"), credit=D("2.00"))
    after, allocation = apply_payment(before, D("10.00"), waterfall=WATERFALL)
    assert after.total_outstanding == 0
    assert allocation.credit == D("8.50")
    assert after.credit == D("10.50")


@pytest.mark.parametrize("amount", [D("-1.00"), D("1.001")])
def test_bad_amounts_are_refused(amount):
    with pytest.raises(ValueError):
        apply_payment(Balances(D("1.00"), D("0"), D("0"), D("0")), amount, waterfall=WATERFALL)


def test_floats_are_refused():
    with pytest.raises(TypeError):
        Balances(principal=1.0, interest=D("0"), fee=D("0"), penalty=D("0"))


def test_incomplete_waterfall_is_refused():
    with pytest.raises(ValueError):
        apply_payment(Balances(D("1.00"), D("0"), D("0"), D("0")), D("1.00"), waterfall=["fee", "principal"])


@given(before=balances, amount=fen_amounts, waterfall=waterfalls)
def test_payment_is_conserved_to_the_fen(before, amount, waterfall):
    after, allocation = apply_payment(before, amount, waterfall=waterfall)
    assert allocation.total == amount
    reduction = before.total_outstanding - after.total_outstanding
    assert amount == reduction + (after.credit - before.credit)
    for component in COMPONENTS:
        assert getattr(after, component) >= 0
        assert getattr(before, component) - getattr(after, component) == getattr(allocation, component)


@given(before=balances, amount=fen_amounts, waterfall=waterfalls)
def test_a_component_is_paid_only_when_earlier_ones_are_cleared(before, amount, waterfall):
    after, allocation = apply_payment(before, amount, waterfall=waterfall)
    for position, component in enumerate(waterfall):
        if getattr(allocation, component) > 0:
            assert all(getattr(after, earlier) == 0 for earlier in waterfall[:position])
    if allocation.credit > 0:
        assert after.total_outstanding == 0


@given(before=balances, amount=fen_amounts, waterfall=waterfalls)
def test_reverse_restores_exactly(before, amount, waterfall):
    after, allocation = apply_payment(before, amount, waterfall=waterfall)
    assert reverse_payment(after, allocation) == before


def test_reverse_refuses_when_the_credit_is_gone():
    before = Balances(principal=D("1.00"), interest=D("0"), fee=D("0"), penalty=D("0"))
    after, allocation = apply_payment(before, D("5.00"), waterfall=WATERFALL)
    spent = Balances(principal=after.principal, interest=after.interest, fee=after.fee, penalty=after.penalty)
    with pytest.raises(RuleViolation):
        reverse_payment(spent, allocation)


def test_round_trip_through_model_rows():
    from weiwai.portfolio.models import Account, Payment

    account = Account(
        principal_outstanding=D("10.00"),
        interest_outstanding=D("1.00"),
        fee_outstanding=D("0.50"),
        penalty_outstanding=D("0.25"),
        credit_balance=D("0.00"),
    )
    after, allocation = apply_payment(balances_of(account), D("2.00"), waterfall=WATERFALL)
    store_balances(account, after)
    payment = Payment(
        applied_fee=allocation.fee,
        applied_penalty=allocation.penalty,
        applied_interest=allocation.interest,
        applied_principal=allocation.principal,
        applied_credit=allocation.credit,
    )
    assert account.interest_outstanding == D("0.00") and account.principal_outstanding == D("9.75")
    assert reverse_payment(balances_of(account), allocation_of(payment)) == Balances(
        principal=D("10.00"), interest=D("1.00"), fee=D("0.50"), penalty=D("0.25")
    )
