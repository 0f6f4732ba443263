"""attribute_payments on SQLite and PostgreSQL: the edges of case / grace / direct,
partial and over-payments, cases paid off, idempotency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from factories_settlement import end_case, make_account, make_case, make_contract, pay
from sqlalchemy import select

from weiwai.payments.models import AttributionKind, PaymentAttribution
from weiwai.payments.service import attribute_payments
from weiwai.placements.models import CaseStatus, CaseStatusChange, CloseReason
from weiwai.portfolio.models import AccountStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def attribution_of(session, payment) -> PaymentAttribution:
    return session.scalar(select(PaymentAttribution).where(PaymentAttribution.payment_id == payment.id))


def recalled_case(session, *, grace_days=5, recall_at=local(2024, 3, 10, 14), to=CaseStatus.recalled):
    contract = make_contract(session, grace_days=grace_days)
    account = make_account(session, principal="5000.00")
    case = make_case(session, account=account, contract=contract, placed_at=local(2024, 3, 1, 9))
    end_case(session, case, to=to, at=recall_at)
    return account, case


def test_payment_while_open_is_attributed_to_the_case(session):
    contract = make_contract(session)
    account = make_account(session)
    case = make_case(session, account=account, contract=contract, placed_at=local(2024, 3, 1, 9))
    payment = pay(session, account=account, amount="300.00", paid_at=local(2024, 3, 5, 10))
    summary = attribute_payments(session=session)
    row = attribution_of(session, payment)
    assert (row.kind, row.case_id, row.agency_id, row.amount) == ("case", case.id, case.agency_id, Decimal("300.00"))
    assert summary.attributed == 1 and summary.by_kind["case"] == 1
    # Partial payment: the case stays open with the agency.
    assert case.status == CaseStatus.placed
    assert account.total_outstanding == Decimal("700.00")


def test_recall_day_before_and_after_the_recall_moment(session):
    recall = local(2024, 3, 10, 14)
    account, case = recalled_case(session, grace_days=0, recall_at=recall)
    before = pay(session, account=account, amount="10.00", paid_at=recall - timedelta(seconds=1))
    after = pay(session, account=account, amount="10.00", paid_at=recall + timedelta(seconds=1))
    attribute_payments(session=session)
    assert attribution_of(session, before).kind == AttributionKind.case
    assert (attribution_of(session, after).kind, attribution_of(session, after).case_id) == ("grace", case.id)


def test_last_grace_day_and_the_day_after(session):
    account, case = recalled_case(session, grace_days=5)
    last_day = pay(session, account=account, amount="10.00", paid_at=local(2024, 3, 15, 23, 59, 59))
    day_after = pay(session, account=account, amount="10.00", paid_at=local(2024, 3, 16, 0, 0, 0))
    attribute_payments(session=session)
    assert attribution_of(session, last_day).kind == AttributionKind.grace
    assert attribution_of(session, last_day).agency_id == case.agency_id
    direct = attribution_of(session, day_after)
    assert (direct.kind, direct.case_id, direct.agency_id) == ("direct", None, None)


def test_after_expiry_within_grace(session):
    account, case = recalled_case(session, grace_days=3, recall_at=local(2024, 5, 31, 23, 59), to=CaseStatus.expired)
    payment = pay(session, account=account, amount="10.00", paid_at=local(2024, 6, 3, 8))
    attribute_payments(session=session)
    assert (attribution_of(session, payment).kind, attribution_of(session, payment).case_id) == ("grace", case.id)


def test_no_case_ever_is_direct(session):
    account = make_account(session)
    payment = pay(session, account=account, amount="10.00", paid_at=local(2024, 3, 5))
    summary = attribute_payments(session=session)
    assert attribution_of(session, payment).kind == AttributionKind.direct
    assert summary.by_kind == {"case": 0, "grace": 0, "direct": 1}


def test_two_successive_cases_with_different_agencies(session):
    account, first = recalled_case(session, grace_days=5)
    second = make_case(session, account=account, contract=make_contract(session), placed_at=local(2024, 3, 12, 9))
    assert first.agency_id != second.agency_id
    in_grace = pay(session, account=account, amount="10.00", paid_at=local(2024, 3, 11, 9))
    with_second = pay(session, account=account, amount="10.00", paid_at=local(2024, 3, 13, 9))
    attribute_payments(session=session)
    assert attribution_of(session, in_grace).agency_id == first.agency_id
    assert attribution_of(session, with_second).kind == AttributionKind.case
    assert attribution_of(session, with_second).agency_id == second.agency_id


def test_over_payment_closes_the_case_paid_in_full_and_keeps_the_credit(session):
    contract = make_contract(session)
    account = make_account(session, principal="900.00", interest="60.00", fee="40.00")
    case = make_case(session, account=account, contract=contract, placed_at=local(2024, 3, 1, 9))
    paid_at = local(2024, 3, 20, 11)
    payment = pay(session, account=account, amount="1200.00", paid_at=paid_at)
    summary = attribute_payments(session=session)
    assert (payment.applied_fee, payment.applied_interest, payment.applied_principal, payment.applied_credit) == (
        Decimal("40.00"), Decimal("60.00"), Decimal("900.00"), Decimal("200.00"))
    assert account.credit_balance == Decimal("200.00") and account.status == AccountStatus.paid_off
    # The recovery is what reduced the debt; the credit is the debtor's money.
    assert attribution_of(session, payment).amount == Decimal("1000.00")
    assert summary.cases_paid == [case.case_no]
    assert (case.status, case.close_reason) == (CaseStatus.closed, CloseReason.paid_in_full)
    assert case.ended_at == paid_at  # the moment the balance reached zero, not when attribution ran
    history = session.scalars(
        select(CaseStatusChange.to_status).where(CaseStatusChange.case_id == case.id).order_by(CaseStatusChange.id)
    ).all()
    assert history == ["paid", "closed"]


def test_a_later_payment_on_the_paid_off_account_is_direct(session):
    contract = make_contract(session, grace_days=30)
    account = make_account(session, principal="100.00")
    make_case(session, account=account, contract=contract, placed_at=local(2024, 3, 1, 9))
    pay(session, account=account, amount="100.00", paid_at=local(2024, 3, 5))
    attribute_payments(session=session)
    later = pay(session, account=account, amount="5.00", paid_at=local(2024, 3, 6))
    attribute_payments(session=session)
    row = attribution_of(session, later)
    # The case ended paid, not handed back: no grace, and nothing was recovered anyway.
    assert (row.kind, row.amount) == ("direct", Decimal("0.00"))


def test_attribution_is_idempotent_and_can_be_limited_to_some_payments(session):
    account = make_account(session)
    first = pay(session, account=account, amount="10.00", paid_at=local(2024, 3, 5))
    second = pay(session, account=account, amount="10.00", paid_at=local(2024, 3, 6))
    assert attribute_payments(session=session, payment_ids=[first.id]).attributed == 1
    assert attribution_of(session, second) is None
    assert attribute_payments(session=session, payment_ids=[first.id]).attributed == 0
    assert attribute_payments(session=session).attributed == 1
    assert attribute_payments(session=session).attributed == 0
    rows = session.scalars(select(PaymentAttribution.payment_id)).all()
    assert sorted(rows) == sorted([first.id, second.id])  # one attribution per payment
