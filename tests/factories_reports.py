"""ORM factories for closing and evaluation tests: agencies, contracts, accounts, batches,
cases, collection actions, promises, payments with their attribution, commission entries
and complaints.

Each factory flushes (ids are set) and never commits. Personal data is sealed as in
production (weiwai.portfolio.personal_data.seal). Unique numbers come from a counter.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency, AgencyStatus, Contract, ContractStatus
from weiwai.collection.models import CollectionAction, Outcome, Party, PromiseStatus, PromiseToPay
from weiwai.compliance.models import Complaint, ComplaintSource
from weiwai.payments.models import AttributionKind, PaymentAttribution
from weiwai.placements.models import BatchStatus, Case, CaseStatus, PlacementBatch, ScreeningRuleSet
from weiwai.placements.strata import balance_band
from weiwai.portfolio import personal_data
from weiwai.portfolio.models import Account, AccountStatus, Debtor, Payment
from weiwai.settlement.models import CommissionEntry, EntryKind

_serial = itertools.count(1)

PLACED_AT = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
AS_OF = date(2024, 3, 31)


def make_agency(session: Session, *, code: str | None = None) -> Agency:
    serial = next(_serial)
    agency = Agency(
        code=code or f"RA{serial:05d}", legal_name=f"评估测试催收有限公司{serial}", uscc=f"91310000{serial:010d}",
        regions_served=["广东"], capacity_cases=10_000, capacity_balance=Decimal("100000000.00"),
        status=AgencyStatus.active,
    )
    session.add(agency)
    session.flush()
    return agency


def make_contract(session: Session, *, agency: Agency) -> Contract:
    contract = Contract(
        contract_no=f"RC{next(_serial):06d}", agency_id=agency.id, status=ContractStatus.active,
        starts_on=date(2024, 1, 1), ends_on=date(2024, 12, 31), signed_on=date(2023, 12, 20),
        confidentiality_signed_on=date(2023, 12, 20),
        fee_schedule={"currency": "CNY", "rates_by_bucket": {"M1": "0.10", "M2": "0.15", "M3": "0.20"}},
        permitted_channels=["phone", "sms"], permitted_buckets=["M1", "M2", "M3"], permitted_regions=[],
        placement_days=30, post_recall_grace_days=7, entrustment_purpose="催收", entrustment_duration="委案期内",
        entrustment_processing_method="电话、短信", entrustment_data_categories=["姓名", "手机号"],
        entrustment_protection_measures="加密、脱敏、访问日志",
    )
    session.add(contract)
    session.flush()
    return contract


def make_account(
    session: Session, *, balance: Decimal | str = "1000.00", region: str = "广东",
    status: AccountStatus = AccountStatus.open,
) -> Account:
    """An account (with its debtor) owing `balance`, all principal."""
    serial = next(_serial)
    national_id = f"310101198805{serial:05d}X"
    debtor = Debtor(
        name="李四", national_id_enc=personal_data.seal(national_id, personal_data.NATIONAL_ID),
        national_id_bidx=personal_data.national_id_index(national_id), region=region, credit_grade="B",
    )
    session.add(debtor)
    session.flush()
    amount = Decimal(balance)
    account = Account(
        account_no=f"RAC{serial:08d}", debtor_id=debtor.id, product="cash_loan", original_amount=amount or Decimal(1),
        principal_outstanding=amount, interest_outstanding=Decimal("0.00"), fee_outstanding=Decimal("0.00"),
        penalty_outstanding=Decimal("0.00"), due_date=date(2024, 1, 1), status=status,
    )
    session.add(account)
    session.flush()
    return account


def make_batch(
    session: Session, *, batch_no: str | None = None, status: BatchStatus = BatchStatus.active,
    as_of: date = date(2024, 3, 1), closed_at: datetime | None = None,
) -> PlacementBatch:
    """A batch activated at PLACED_AT (closed at `closed_at` when its status is closed)."""
    rule_set = ScreeningRuleSet(
        name=f"rules-{next(_serial)}", version=1, rules={}, sha256="0" * 64, created_by="test"
    )
    session.add(rule_set)
    session.flush()
    batch = PlacementBatch(
        batch_no=batch_no or f"RB{next(_serial):06d}", status=status, rule_set_id=rule_set.id,
        strategy={"name": "manual", "params": {}, "seed": 1}, as_of=as_of, created_by="test",
        activated_at=PLACED_AT if status in (BatchStatus.active, BatchStatus.closed) else None,
        closed_at=closed_at if status == BatchStatus.closed else None,
    )
    session.add(batch)
    session.flush()
    return batch


def make_case(
    session: Session,
    *,
    batch: PlacementBatch,
    agency: Agency,
    contract: Contract | None = None,
    account: Account | None = None,
    bucket: str = "M1",
    region: str = "广东",
    balance: Decimal | str = "1000.00",
    status: CaseStatus = CaseStatus.placed,
    placed_at: datetime = PLACED_AT,
    ended_at: datetime | None = None,
) -> Case:
    """A case of `batch` with `agency`; its stratum snapshot follows bucket, balance, region."""
    amount = Decimal(balance)
    account = account or make_account(session, balance=amount, region=region)
    contract = contract or make_contract(session, agency=agency)
    case = Case(
        case_no=f"RCS{next(_serial):08d}", batch_id=batch.id, account_id=account.id, agency_id=agency.id,
        contract_id=contract.id, status=status, bucket=bucket, dpd={"M1": 20, "M2": 45, "M3": 75}.get(bucket, 100),
        balance_band=balance_band(amount), region=region, credit_grade="B", balance_placed=amount,
        principal_placed=amount, placed_at=placed_at, period_ends_on=(placed_at + timedelta(days=30)).date(),
        ended_at=ended_at,
    )
    session.add(case)
    session.flush()
    return case


def make_action(
    session: Session, *, case: Case, outcome: Outcome, occurred_at: datetime | None = None,
    party: Party = Party.debtor, channel: str = "phone",
) -> CollectionAction:
    action = CollectionAction(
        case_id=case.id, account_id=case.account_id, agency_id=case.agency_id, channel=channel,
        occurred_at=occurred_at or case.placed_at + timedelta(hours=5), party=party, outcome=outcome,
        recorded_by="test",
    )
    session.add(action)
    session.flush()
    return action


def make_promise(
    session: Session, *, case: Case, amount: Decimal | str = "100.00", promised_on: date = date(2024, 3, 5),
    due_on: date = date(2024, 3, 10), status: PromiseStatus = PromiseStatus.pending,
    paid_amount: Decimal | str = "0.00",
) -> PromiseToPay:
    action = make_action(
        session, case=case, outcome=Outcome.promise_to_pay,
        occurred_at=datetime.combine(promised_on, datetime.min.time(), UTC) + timedelta(hours=3),
    )
    promise = PromiseToPay(
        action_id=action.id, case_id=case.id, account_id=case.account_id, amount=Decimal(amount),
        promised_on=promised_on, due_on=due_on, status=status, paid_amount=Decimal(paid_amount),
    )
    session.add(promise)
    session.flush()
    return promise


def make_recovery(
    session: Session, *, case: Case, amount: Decimal | str, paid_at: datetime | None = None,
    kind: AttributionKind = AttributionKind.case, reversed_at: datetime | None = None,
) -> PaymentAttribution:
    """A payment on the case's account and its attribution (optionally reversed)."""
    paid_at = paid_at or case.placed_at + timedelta(days=3)
    payment = Payment(
        txn_id=f"RTX{next(_serial):010d}", account_id=case.account_id, amount=Decimal(amount), paid_at=paid_at,
        channel="bank_transfer", status="reversed" if reversed_at else "posted", applied_principal=Decimal(amount),
    )
    session.add(payment)
    session.flush()
    attribution = PaymentAttribution(
        payment_id=payment.id, kind=kind, case_id=case.id,
        agency_id=None if kind == AttributionKind.direct else case.agency_id, amount=Decimal(amount),
        attributed_at=paid_at, reversed_at=reversed_at,
    )
    session.add(attribution)
    session.flush()
    return attribution


def make_commission(
    session: Session, *, case: Case, amount: Decimal | str, kind: EntryKind = EntryKind.commission,
    period: str = "2024-03", base_amount: Decimal | str = "0.00",
) -> CommissionEntry:
    entry = CommissionEntry(
        agency_id=case.agency_id, contract_id=case.contract_id, case_id=case.id, kind=kind,
        source_key=f"{kind}:test:{next(_serial)}", period=period, base_amount=Decimal(base_amount),
        rate=None, amount=Decimal(amount),
    )
    session.add(entry)
    session.flush()
    return entry


def make_complaint(session: Session, *, case: Case, received_at: datetime | None = None) -> Complaint:
    complaint = Complaint(
        complaint_no=f"RCP{next(_serial):06d}", source=ComplaintSource.debtor, account_id=case.account_id,
        agency_id=case.agency_id, case_id=case.id, category="harassment", summary="频繁来电",
        received_at=received_at or case.placed_at + timedelta(days=2), recorded_by="test",
    )
    session.add(complaint)
    session.flush()
    return complaint
