"""ORM factories for the attribution and commission tests: agencies, contracts, debtors
(personal data sealed), accounts, placement batches, cases and payments applied to
balances. Every factory flushes so ids are set; none commits.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency, AgencyStatus, Contract, ContractStatus
from weiwai.placements.lifecycle import DEFAULT_CLOSE_REASON, transition_case
from weiwai.placements.models import BatchStatus, Case, CaseStatus, PlacementBatch, ScreeningRuleSet
from weiwai.placements.strata import balance_band
from weiwai.portfolio import balances, personal_data
from weiwai.portfolio.identity import national_id_check_char
from weiwai.portfolio.models import (
    Account,
    AccountBalanceChange,
    AccountStatus,
    BalanceChangeSource,
    Debtor,
    DebtorPhone,
    Payment,
)

_serial = itertools.count(1)

DEFAULT_RATES = {"M1": "0.10", "M2": "0.15", "M3": "0.20", "M4": "0.25", "M5": "0.30", "M6": "0.35", "M7+": "0.40"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def make_agency(session: Session, *, code: str | None = None) -> Agency:
    serial = next(_serial)
    agency = Agency(
        code=code or f"ST{serial:05d}",
        legal_name=f"结算测试催收有限公司{serial}",
        uscc=f"9133{serial:014d}",
        regions_served=["浙江"],
        capacity_cases=10_000,
        capacity_balance=Decimal("100000000.00"),
        status=AgencyStatus.active,
    )
    session.add(agency)
    session.flush()
    return agency


def make_contract(
    session: Session,
    *,
    agency: Agency | None = None,
    rates: dict[str, str] | None = None,
    tiers: list[tuple[str, str]] | None = None,
    fixed_fee: str | None = None,
    grace_days: int = 0,
) -> Contract:
    """An active, signed contract; tiers are (min_recovery_rate, bonus_rate)."""
    agency = agency or make_agency(session)
    schedule = {
        "currency": "CNY",
        "rates_by_bucket": rates or DEFAULT_RATES,
        "recovery_tiers": [{"min_recovery_rate": low, "bonus_rate": bonus} for low, bonus in tiers or []],
        "fixed_fee_per_closed_case": fixed_fee,
    }
    contract = Contract(
        contract_no=f"HT{next(_serial):06d}",
        agency_id=agency.id,
        status=ContractStatus.active,
        starts_on=date(2023, 1, 1),
        ends_on=date(2026, 12, 31),
        signed_on=date(2023, 1, 1),
        confidentiality_signed_on=date(2023, 1, 1),
        fee_schedule=schedule,
        permitted_channels=["phone", "sms"],
        permitted_buckets=list((rates or DEFAULT_RATES).keys()),
        permitted_regions=[],
        placement_days=90,
        post_recall_grace_days=grace_days,
        entrustment_purpose="催收",
        entrustment_duration="合同期内",
        entrustment_processing_method="电话、短信",
        entrustment_data_categories=["姓名", "手机号"],
        entrustment_protection_measures="加密、脱敏、访问日志",
    )
    session.add(contract)
    session.flush()
    return contract


def make_debtor(session: Session, *, time_zone: str = "Asia/Shanghai") -> Debtor:
    serial = next(_serial)
    first17 = f"330106199001{serial % 100_000:05d}"
    national_id = first17 + national_id_check_char(first17)
    phone = f"139{serial:08d}"
    debtor = Debtor(
        name="李四",
        national_id_enc=personal_data.seal(national_id, personal_data.NATIONAL_ID),
        national_id_bidx=personal_data.national_id_index(national_id),
        address_enc=personal_data.seal("浙江省杭州市西湖区文三路1号", personal_data.ADDRESS),
        region="浙江",
        time_zone=time_zone,
        credit_grade="C",
    )
    debtor.phones.append(DebtorPhone(
        phone_enc=personal_data.seal(phone, personal_data.DEBTOR_PHONE),
        phone_bidx=personal_data.phone_index(phone),
        is_primary=True,
    ))
    session.add(debtor)
    session.flush()
    return debtor


def make_account(
    session: Session,
    *,
    principal: str = "1000.00",
    interest: str = "0.00",
    fee: str = "0.00",
    penalty: str = "0.00",
    debtor: Debtor | None = None,
) -> Account:
    debtor = debtor or make_debtor(session)
    account = Account(
        account_no=f"SA{next(_serial):08d}",
        debtor_id=debtor.id,
        product="cash_loan",
        original_amount=Decimal(principal),
        principal_outstanding=Decimal(principal),
        interest_outstanding=Decimal(interest),
        fee_outstanding=Decimal(fee),
        penalty_outstanding=Decimal(penalty),
        due_date=date(2023, 9, 1),
        status=AccountStatus.open,
        credit_balance=Decimal("0.00"),
    )
    session.add(account)
    session.flush()
    return account


def make_batch(session: Session) -> PlacementBatch:
    serial = next(_serial)
    rule_set = ScreeningRuleSet(name=f"rules-{serial}", version=1, rules={}, sha256="0" * 64, created_by="test")
    session.add(rule_set)
    session.flush()
    batch = PlacementBatch(
        batch_no=f"PB{serial:06d}", status=BatchStatus.active, rule_set_id=rule_set.id,
        strategy={"name": "test", "params": {}, "seed": 1}, as_of=date(2024, 1, 1), created_by="test",
    )
    session.add(batch)
    session.flush()
    return batch


def make_case(
    session: Session,
    *,
    account: Account,
    contract: Contract,
    placed_at: datetime,
    batch: PlacementBatch | None = None,
    bucket: str = "M2",
    balance_placed: Decimal | str | None = None,
) -> Case:
    """An open (placed) case of `account` with the contract's agency."""
    placed = Decimal(balance_placed) if balance_placed is not None else account.total_outstanding
    case = Case(
        case_no=f"CASE{next(_serial):07d}",
        batch_id=(batch or make_batch(session)).id,
        account_id=account.id,
        agency_id=contract.agency_id,
        contract_id=contract.id,
        status=CaseStatus.placed,
        bucket=bucket,
        dpd=45,
        balance_band=balance_band(placed),
        region="浙江",
        credit_grade="C",
        balance_placed=placed,
        principal_placed=account.principal_outstanding,
        placed_at=placed_at,
        period_ends_on=date(2024, 12, 31),
    )
    session.add(case)
    session.flush()
    return case


