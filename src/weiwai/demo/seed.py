"""Seed a demo database: a generated book imported through the real import path, flags,
agencies with admission and contracts, demo users, and the lender's recent payments."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from weiwai.agencies.models import AdmissionItem, AgencyStatus, ContractStatus
from weiwai.agencies.schemas import AgencyCreate, ContractCreate
from weiwai.demo.agencies_gen import AGENCIES, agency_payload, contract_payload
from weiwai.demo.files import write_csv, write_xlsx
from weiwai.demo.payments_gen import PAYMENT_COLUMNS, generate_payments
from weiwai.demo.portfolio_gen import ACCOUNT_COLUMNS, PortfolioGenerator
from weiwai.portfolio.models import Account, Debtor

ACTOR = "demo"
# Share of debtors carrying each flag: rare, as in a real book, but present.
FLAG_SHARES = {
    "deceased": 0.003, "bankrupt": 0.003, "in_litigation": 0.01, "disputed": 0.01,
    "cease_contact": 0.005, "vulnerable": 0.01,
}


@dataclass
class SeedReport:
    accounts: int
    payments: int
    agencies: int
    users: int
    files: list[Path]


def portfolio_is_empty(*, session: Session) -> bool:
    """True when no account exists yet (the demo only seeds an empty database)."""
    return session.scalar(select(func.count()).select_from(Account)) == 0


def write_demo_files(
    *, directory: Path, accounts: int, seed: int, as_of: date, payments_until: date | None = None
) -> list[Path]:
    """Generate the book and write it as the files a lender would import.

    Payments are the lender's history up to `payments_until` (default: as_of).
    """
    rows = list(PortfolioGenerator(seed=seed, as_of=as_of).accounts(accounts))
    payments = list(generate_payments(rows, seed=seed, as_of=payments_until or as_of))
    return [
        write_csv(directory / "accounts.csv", ACCOUNT_COLUMNS, rows),
        write_csv(directory / "accounts-gbk.csv", ACCOUNT_COLUMNS, rows, encoding="gb18030"),
        write_xlsx(directory / "accounts.xlsx", ACCOUNT_COLUMNS, rows),
        write_csv(directory / "payments.csv", PAYMENT_COLUMNS, payments),
        write_xlsx(directory / "payments.xlsx", PAYMENT_COLUMNS, payments),
    ]


def seed_demo(
    *,
    session: Session,
    accounts: int,
    seed: int,
    as_of: date,
    files_dir: Path | None = None,
    payments_until: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Fill an empty database with a lived-in demo portfolio (one transaction, the caller's)."""
    from weiwai.portfolio.importing import import_accounts, import_payments

    say = progress or (lambda _message: None)
    with tempfile.TemporaryDirectory() as tmp:
        directory = files_dir or Path(tmp)
        say(f"generating {accounts} accounts")
        files = write_demo_files(directory=directory, accounts=accounts, seed=seed, as_of=as_of,
                                 payments_until=payments_until)
        say("importing accounts")
        imported = import_accounts(session=session, path=directory / "accounts.csv", actor=ACTOR, as_of=as_of)
        _flag_debtors(session=session, seed=seed)
        say("registering agencies and contracts")
        agency_ids = _seed_agencies(session=session, as_of=as_of)
        say("creating demo users")
        users = _seed_users(session=session, agency_ids=agency_ids)
        _qualify_collectors(session=session, users=users, as_of=as_of)
        say("importing payments")
        paid = import_payments(session=session, path=directory / "payments.csv", actor=ACTOR)
        kept_files = files if files_dir else []
    return SeedReport(accounts=imported.rows, payments=paid.rows, agencies=len(agency_ids), users=len(users),
                      files=kept_files)


def _flag_debtors(*, session: Session, seed: int) -> None:
    rng = random.Random(seed + 17)
    ids = list(session.scalars(select(Debtor.id).order_by(Debtor.id)))
    for flag, share in FLAG_SHARES.items():
        chosen = rng.sample(ids, k=max(1, int(len(ids) * share))) if ids else []
        if chosen:
            session.execute(update(Debtor).where(Debtor.id.in_(chosen)).values({flag: True}))


