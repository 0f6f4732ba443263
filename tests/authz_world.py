"""A small world of two agencies and the lender, for the authorisation matrix and schemathesis.

Agency A (the one whose principals the matrix plays) and agency B each have a manager, two
collectors and an API token, an active contract, open cases assigned to collectors (A1 has
case a1, A2 has a2, B1 has b1), collection actions and promises, a handover package, an
issued commission statement and scorecards. A also has an ended (recalled) case and a
draft statement. The lender has one user of every lender role.

Everything that belongs to a party carries a distinctive marker string (case numbers,
account numbers, debtor and contact names, agency code and name, usernames…), so that a
response can be searched for data of a party its reader must not see: `World.markers`.

`build_world(session, store=…)` flushes and never commits; package and statement files
are written under `store`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from factories_settlement import end_case, pay
from weiwai.agencies.models import Agency, AgencyStatus, Contract, ContractStatus
from weiwai.collection.models import CollectionAction, Outcome, Party, PromiseStatus, PromiseToPay
from weiwai.handover.service import create_package
from weiwai.payments.service import attribute_payments
from weiwai.placements.models import BatchStatus, Case, CaseStatus, PlacementBatch, ScreeningRuleSet
from weiwai.placements.strata import balance_band
from weiwai.portfolio import personal_data
from weiwai.portfolio.identity import national_id_check_char
from weiwai.portfolio.models import Account, AccountStatus, Debtor, DebtorContact, DebtorPhone
from weiwai.reports.scorecards import store_batch_scorecards
from weiwai.security.models import ApiToken, Role, User
from weiwai.security.permissions import TOKEN_SCOPES
from weiwai.settlement.models import StatementStatus
from weiwai.settlement.service import run_period
from weiwai.settlement.statements import issue_statement

LENDER_ROLES = (Role.admin, Role.operations, Role.compliance, Role.infosec, Role.finance, Role.auditor)
ALL_CHANNELS = ["phone", "sms", "ivr", "visit", "letter", "email"]
PLACED_AT = datetime(2023, 12, 1, 2, 0, tzinfo=UTC)
SCORECARD_DAY = date(2024, 3, 31)
_nid_serial = iter(range(1, 10_000))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class CaseRefs:
    """One case and what hangs off it, as plain values (usable after the session is gone)."""

    case_id: int
    case_no: str
    account_no: str
    debtor_id: int
    debtor_name: str
    contact_name: str
    action_id: int | None = None
    promise_id: int | None = None
    txn_id: str | None = None
    number_ref: str | None = None  # the debtor phone's number reference

    @property
    def markers(self) -> list[str]:
        return [self.case_no, self.account_no, self.debtor_name, self.contact_name]


@dataclass
class PartyRefs:
    """One agency's rows as plain values."""

    key: str
    agency_id: int
    code: str
    legal_name: str
    uscc: str
    contract_id: int
    contract_no: str
    manager_id: int
    manager: str
    collector_ids: list[int]
    collectors: list[str]
    token_id: int
    token_prefix: str
    cases: dict[str, CaseRefs] = field(default_factory=dict)
    package_id: int | None = None
    package_no: str | None = None
    statement_id: int | None = None  # issued
    statement_no: str | None = None
    draft_statement_id: int | None = None
    draft_statement_no: str | None = None
    complaint_no: str | None = None  # a complaint about the agency's case
    block_id: int | None = None  # a (lifted) placement block of the agency
    notice_id: int | None = None  # a lender notice about the agency
    infosec_review_id: int | None = None  # an information-security review of the agency (draft)
    infosec_finding_id: int | None = None  # a finding of that review
    entrustment_id: int | None = None  # the entrustment of the party's contract (PIPL art. 21)
    assessment_id: int | None = None  # an approved impact assessment of the agency
    certificate_id: int | None = None  # a deletion certificate of the agency's package

    @property
    def agency_markers(self) -> list[str]:
        """What names the agency itself (never the other agency's business)."""
        return [self.code, self.legal_name, self.uscc, self.contract_no, self.manager, *self.collectors,
                self.token_prefix]


