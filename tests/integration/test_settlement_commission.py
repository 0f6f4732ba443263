"""compute_commission on SQLite and PostgreSQL: rates, tiers as of period end, rounding,
periods in the lender's time zone, grace, never on direct money, fixed fees once per
case, idempotency."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from factories_settlement import end_case, make_account, make_batch, make_case, make_contract, pay
from sqlalchemy import select

from weiwai.agencies.fees import commission_on
from weiwai.agencies.schemas import FeeSchedule
from weiwai.payments.service import attribute_payments, reverse_payment
from weiwai.placements.models import CaseStatus
from weiwai.settlement.ledger import compute_commission
from weiwai.settlement.models import CommissionEntry

SHANGHAI = ZoneInfo("Asia/Shanghai")
TIERS = [("0.30", "0.02"), ("0.60", "0.05")]


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def entries(session, kind: str | None = None) -> list[CommissionEntry]:
    query = select(CommissionEntry).order_by(CommissionEntry.id)
    if kind:
        query = query.where(CommissionEntry.kind == kind)
    return list(session.scalars(query))


def placed(session, *, contract, batch=None, principal="1000.00", bucket="M2"):
    account = make_account(session, principal=principal)
    case = make_case(session, account=account, contract=contract, batch=batch, bucket=bucket,
                     placed_at=local(2023, 12, 20))
    return account, case


def test_commission_at_the_bucket_rate_rounded_half_up(session):
    contract = make_contract(session)
    account, case = placed(session, contract=contract)
    payment = pay(session, account=account, amount="33.70", paid_at=local(2024, 1, 10))
    attribute_payments(session=session)
    run = compute_commission(session=session, period="2024-01")
    [entry] = entries(session)
    # 33.70 × 0.15 = 5.055 → 5.06 (half up), on both backends.
    assert (entry.kind, entry.amount, entry.rate, entry.base_amount) == (
        "commission", Decimal("5.06"), Decimal("0.150000"), Decimal("33.70"))
    assert (entry.agency_id, entry.contract_id, entry.case_id, entry.payment_id) == (
        case.agency_id, contract.id, case.id, payment.id)
    assert (entry.source_key, entry.period, entry.statement_id) == (f"commission:payment:{payment.id}", "2024-01", None)
    assert (run.commission_entries, run.commission_amount) == (1, Decimal("5.06"))


def test_amounts_match_the_fee_rules_for_many_payments(session):
    contract = make_contract(session, tiers=TIERS)
    batch = make_batch(session)
    schedule = FeeSchedule.model_validate(contract.fee_schedule)
    cents = ["0.01", "0.05", "1.03", "33.70", "10.10", "99.99", "123.45", "0.07", "66.67", "250.00"]
    for i, amount in enumerate(cents):
        account, _ = placed(session, contract=contract, batch=batch, bucket=["M1", "M2", "M3"][i % 3])
        pay(session, account=account, amount=amount, paid_at=local(2024, 1, 2 + i))
    attribute_payments(session=session)
    compute_commission(session=session, period="2024-01")
    recovery_rate = sum(Decimal(c) for c in cents) / Decimal("10000.00")
    for entry in entries(session):
        case_bucket = ["M1", "M2", "M3"][cents.index(str(entry.base_amount))  % 3]
        assert entry.amount == commission_on(schedule, bucket=case_bucket, recovered=entry.base_amount,
                                             recovery_rate=recovery_rate)


def test_tiers_use_the_cohort_recovery_rate_as_of_each_period_end(session):
    contract = make_contract(session, tiers=TIERS)
    batch = make_batch(session)
    first, _ = placed(session, contract=contract, batch=batch)
    second, _ = placed(session, contract=contract, batch=batch)  # cohort balance placed: 2,000.00
    pay(session, account=first, amount="700.00", paid_at=local(2024, 1, 15))
    pay(session, account=second, amount="600.00", paid_at=local(2024, 2, 15))
    attribute_payments(session=session)
    compute_commission(session=session, period="2024-01")
    compute_commission(session=session, period="2024-02")
    january, february = entries(session)
    # End of January: 700 / 2000 = 35 % ≥ 30 % → 0.15 + 0.02.
    assert (january.period, january.rate, january.amount) == ("2024-01", Decimal("0.170000"), Decimal("119.00"))
    # End of February: 1300 / 2000 = 65 % ≥ 60 % → 0.15 + 0.05 (January's entry is not revisited).
    assert (february.period, february.rate, february.amount) == ("2024-02", Decimal("0.200000"), Decimal("120.00"))


def test_cohorts_are_per_batch_and_agency(session):
    contract = make_contract(session, tiers=TIERS)
    good, _ = placed(session, contract=contract, batch=make_batch(session))
    weak, _ = placed(session, contract=contract, batch=make_batch(session))
    pay(session, account=good, amount="900.00", paid_at=local(2024, 1, 5))
    pay(session, account=weak, amount="100.00", paid_at=local(2024, 1, 5))
    attribute_payments(session=session)
    compute_commission(session=session, period="2024-01")
    assert sorted(entry.rate for entry in entries(session)) == [Decimal("0.150000"), Decimal("0.200000")]


def test_period_is_the_lenders_local_month(session):
    contract = make_contract(session)
    account, _ = placed(session, contract=contract)
    january = pay(session, account=account, amount="10.00", paid_at=local(2024, 1, 31, 23, 30))
    february = pay(session, account=account, amount="20.00", paid_at=local(2024, 2, 1, 0, 10))  # Jan 31 in UTC
    attribute_payments(session=session)
    compute_commission(session=session, period="2024-01")
    assert [entry.payment_id for entry in entries(session)] == [january.id]
    compute_commission(session=session, period="2024-02")
    assert [(entry.payment_id, entry.period) for entry in entries(session)] == [
        (january.id, "2024-01"), (february.id, "2024-02")]


def test_grace_earns_for_the_agency_that_was_recalled(session):
    contract = make_contract(session, grace_days=7)
    account, case = placed(session, contract=contract)
    end_case(session, case, to=CaseStatus.recalled, at=local(2024, 1, 10))
    pay(session, account=account, amount="100.00", paid_at=local(2024, 1, 12))
    attribute_payments(session=session)
    compute_commission(session=session, period="2024-01")
    [entry] = entries(session)
    assert (entry.agency_id, entry.case_id, entry.amount) == (case.agency_id, case.id, Decimal("15.00"))


def test_no_commission_on_direct_or_unattributed_money(session):
    contract = make_contract(session)
    account, case = placed(session, contract=contract)
    end_case(session, case, to=CaseStatus.recalled, at=local(2024, 1, 10))
    pay(session, account=account, amount="100.00", paid_at=local(2024, 1, 20))  # grace 0: direct
    attribute_payments(session=session)
    other, _ = placed(session, contract=contract)
    pay(session, account=other, amount="100.00", paid_at=local(2024, 1, 21))  # never attributed
    run = compute_commission(session=session, period="2024-01")
    assert entries(session) == [] and run.commission_entries == 0


def test_no_commission_on_the_credit_part_of_an_over_payment(session):
    contract = make_contract(session)
    account, _ = placed(session, contract=contract, principal="100.00")
    pay(session, account=account, amount="150.00", paid_at=local(2024, 1, 5))
    attribute_payments(session=session)
    compute_commission(session=session, period="2024-01")
    [entry] = entries(session, "commission")
    assert (entry.base_amount, entry.amount) == (Decimal("100.00"), Decimal("15.00"))


def test_payment_reversed_before_month_end_earns_nothing_and_needs_no_clawback(session):
    contract = make_contract(session)
    account, _ = placed(session, contract=contract)
    payment = pay(session, account=account, amount="100.00", paid_at=local(2024, 1, 5))
    attribute_payments(session=session)
    reverse_payment(session=session, txn_id=payment.txn_id, reason="bounced", actor="test", at=local(2024, 1, 8))
    compute_commission(session=session, period="2024-01")
    assert entries(session) == []


def test_fixed_fee_once_per_case_closed_paid_in_full(session):
    contract = make_contract(session, fixed_fee="50.00")
    account, case = placed(session, contract=contract, principal="100.00")
    pay(session, account=account, amount="100.00", paid_at=local(2024, 1, 5))
    attribute_payments(session=session)
    first = compute_commission(session=session, period="2024-01")
    compute_commission(session=session, period="2024-01")
    compute_commission(session=session, period="2024-02")
    fees = entries(session, "fixed_fee")
    assert (first.fixed_fee_entries, first.fixed_fee_amount) == (1, Decimal("50.00"))
    assert [(fee.case_id, fee.amount, fee.period, fee.source_key) for fee in fees] == [
        (case.id, Decimal("50.00"), "2024-01", f"fixed_fee:case:{case.id}")]


def test_no_fixed_fee_for_recalled_cases_or_without_one_in_the_contract(session):
    with_fee = make_contract(session, fixed_fee="50.00")
    account, case = placed(session, contract=with_fee)
    end_case(session, case, to=CaseStatus.recalled, at=local(2024, 1, 10))
    no_fee = make_contract(session)
    paid_account, _ = placed(session, contract=no_fee, principal="10.00")
    pay(session, account=paid_account, amount="10.00", paid_at=local(2024, 1, 5))
    attribute_payments(session=session)
    compute_commission(session=session, period="2024-01")
    assert entries(session, "fixed_fee") == []


def test_compute_commission_is_idempotent(session):
    contract = make_contract(session, tiers=TIERS, fixed_fee="20.00")
    for amount in ("100.00", "1000.00", "250.50"):
        account, _ = placed(session, contract=contract)
        pay(session, account=account, amount=amount, paid_at=local(2024, 1, 9))
    attribute_payments(session=session)
    first = compute_commission(session=session, period="2024-01")
    snapshot = [(e.source_key, e.amount) for e in entries(session)]
    again = compute_commission(session=session, period="2024-01")
    assert (first.commission_entries, first.fixed_fee_entries) == (3, 1)
    assert (again.commission_entries, again.fixed_fee_entries, again.commission_amount) == (0, 0, Decimal("0.00"))
    assert [(e.source_key, e.amount) for e in entries(session)] == snapshot


def test_a_payment_attributed_late_is_charged_when_its_month_is_computed_again(session):
    contract = make_contract(session)
    account, _ = placed(session, contract=contract)
    pay(session, account=account, amount="10.00", paid_at=local(2024, 1, 5))
    attribute_payments(session=session)
    compute_commission(session=session, period="2024-01")
    late = pay(session, account=account, amount="20.00", paid_at=local(2024, 1, 28))
    attribute_payments(session=session)
    run = compute_commission(session=session, period="2024-01")
    assert run.commission_entries == 1
    assert entries(session)[-1].payment_id == late.id
