"""reverse_payment on SQLite and PostgreSQL: balances restored to the fen, attribution
undone, refused twice, and the invariant under random payments and reversals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from factories_settlement import make_account, make_case, make_contract, pay
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from weiwai.errors import Conflict, NotFound, RuleViolation
from weiwai.payments.models import PaymentAttribution, PaymentReversal
from weiwai.payments.service import attribute_payments, reverse_payment
from weiwai.placements.models import CaseStatus, CloseReason
from weiwai.portfolio.models import AccountBalanceChange, AccountStatus, PaymentStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def components(account) -> tuple[Decimal, ...]:
    return (account.fee_outstanding, account.penalty_outstanding, account.interest_outstanding,
            account.principal_outstanding, account.credit_balance)


def test_reversal_restores_every_component_and_the_credit(session):
    account = make_account(session, principal="800.00", interest="120.50", fee="30.25", penalty="49.25")
    before = components(account)
    payment = pay(session, account=account, amount="1100.10", paid_at=local(2024, 3, 5, 10))
    assert account.total_outstanding == 0 and account.credit_balance == Decimal("100.10")
    assert account.status == AccountStatus.paid_off
    reversal = reverse_payment(session=session, txn_id=payment.txn_id, reason="退票 bounced", actor="test",
                               at=local(2024, 3, 7, 9), reference="BANK-1")
    assert components(account) == before
    assert account.status == AccountStatus.open
    assert payment.status == PaymentStatus.reversed
    assert (reversal.reason, reversal.reference, reversal.recorded_by) == ("退票 bounced", "BANK-1", "test")
    change = session.scalars(
        select(AccountBalanceChange).where(AccountBalanceChange.account_id == account.id,
                                           AccountBalanceChange.source == "reversal")
    ).one()
    assert change.delta_total == Decimal("1000.00")
    assert change.reference == payment.txn_id
    assert change.principal_outstanding == Decimal("800.00")


def test_reversal_undoes_the_attribution(session):
    account = make_account(session)
    make_case(session, account=account, contract=make_contract(session), placed_at=local(2024, 3, 1))
    payment = pay(session, account=account, amount="100.00", paid_at=local(2024, 3, 5))
    attribute_payments(session=session)
    at = local(2024, 3, 6)
    reverse_payment(session=session, txn_id=payment.txn_id, reason="bounced", actor="test", at=at)
    attribution = session.scalar(select(PaymentAttribution).where(PaymentAttribution.payment_id == payment.id))
    assert attribution.reversed_at == at


def test_reversing_twice_is_refused_and_changes_nothing(session):
    account = make_account(session)
    payment = pay(session, account=account, amount="100.00", paid_at=local(2024, 3, 5))
    reverse_payment(session=session, txn_id=payment.txn_id, reason="bounced", actor="test", at=local(2024, 3, 6))
    after_first = components(account)
    with pytest.raises(Conflict, match=payment.txn_id):
        reverse_payment(session=session, txn_id=payment.txn_id, reason="again", actor="test", at=local(2024, 3, 7))
    assert components(account) == after_first
    assert len(session.scalars(select(PaymentReversal).where(PaymentReversal.payment_id == payment.id)).all()) == 1


def test_a_reversed_payment_is_never_attributed(session):
    account = make_account(session)
    payment = pay(session, account=account, amount="100.00", paid_at=local(2024, 3, 5))
    reverse_payment(session=session, txn_id=payment.txn_id, reason="bounced", actor="test", at=local(2024, 3, 6))
    assert attribute_payments(session=session).attributed == 0


def test_paid_in_full_case_is_not_reopened(session):
    account = make_account(session, principal="100.00")
    case = make_case(session, account=account, contract=make_contract(session), placed_at=local(2024, 3, 1))
    payment = pay(session, account=account, amount="100.00", paid_at=local(2024, 3, 5))
    attribute_payments(session=session)
    assert case.close_reason == CloseReason.paid_in_full
    reverse_payment(session=session, txn_id=payment.txn_id, reason="bounced", actor="test", at=local(2024, 3, 9))
    # Operations decide on placing the account again; the closed case stays closed.
    assert (case.status, case.close_reason) == (CaseStatus.closed, CloseReason.paid_in_full)
    assert account.status == AccountStatus.open and account.total_outstanding == Decimal("100.00")


def test_reversal_refuses_when_the_credit_was_used_since(session):
    account = make_account(session, principal="100.00")
    payment = pay(session, account=account, amount="150.00", paid_at=local(2024, 3, 5))
    account.credit_balance = Decimal("10.00")  # 40.00 of the credit was refunded meanwhile
    session.flush()
    with pytest.raises(RuleViolation):
        reverse_payment(session=session, txn_id=payment.txn_id, reason="bounced", actor="test", at=local(2024, 3, 6))


def test_reversal_cannot_precede_the_payment_nor_name_an_unknown_one(session):
    account = make_account(session)
    payment = pay(session, account=account, amount="100.00", paid_at=local(2024, 3, 5, 12))
    with pytest.raises(RuleViolation):
        reverse_payment(session=session, txn_id=payment.txn_id, reason="x", actor="test", at=local(2024, 3, 5, 11))
    with pytest.raises(NotFound):
        reverse_payment(session=session, txn_id="NO-SUCH-TXN", reason="x", actor="test")
    with pytest.raises(RuleViolation):
        reverse_payment(session=session, txn_id=payment.txn_id, reason="  ", actor="test")


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("3000.00"), places=2)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    balance=st.tuples(amounts, amounts, st.sampled_from([Decimal("0.00"), Decimal("12.34")]), amounts),
    payments=st.lists(st.tuples(amounts, st.booleans()), min_size=1, max_size=8),
)
def test_payments_less_reversals_equal_balance_reduction_plus_credit(session, balance, payments):
    """Σ payments − Σ reversed = reduction of outstanding + credit added, to the fen."""
    principal, interest, fee, penalty = balance
    account = make_account(session, principal=str(principal), interest=str(interest), fee=str(fee),
                           penalty=str(penalty))
    make_case(session, account=account, contract=make_contract(session), placed_at=local(2024, 1, 1))
    start_total, start_credit = account.total_outstanding, account.credit_balance
    made, reversed_total = [], Decimal("0.00")
    for i, (amount, _bounce) in enumerate(payments):
        made.append(pay(session, account=account, amount=amount, paid_at=local(2024, 2, 1) + timedelta(hours=i)))
    attribute_payments(session=session)
    # Reverse newest first, as a bank would after the credit they created was still there.
    for payment, (_amount, bounce) in reversed(list(zip(made, payments, strict=True))):
        if bounce:
            reverse_payment(session=session, txn_id=payment.txn_id, reason="bounced", actor="test",
                            at=local(2024, 3, 1))
            reversed_total += payment.amount
    paid_total = sum((p.amount for p in made), Decimal("0.00"))
    reduction = start_total - account.total_outstanding
    credit_added = account.credit_balance - start_credit
    assert paid_total - reversed_total == reduction + credit_added
    assert min(components(account)) >= 0
    history = session.scalars(
        select(AccountBalanceChange.delta_total).where(AccountBalanceChange.account_id == account.id)
    ).all()
    assert -sum(history, Decimal("0.00")) == reduction