@dataclass
class World:
    a: PartyRefs
    b: PartyRefs
    lender_ids: dict[Role, int]
    lender_usernames: dict[Role, str]
    batch_no: str
    direct_txn_id: str
    store: Path
    template_id: int | None = None  # an approved message template (every principal may read it)
    draft_template_id: int | None = None  # a draft: lender staff only

    def markers_hidden_from(self, role: Role) -> list[str]:
        """Marker strings that no response to agency A's `role` (or token) may contain."""
        b = self.b
        hidden = [*b.agency_markers, *(m for refs in b.cases.values() for m in refs.markers)]
        hidden += [m for m in (b.package_no, b.statement_no, b.draft_statement_no, b.complaint_no) if m]
        hidden += [*self.a.cases["ended"].markers, self.a.draft_statement_no]
        hidden += list(self.lender_usernames.values())
        if role == Role.collector:
            hidden += self.a.cases["a2"].markers
        return [marker for marker in hidden if marker]


def _national_id() -> str:
    first17 = f"440305198001{next(_nid_serial):05d}"
    return first17 + national_id_check_char(first17)


def _agency(session: Session, key: str) -> tuple[Agency, Contract]:
    upper = key.upper()
    agency = Agency(
        code=f"QZ{upper}-AGENCY", legal_name=f"{upper}方标记催收QZ{upper}有限公司", uscc=f"91440300QZ{upper}0000001",
        regions_served=["广东"], capacity_cases=1000, capacity_balance=Decimal("10000000.00"),
        status=AgencyStatus.active, contact_person=f"联系人QZ{upper}",
    )
    session.add(agency)
    session.flush()
    contract = Contract(
        contract_no=f"QZ{upper}-CONTRACT", agency_id=agency.id, status=ContractStatus.active,
        starts_on=date(2023, 1, 1), ends_on=date(2030, 12, 31), signed_on=date(2023, 1, 1),
        confidentiality_signed_on=date(2023, 1, 1),
        fee_schedule={"currency": "CNY", "rates_by_bucket": {"M1": "0.10", "M2": "0.15", "M3": "0.20"}},
        permitted_channels=list(ALL_CHANNELS), permitted_buckets=["M1", "M2", "M3"], permitted_regions=[],
        placement_days=180, entrustment_purpose="催收", entrustment_duration="合同期内",
        entrustment_processing_method="电话、短信", entrustment_data_categories=["姓名", "电话"],
        entrustment_protection_measures="加密、脱敏", handover_fields={},
    )
    session.add(contract)
    session.flush()
    from weiwai.privacy.entrustment import record_for_contract  # PIPL art. 21: as contract creation does

    record_for_contract(session=session, contract=contract, actor="world")
    return agency, contract


def _user(session: Session, username: str, role: Role, agency_id: int | None = None) -> User:
    user = User(username=username, display_name=f"显示名{username}", role=role, agency_id=agency_id,
                password_hash="!")
    session.add(user)
    session.flush()
    if role == Role.collector:  # CN-10: current qualifications, so that collectors may work
        from factories_collection import qualify_collector

        qualify_collector(session, user)
    return user


def _token(session: Session, agency: Agency, key: str) -> ApiToken:
    prefix = f"qz{key}tok01"
    token = ApiToken(
        agency_id=agency.id, name=f"系统QZ{key.upper()}", prefix=prefix,
        token_sha256=hashlib.sha256(prefix.encode()).hexdigest(), scopes=sorted(TOKEN_SCOPES),
        created_by="test", expires_at=datetime.now(UTC) + timedelta(days=365),
    )
    session.add(token)
    session.flush()
    return token


