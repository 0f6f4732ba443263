"""Test data for the placement cycle, made directly through the ORM: agencies with usable
contracts, placeable accounts, placed cases, holds, complaints and scorecards.

Builds on tests/factories.py (debtors with sealed personal data, accounts, agencies).
Every factory flushes and none commits.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from factories import make_account, make_agency, make_debtor
from weiwai.agencies.models import Agency, AgencyStatus, Contract, ContractStatus
from weiwai.compliance.models import Complaint, ComplaintSource, ComplaintStatus
from weiwai.placements.models import (
    BatchStatus,
    Case,
    CaseStatus,
    CloseReason,
    InHouseHold,
    PlacementBatch,
    ScreeningRuleSet,
)
from weiwai.portfolio.models import Account
from weiwai.reports.models import Scorecard

AS_OF = date(2024, 3, 1)
ALL_BUCKETS = ["M1", "M2", "M3", "M4", "M5", "M6", "M7+"]
_serial = itertools.count(1)


def make_usable_agency(
    session: Session,
    *,
    code: str | None = None,
    regions: list[str] | None = None,
    capacity_cases: int = 1000,
    capacity_balance: Decimal | str = "100000000.00",
    status: AgencyStatus = AgencyStatus.active,
    buckets: list[str] | None = None,
    permitted_regions: list[str] | None = None,
    placement_days: int = 90,
    contract_status: ContractStatus = ContractStatus.active,
    starts_on: date = date(2024, 1, 1),
    ends_on: date = date(2025, 12, 31),
) -> Agency:
    """An agency with one contract that is usable on AS_OF unless told otherwise."""
    agency = make_agency(session, code=code, status=status)
    agency.regions_served = regions or ["广东", "浙江"]
    agency.capacity_cases = capacity_cases
    agency.capacity_balance = Decimal(capacity_balance)
    make_contract(session, agency=agency, buckets=buckets, regions=permitted_regions, placement_days=placement_days,
                  status=contract_status, starts_on=starts_on, ends_on=ends_on)
    session.flush()
    return agency


def make_contract(
    session: Session,
    *,
    agency: Agency,
    buckets: list[str] | None = None,
    regions: list[str] | None = None,
    placement_days: int = 90,
    status: ContractStatus = ContractStatus.active,
    starts_on: date = date(2024, 1, 1),
    ends_on: date = date(2025, 12, 31),
    signed: bool = True,
) -> Contract:
    contract = Contract(
        contract_no=f"CT{next(_serial):06d}",
        agency_id=agency.id,
        status=status,
        starts_on=starts_on,
        ends_on=ends_on,
        signed_on=starts_on if signed else None,
        confidentiality_signed_on=starts_on if signed else None,
        fee_schedule={"tiers": [{"bucket": "*", "rate": "0.20"}]},
        permitted_channels=["phone", "sms"],
        permitted_buckets=buckets if buckets is not None else list(ALL_BUCKETS),
        permitted_regions=regions if regions is not None else [],
        placement_days=placement_days,
        post_recall_grace_days=7,
        entrustment_purpose="催收",
        entrustment_duration="合同期内",
        entrustment_processing_method="电话、短信",
        entrustment_data_categories=["name", "mobile"],
        entrustment_protection_measures="加密、脱敏",
    )
    session.add(contract)
    session.flush()
    return contract


def make_placeable_account(
    session: Session,
    *,
    dpd: int = 45,
    principal: Decimal | str = "5000.00",
    interest: Decimal | str = "0.00",
    region: str = "广东",
    credit_grade: str = "B",
    product: str = "cash_loan",
    as_of: date = AS_OF,
    **flags: bool,
) -> Account:
    """An open account `dpd` days past due on `as_of`; debtor flags as keyword arguments."""
    debtor = make_debtor(session, region=region, credit_grade=credit_grade, phones=[], **flags)
    return make_account(
        session, debtor=debtor, principal=principal, interest=interest, product=product,
        due_date=as_of - timedelta(days=dpd),
    )


def make_rule_set(session: Session, *, rules: dict | None = None, name: str = "test") -> ScreeningRuleSet:
    from weiwai.placements.screening import ScreeningRules

    parsed = ScreeningRules.model_validate(rules or {})
    rule_set = ScreeningRuleSet(
        name=f"{name}-{next(_serial)}", version=1, rules=parsed.canonical(), sha256=parsed.sha256(),
        created_by="test",
    )
    session.add(rule_set)
    session.flush()
    return rule_set


def make_case(
    session: Session,
    *,
    account: Account,
    agency: Agency,
    status: CaseStatus = CaseStatus.placed,
    close_reason: CloseReason | None = None,
    ended_at: datetime | None = None,
    period_ends_on: date | None = None,
    batch: PlacementBatch | None = None,
    placed_at: datetime = datetime(2024, 1, 2, 2, 0, tzinfo=UTC),
) -> Case:
    """A case made directly (not through a batch confirmation), e.g. an earlier placement."""
    batch = batch or make_batch(session)
    contract = agency.contracts[0]
    case = Case(
        case_no=f"CT-{next(_serial):08d}", batch_id=batch.id, account_id=account.id, agency_id=agency.id,
        contract_id=contract.id, status=status, bucket="M2", dpd=45, balance_band="5k-10k", region="广东",
        credit_grade="B", balance_placed=account.total_outstanding, principal_placed=account.principal_outstanding,
        placed_at=placed_at, period_ends_on=period_ends_on or placed_at.date() + timedelta(days=90),
        ended_at=ended_at, close_reason=close_reason,
    )
    session.add(case)
    session.flush()
    return case


def make_batch(session: Session, *, status: BatchStatus = BatchStatus.active) -> PlacementBatch:
    batch = PlacementBatch(
        batch_no=f"BT-{next(_serial):08d}", status=status, rule_set_id=make_rule_set(session).id,
        strategy={"name": "equal_count", "params": {}, "seed": 0}, as_of=date(2024, 1, 2), summary={},
        created_by="test",
    )
    session.add(batch)
    session.flush()
    return batch


def make_hold(session: Session, *, account: Account, until: date | None = None, lifted: bool = False) -> InHouseHold:
    hold = InHouseHold(account_id=account.id, until=until, reason="in-house pilot", created_by="test",
                       lifted_at=datetime(2024, 2, 1, tzinfo=UTC) if lifted else None)
    session.add(hold)
    session.flush()
    return hold


def make_complaint(
    session: Session, *, account: Account | None = None, debtor_id: int | None = None,
    status: ComplaintStatus = ComplaintStatus.open,
) -> Complaint:
    complaint = Complaint(
        complaint_no=f"CP{next(_serial):06d}", source=ComplaintSource.debtor,
        account_id=account.id if account else None, debtor_id=debtor_id, category="harassment",
        summary="too many calls", received_at=datetime(2024, 2, 1, tzinfo=UTC), status=status, recorded_by="test",
    )
    session.add(complaint)
    session.flush()
    return complaint


def make_scorecard(
    session: Session, *, agency: Agency, rate: str, bucket: str = "*", band: str = "*", region: str = "*",
    as_of: date = date(2024, 2, 1),
) -> Scorecard:
    card = Scorecard(agency_id=agency.id, as_of=as_of, bucket=bucket, balance_band=band, region=region, cases=10,
                     metrics={"recovery_rate_amount": rate})
    session.add(card)
    session.flush()
    return card
