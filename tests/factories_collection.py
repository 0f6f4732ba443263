"""Test data for handover and the collection log, made directly through the ORM.

Every factory takes the session first and flushes (ids are set); none commits. Personal
data is sealed as the portfolio stores it. Unique numbers come from one counter.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency, AgencyStatus, Contract, ContractStatus
from weiwai.placements.models import Case, CaseStatus, PlacementBatch, ScreeningRuleSet
from weiwai.portfolio import personal_data
from weiwai.portfolio.identity import national_id_check_char
from weiwai.portfolio.models import Account, Debtor, DebtorContact, DebtorPhone, Payment, PaymentStatus

_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def english_messages():
    """Messages in English, so tests can match them (import this into a test module)."""
    from weiwai.i18n import using_locale

    with using_locale("en"):
        yield
ALL_CHANNELS = ["phone", "sms", "ivr", "visit", "letter", "email"]
PLACED_AT = datetime(2024, 3, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def serial() -> int:
    return next(_serial)


def national_id() -> str:
    """A valid national ID, unique within the test run (birth date and sequence from the counter)."""
    number = serial()
    birth = date(1960, 1, 1) + timedelta(days=number // 1000)
    first17 = f"110101{birth:%Y%m%d}{number % 1000:03d}"
    return first17 + national_id_check_char(first17)


def mobile() -> str:
    return f"139{serial():08d}"


def make_debtor(
    session: Session,
    *,
    name: str = "李四",
    nid: str | None = None,
    address: str | None = "广东省深圳市南山区科技园路1号",
    region: str = "广东",
    time_zone: str = "Asia/Shanghai",
    phones: list[str] | None = None,
    contacts: list[tuple[str, str, str]] | None = None,
) -> Debtor:
    """A debtor; `contacts` are (name, relation, phone)."""
    nid = nid or national_id()
    debtor = Debtor(
        name=name,
        national_id_enc=personal_data.seal(nid, personal_data.NATIONAL_ID),
        national_id_bidx=personal_data.national_id_index(nid),
        address_enc=personal_data.seal(address, personal_data.ADDRESS) if address else None,
        region=region,
        time_zone=time_zone,
        credit_grade="B",
    )
    for position, number in enumerate(phones if phones is not None else [mobile()]):
        debtor.phones.append(DebtorPhone(
            phone_enc=personal_data.seal(number, personal_data.DEBTOR_PHONE),
            phone_bidx=personal_data.phone_index(number), is_primary=position == 0,
        ))
    for contact_name, relation, number in contacts or []:
        debtor.contacts.append(DebtorContact(
            name=contact_name, relation=relation,
            phone_enc=personal_data.seal(number, personal_data.CONTACT_PHONE),
            phone_bidx=personal_data.phone_index(number),
        ))
    session.add(debtor)
    session.flush()
    return debtor


def make_account(
    session: Session,
    *,
    debtor: Debtor | None = None,
    principal: str = "5000.00",
    interest: str = "300.00",
    fee: str = "50.00",
    penalty: str = "20.00",
    due_date: date | None = date(2024, 1, 15),
    overdue_reason: str | None = "失业",
    product: str = "cash_loan",
) -> Account:
    debtor = debtor or make_debtor(session)
    account = Account(
        account_no=f"AC{serial():08d}", debtor_id=debtor.id, product=product, currency="CNY",
        original_amount=Decimal(principal), principal_outstanding=Decimal(principal),
        interest_outstanding=Decimal(interest), fee_outstanding=Decimal(fee), penalty_outstanding=Decimal(penalty),
        due_date=due_date, overdue_reason=overdue_reason,
    )
    session.add(account)
    session.flush()
    return account


def make_agency(session: Session, *, status: AgencyStatus = AgencyStatus.active) -> Agency:
    number = serial()
    agency = Agency(
        code=f"AGC{number:05d}", legal_name=f"催收测试有限公司{number}", uscc=f"91440300{number:010d}",
        regions_served=["广东"], capacity_cases=1000, capacity_balance=Decimal("10000000.00"), status=status,
    )
    session.add(agency)
    session.flush()
    return agency


def make_contract(
    session: Session,
    *,
    agency: Agency,
    status: ContractStatus = ContractStatus.active,
    channels: list[str] | None = None,
    handover_fields: dict | None = None,
    starts_on: date = date(2024, 1, 1),
    ends_on: date = date(2030, 12, 31),
    signed: bool = True,
) -> Contract:
    contract = Contract(
        contract_no=f"CT{serial():06d}", agency_id=agency.id, status=status, starts_on=starts_on, ends_on=ends_on,
        signed_on=starts_on if signed else None, confidentiality_signed_on=starts_on if signed else None,
        fee_schedule={"currency": "CNY", "rates_by_bucket": {"M1": "0.1", "M2": "0.15", "M3": "0.2"}},
        permitted_channels=list(ALL_CHANNELS if channels is None else channels),
        permitted_buckets=["M1", "M2", "M3"], permitted_regions=[], placement_days=90,
        entrustment_purpose="催收", entrustment_duration="合同期内", entrustment_processing_method="电话、短信",
        entrustment_data_categories=["姓名", "电话"], entrustment_protection_measures="加密、脱敏",
        handover_fields=handover_fields or {},
    )
    session.add(contract)
    session.flush()
    from weiwai.privacy.entrustment import record_for_contract  # PIPL art. 21: as contract creation does

    record_for_contract(session=session, contract=contract, actor="test")
    return contract


def make_batch(session: Session) -> PlacementBatch:
    number = serial()
    rules = ScreeningRuleSet(name=f"rules{number}", version=1, rules={}, sha256="0" * 64, created_by="test")
    session.add(rules)
    session.flush()
    batch = PlacementBatch(batch_no=f"PB{number:06d}", rule_set_id=rules.id, strategy={"name": "test"},
                           as_of=date(2024, 3, 1), created_by="test", status="active")
    session.add(batch)
    session.flush()
    return batch


def make_case(
    session: Session,
    *,
    contract: Contract,
    account: Account | None = None,
    batch: PlacementBatch | None = None,
    status: CaseStatus = CaseStatus.placed,
    placed_at: datetime = PLACED_AT,
) -> Case:
    account = account or make_account(session)
    batch = batch or make_batch(session)
    case = Case(
        case_no=f"CS{serial():08d}", batch_id=batch.id, account_id=account.id, agency_id=contract.agency_id,
        contract_id=contract.id, status=status, bucket="M2", dpd=45, balance_band="5k-10k", region="广东",
        credit_grade="B", balance_placed=account.total_outstanding, principal_placed=account.principal_outstanding,
        placed_at=placed_at, period_ends_on=date(2024, 5, 30),
    )
    session.add(case)
    session.flush()
    return case


def make_payment(
    session: Session, *, account: Account, amount: str, paid_at: datetime, status: PaymentStatus = PaymentStatus.posted
) -> Payment:
    payment = Payment(
        txn_id=f"TXC{serial():010d}", account_id=account.id, amount=Decimal(amount), paid_at=paid_at,
        channel="bank_transfer", status=status, applied_principal=Decimal(amount),
    )
    session.add(payment)
    session.flush()
    return payment


@dataclass
class World:
    agency: Agency
    contract: Contract
    case: Case
    account: Account
    debtor: Debtor


def make_world(
    session: Session,
    *,
    channels: list[str] | None = None,
    handover_fields: dict | None = None,
    contacts: list[tuple[str, str, str]] | None = None,
    phones: list[str] | None = None,
    status: CaseStatus = CaseStatus.placed,
) -> World:
    """An active agency with a usable contract and one open case of a debtor."""
    agency = make_agency(session)
    contract = make_contract(session, agency=agency, channels=channels, handover_fields=handover_fields)
    debtor = make_debtor(session, contacts=contacts if contacts is not None else [("王五", "spouse", mobile())],
                         phones=phones)
    account = make_account(session, debtor=debtor)
    case = make_case(session, contract=contract, account=account, status=status)
    return World(agency=agency, contract=contract, case=case, account=account, debtor=debtor)


def make_user(session: Session, *, role: str, agency: Agency | None = None):
    """A user row (no usable password: route tests sign in by overriding the principal)."""
    from weiwai.security.models import User

    user = User(username=f"u{serial()}", display_name="测试", role=role, agency_id=agency.id if agency else None,
                password_hash="!")
    session.add(user)
    session.flush()
    if role == "collector":
        qualify_collector(session, user)
    return user


def qualify_collector(session: Session, user, *, completed_on: date | None = None) -> None:
    """Give a collector all three CN-10 qualifications, current (completed 30 days ago by default)."""
    from weiwai.clock import today_local
    from weiwai.compliance.models import CollectorQualification

    day = completed_on or today_local() - timedelta(days=30)
    for item in ("background_check", "training", "confidentiality"):
        session.add(CollectorQualification(user_id=user.id, item=item, completed_on=day, recorded_by="test"))
    session.flush()


def api_client(session: Session, user, *, store=None):
    """A TestClient on the collection and handover routers, signed in as `user`, on the test's session."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from weiwai.collection.routes import router as collection_router
    from weiwai.errors import DomainError
    from weiwai.handover.routes import package_store
    from weiwai.handover.routes import router as handover_router
    from weiwai.security.models import Role
    from weiwai.web.app import problem
    from weiwai.web.deps import Principal, current_principal, get_session

    app = FastAPI()
    app.include_router(collection_router)
    app.include_router(handover_router)

    @app.exception_handler(DomainError)
    async def _domain_error(_request, exc: DomainError):
        return problem(exc.http_status, exc.code, type(exc).__name__, exc.message)

    def test_session():
        yield session

    principal = Principal(user_id=user.id, username=user.username, role=Role(user.role), agency_id=user.agency_id)
    app.dependency_overrides[get_session] = test_session
    app.dependency_overrides[current_principal] = lambda: principal
    if store is not None:
        app.dependency_overrides[package_store] = lambda: store
    return TestClient(app)