def _seed_agencies(*, session: Session, as_of: date) -> dict[str, int]:
    from weiwai.agencies.service import (
        change_agency_status,
        change_contract_status,
        create_agency,
        create_contract,
        record_admission_check,
    )

    ids: dict[str, int] = {}
    for number, demo in enumerate(AGENCIES, start=1):
        agency = create_agency(session=session, data=AgencyCreate(**agency_payload(demo)), actor=ACTOR)
        ids[demo.code] = agency.id
        if demo.status == AgencyStatus.applying:
            record_admission_check(session=session, agency=agency, item=AdmissionItem.due_diligence,
                                   completed_on=as_of - timedelta(days=10), evidence_ref=f"DD-{demo.code}-2026",
                                   actor=ACTOR)
            continue
        for item in AdmissionItem:
            record_admission_check(session=session, agency=agency, item=item,
                                   completed_on=as_of - timedelta(days=260),
                                   evidence_ref=f"{item.value.upper()}-{demo.code}-2026", actor=ACTOR)
        change_agency_status(session=session, agency=agency, to=AgencyStatus.approved,
                             reason="尽职调查与准入材料齐全，列入白名单", actor=ACTOR, on=as_of)
        contract = create_contract(
            session=session, data=ContractCreate(**contract_payload(demo, as_of=as_of, number=number)), actor=ACTOR
        )
        change_contract_status(session=session, contract=contract, to=ContractStatus.active,
                               reason="合同与保密协议已签署", actor=ACTOR, on=as_of)
        _approve_impact_assessment(session=session, agency=agency, contract=contract, as_of=as_of)
        change_agency_status(session=session, agency=agency, to=AgencyStatus.active,
                             reason="合同生效，开始接收委案", actor=ACTOR, on=as_of)
        if demo.status == AgencyStatus.suspended:
            change_agency_status(session=session, agency=agency, to=AgencyStatus.suspended,
                                 reason="季度评估发现录音缺失，暂停新委案待整改", actor=ACTOR, on=as_of)
    return ids


def _approve_impact_assessment(*, session: Session, agency, contract, as_of: date) -> None:
    """PIPL art. 55: the agency's impact assessment, filed by infosec and approved by compliance."""
    from weiwai.privacy import assessments
    from weiwai.privacy.entrustment import entrustment_of_contract

    entrustment = entrustment_of_contract(session=session, contract_id=contract.id)
    data = assessments.AssessmentCreate(
        agency_id=agency.id, entrustment_id=entrustment.id if entrustment else None,
        assessed_on=as_of - timedelta(days=30), scope="委托催收：向机构提供债务人姓名、掩码后的证件号与联系方式、欠款与逾期信息",
        risks=[
            {"risk": "机构人员批量导出或外泄债务人信息", "likelihood": "medium", "impact": "high",
             "measure": "只提供掩码数据与号码引用，交接包含金丝雀记录，按机构审计"},
            {"risk": "联系第三人时泄露债务信息", "likelihood": "medium", "impact": "medium",
             "measure": "联系前合规检查，话术模板审批，录音抽检"},
        ],
        conclusion="acceptable_with_conditions", conditions="每季度复核机构信息安全整改情况",
        evidence_ref=f"PIA-{agency.code}-2026",
    )
    assessment = assessments.create_assessment(session=session, data=data, actor="demo:infosec")
    assessments.submit_assessment(session=session, assessment=assessment, actor="demo:infosec")
    assessments.decide_assessment(session=session, assessment=assessment, approve=True, actor="demo:compliance",
                                  note="结论可接受，附条件")


def _qualify_collectors(*, session: Session, users: list, as_of: date) -> None:
    """CN-10: the demo collectors' background check, training and confidentiality agreement, on file."""
    from weiwai.compliance.qualifications import qualify_fully
    from weiwai.security.models import Role

    for user in users:
        if user.role == Role.collector:
            qualify_fully(session=session, user=user, completed_on=as_of - timedelta(days=30), actor=ACTOR,
                          evidence_prefix=f"{user.username}-")


def _seed_users(*, session: Session, agency_ids: dict[str, int]) -> list:
    from weiwai.security.demo_users import seed_demo_users

    return seed_demo_users(session=session, agency_ids_by_code=agency_ids)