def end_case(session: Session, case: Case, *, to: CaseStatus, at: datetime, close: bool = True) -> Case:
    """End an open case (recalled, expired, returned…) and, by default, close it."""
    transition_case(session=session, case=case, to=to, actor="test", reason="test", at=at)
    if close:
        transition_case(session=session, case=case, to=CaseStatus.closed, actor="test",
                        close_reason=DEFAULT_CLOSE_REASON[to], at=at)
    session.flush()
    return case


def pay(
    session: Session, *, account: Account, amount: Decimal | str, paid_at: datetime, txn_id: str | None = None
) -> Payment:
    """A posted payment applied to the balance through the configured waterfall; excess is credit."""
    payment = Payment(
        txn_id=txn_id or f"TXS{next(_serial):010d}",
        account_id=account.id,
        amount=Decimal(amount),
        paid_at=paid_at,
        channel="bank_transfer",
    )
    apply_to_balance(session, account=account, payment=payment)
    session.add(payment)
    session.flush()
    return payment


def apply_to_balance(session: Session, *, account: Account, payment: Payment) -> None:
    """Fill Payment.applied_* and reduce the account through the waterfall (weiwai.portfolio.balances)."""
    after, allocation = balances.apply_payment(balances.balances_of(account), Decimal(payment.amount))
    balances.store_balances(account, after)
    for component in (*balances.COMPONENTS, "credit"):
        setattr(payment, f"applied_{component}", getattr(allocation, component))
    if account.total_outstanding == 0:
        account.status = AccountStatus.paid_off
    session.add(AccountBalanceChange(
        account_id=account.id, source=BalanceChangeSource.payment, reference=payment.txn_id,
        principal_outstanding=account.principal_outstanding, interest_outstanding=account.interest_outstanding,
        fee_outstanding=account.fee_outstanding, penalty_outstanding=account.penalty_outstanding,
        due_date=account.due_date, delta_total=-(allocation.total - allocation.credit), changed_at=payment.paid_at,
        changed_by="test",
    ))