def _case(
    session: Session, *, key: str, batch: PlacementBatch, contract: Contract, collector: User | None,
    balance: str = "1000.00",
) -> tuple[Case, Account, CaseRefs]:
    upper = key.upper()
    nid = _national_id()
    debtor = Debtor(
        name=f"债务人QZ{upper}", national_id_enc=personal_data.seal(nid, personal_data.NATIONAL_ID),
        national_id_bidx=personal_data.national_id_index(nid),
        address_enc=personal_data.seal(f"广东省深圳市QZ{upper}路1号", personal_data.ADDRESS),
        region="广东", time_zone="Asia/Shanghai", credit_grade="B",
    )
    phone = f"1390000{next(_nid_serial):04d}"
    debtor.phones.append(DebtorPhone(phone_enc=personal_data.seal(phone, personal_data.DEBTOR_PHONE),
                                     phone_bidx=personal_data.phone_index(phone), is_primary=True))
    contact_phone = f"1370000{next(_nid_serial):04d}"
    debtor.contacts.append(DebtorContact(
        name=f"联系人QZ{upper}", relation="spouse",
        phone_enc=personal_data.seal(contact_phone, personal_data.CONTACT_PHONE),
        phone_bidx=personal_data.phone_index(contact_phone),
    ))
    session.add(debtor)
    session.flush()
    amount = Decimal(balance)
    account = Account(
        account_no=f"QZ{upper}-ACCOUNT", debtor_id=debtor.id, product="cash_loan", currency="CNY",
        original_amount=amount, principal_outstanding=amount, interest_outstanding=Decimal("0.00"),
        fee_outstanding=Decimal("0.00"), penalty_outstanding=Decimal("0.00"), due_date=date(2023, 9, 1),
        status=AccountStatus.open, credit_balance=Decimal("0.00"),
    )
    session.add(account)
    session.flush()
    case = Case(
        case_no=f"QZ{upper}-CASE", batch_id=batch.id, account_id=account.id, agency_id=contract.agency_id,
        contract_id=contract.id, status=CaseStatus.placed, bucket="M2", dpd=45, balance_band=balance_band(amount),
        region="广东", credit_grade="B", balance_placed=amount, principal_placed=amount, placed_at=PLACED_AT,
        period_ends_on=date(2030, 6, 30), collector_user_id=collector.id if collector else None,
    )
    session.add(case)
    session.flush()
    refs = CaseRefs(case_id=case.id, case_no=case.case_no, account_no=account.account_no, debtor_id=debtor.id,
                    debtor_name=debtor.name, contact_name=f"联系人QZ{upper}")
    from weiwai.portfolio.number_refs import ensure_refs, refs_of_cases

    ensure_refs(session=session, case_ids=[case.id])
    refs.number_ref = next(target.ref for target in refs_of_cases(session=session, case_ids=[case.id])[case.id].values()
                           if target.party == "debtor")
    return case, account, refs


def _action_and_promise(session: Session, case: Case, refs: CaseRefs, collector: User | None) -> None:
    at = PLACED_AT + timedelta(days=2)
    action = CollectionAction(
        case_id=case.id, account_id=case.account_id, agency_id=case.agency_id,
        collector_user_id=collector.id if collector else None, channel="phone", occurred_at=at, party=Party.debtor,
        outcome=Outcome.promise_to_pay, notes=f"备注QZ{refs.case_no}", recorded_by="test",
    )
    session.add(action)
    session.flush()
    promise = PromiseToPay(
        action_id=action.id, case_id=case.id, account_id=case.account_id, amount=Decimal("100.00"),
        promised_on=at.date(), due_on=at.date() + timedelta(days=7), status=PromiseStatus.pending,
        paid_amount=Decimal("0.00"),
    )
    session.add(promise)
    session.flush()
    refs.action_id, refs.promise_id = action.id, promise.id


def _party(session: Session, key: str, batch: PlacementBatch) -> tuple[PartyRefs, dict[str, tuple[Case, Account]]]:
    agency, contract = _agency(session, key)
    manager = _user(session, f"qz{key}-manager", Role.agency_manager, agency.id)
    collectors = [_user(session, f"qz{key}-collector{n}", Role.collector, agency.id) for n in (1, 2)]
    token = _token(session, agency, key)
    party = PartyRefs(
        key=key, agency_id=agency.id, code=agency.code, legal_name=agency.legal_name, uscc=agency.uscc,
        contract_id=contract.id, contract_no=contract.contract_no, manager_id=manager.id, manager=manager.username,
        collector_ids=[c.id for c in collectors], collectors=[c.username for c in collectors], token_id=token.id,
        token_prefix=token.prefix,
    )
    rows = {}
    for name, collector in ((f"{key}1", collectors[0]), (f"{key}2", collectors[1])):
        case, account, refs = _case(session, key=name, batch=batch, contract=contract, collector=collector)
        _action_and_promise(session, case, refs, collector)
        party.cases[name] = refs
        rows[name] = (case, account)
    return party, rows


def _complaint_block_notice(session: Session, party: PartyRefs) -> None:
    """A complaint about the party's first case, a lifted placement block and a notice."""
    from weiwai.compliance.models import Complaint, LenderNotice, PlacementBlock

    refs = party.cases[f"{party.key}1"]
    case = session.get(Case, refs.case_id)
    complaint = Complaint(
        complaint_no=f"QZ{party.key.upper()}-COMPLAINT", source="debtor", account_id=case.account_id,
        debtor_id=refs.debtor_id, agency_id=party.agency_id, case_id=case.id,
        collector_user_id=case.collector_user_id, category="conduct", summary=f"投诉QZ{party.key.upper()}",
        received_at=PLACED_AT + timedelta(days=3), respond_by=date(2023, 12, 19), recorded_by="test",
    )
    block = PlacementBlock(agency_id=party.agency_id, reason="manual", details={}, created_by="test",
                           lifted_by="test", lifted_at=PLACED_AT, lift_reason="matrix")
    notice = LenderNotice(kind="placement_blocked", agency_id=party.agency_id, message="matrix", details={})
    session.add_all([complaint, block, notice])
    session.flush()
    party.complaint_no, party.block_id, party.notice_id = complaint.complaint_no, block.id, notice.id
    _infosec_review(session, party)


def _privacy_records(session: Session, party: PartyRefs) -> None:
    """The party's entrustment, an approved impact assessment and a deletion certificate (engineer C)."""
    from factories_privacy import approve_assessment
    from weiwai.privacy.deletion import CertificateCreate, submit_certificate
    from weiwai.privacy.entrustment import entrustment_of_contract

    party.entrustment_id = entrustment_of_contract(session=session, contract_id=party.contract_id).id
    party.assessment_id = approve_assessment(session, party.agency_id).id
    party.certificate_id = submit_certificate(
        session=session, agency_id=party.agency_id, actor="test", on_behalf=False,
        data=CertificateCreate(package_ids=[party.package_id], deleted_on=date(2024, 3, 1), method="secure_erase",
                               signed_by_name="matrix", signed_by_title="matrix", statement="matrix")).id


def _infosec_review(session: Session, party: PartyRefs) -> None:
    """A draft information-security review of the party with one finding."""
    from weiwai.privacy.infosec_models import InfosecFinding, InfosecReview

    review = InfosecReview(agency_id=party.agency_id, checklist_code="pipl_agency", checklist_version=1,
                           reviewed_on=date(2024, 3, 1), reviewer="matrix", status="draft", results={},
                           evidence_refs=[], created_by="test")
    session.add(review)
    session.flush()
    finding = InfosecFinding(review_id=review.id, agency_id=party.agency_id, item_code="AC-01", severity="high",
                             description="matrix", remediation_due_on=date(2024, 4, 1), status="open",
                             reported_by="test")
    session.add(finding)
    session.flush()
    party.infosec_review_id, party.infosec_finding_id = review.id, finding.id


def _templates(session: Session) -> dict[str, int]:
    """An approved message template and a draft one (lender-wide, not a party's)."""
    from weiwai.compliance.models import MessageTemplate, TemplateStatus

    body = "【{lender_name}】{agency_name}受{lender_name}委托提醒{debtor_name}：请致电{agency_phone}。"
    rows = {
        status: MessageTemplate(code=f"QZ-TEMPLATE-{status.value}", version=1, channel="sms", language="zh_CN",
                                audience="debtor", pack="CN", body=body, status=status, findings=[],
                                created_by="test", authors=["test"], reviewed_by="test-review")
        for status in (TemplateStatus.approved, TemplateStatus.draft)
    }
    session.add_all(rows.values())
    session.flush()
    return {"template_id": rows[TemplateStatus.approved].id, "draft_template_id": rows[TemplateStatus.draft].id}


def build_world(session: Session, *, store: Path) -> World:
    """Both agencies, the lender's users, cases, payments, statements, packages and scorecards."""
    rules = ScreeningRuleSet(name="authz", version=1, rules={}, sha256="0" * 64, created_by="test")
    session.add(rules)
    session.flush()
    batch = PlacementBatch(batch_no="QZ-BATCH", status=BatchStatus.active, rule_set_id=rules.id,
                           strategy={"name": "manual", "params": {}, "seed": 1}, as_of=PLACED_AT.date(),
                           created_by="test", activated_at=PLACED_AT)
    session.add(batch)
    session.flush()
    lender = {role: _user(session, f"qzlender-{role.value}", role) for role in LENDER_ROLES}

    a, a_rows = _party(session, "a", batch)
    b, b_rows = _party(session, "b", batch)
    # A's case that has ended: recalled, then closed. Its former agency must not see it.
    contract_a = session.get(Contract, a.contract_id)
    ended, ended_account, ended_refs = _case(session, key="aend", batch=batch, contract=contract_a,
                                             collector=session.get(User, a.collector_ids[0]))
    _action_and_promise(session, ended, ended_refs, None)
    end_case(session, ended, to=CaseStatus.recalled, at=utc(2024, 1, 20))
    a.cases["ended"] = ended_refs

    # Payments: a1 and b1 in January (issued statements), a2 in February (A's draft statement).
    for refs, (_case_row, account), paid_at in (
        (a.cases["a1"], a_rows["a1"], utc(2024, 1, 10)),
        (b.cases["b1"], b_rows["b1"], utc(2024, 1, 10)),
        (a.cases["a2"], a_rows["a2"], utc(2024, 2, 10)),
        (b.cases["b2"], b_rows["b2"], utc(2024, 2, 11)),
    ):
        refs.txn_id = pay(session, account=account, amount="100.00", paid_at=paid_at,
                          txn_id=f"QZ{refs.case_no.split('-')[0][2:]}-TXN").txn_id
    direct = Account(
        account_no="QZLENDER-ACCOUNT", debtor_id=a.cases["a1"].debtor_id, product="cash_loan", currency="CNY",
        original_amount=Decimal("500.00"), principal_outstanding=Decimal("500.00"),
        interest_outstanding=Decimal("0.00"), fee_outstanding=Decimal("0.00"), penalty_outstanding=Decimal("0.00"),
        due_date=date(2023, 9, 1), status=AccountStatus.open, credit_balance=Decimal("0.00"),
    )
    session.add(direct)
    session.flush()
    direct_txn = pay(session, account=direct, amount="5.00", paid_at=utc(2024, 1, 11), txn_id="QZLENDER-TXN").txn_id
    attribute_payments(session=session)

    statements_dir = store / "statements"
    statements_dir.mkdir(parents=True, exist_ok=True)
    january = {s.agency_id: s for s in run_period(session=session, period="2024-01").statements}
    for party in (a, b):
        issued = issue_statement(session=session, statement_id=january[party.agency_id].id, actor="test",
                                 out_dir=statements_dir).statement
        party.statement_id, party.statement_no = issued.id, issued.statement_no
    february = {s.agency_id: s for s in run_period(session=session, period="2024-02").statements}
    for party in (a, b):
        draft = february[party.agency_id]
        assert draft.status == StatementStatus.draft
        party.draft_statement_id, party.draft_statement_no = draft.id, draft.statement_no

    packages_dir = store / "packages"
    packages_dir.mkdir(parents=True, exist_ok=True)
    for party in (a, b):
        package = create_package(session=session, contract_no=party.contract_no, out_dir=packages_dir, actor="test")
        party.package_id, party.package_no = package.id, package.package_no
        _privacy_records(session, party)

    for party in (a, b):
        _complaint_block_notice(session, party)

    template_ids = _templates(session)
    store_batch_scorecards(session=session, batch_no=batch.batch_no, as_of=SCORECARD_DAY)
    session.flush()
    return World(
        a=a, b=b, lender_ids={role: user.id for role, user in lender.items()},
        lender_usernames={role: user.username for role, user in lender.items()}, batch_no=batch.batch_no,
        direct_txn_id=direct_txn, store=store, **template_ids,
    )
