"""Handover packages on SQLite and PostgreSQL: what goes out, to whom, and the record of it."""

import csv
import json
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from factories_collection import (
    english_messages,  # noqa: F401  (autouse)
    make_account,
    make_agency,
    make_batch,
    make_case,
    make_contract,
    make_debtor,
    make_world,
)
from weiwai.agencies.models import AgencyStatus, ContractStatus
from weiwai.errors import Conflict, NotFound, RuleViolation
from weiwai.handover import service
from weiwai.handover.models import HandoverPackageCase
from weiwai.handover.policy import RELEASABLE_FIELDS
from weiwai.placements.models import CaseStatus
from weiwai.security.models import AuditEvent

AT = datetime(2024, 3, 10, 2, 0, tzinfo=UTC)
NID = "110101199003070015"
PHONE = "13912345678"
CONTACT_PHONE = "13787654321"


# Case numbers of the canary records planted in the packages made here (weiwai.privacy.canaries):
# these tests are about the real rows, tests/integration/test_canaries.py about the canaries.
CANARIES: dict[str, set[str]] = {}  # package_no -> canary case numbers


def read_csv(path):
    with path.open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    return [row for row in (dict(zip(table[0], row, strict=True)) for row in table[1:])
            if row.get("case_no") not in CANARIES.get(path.name.split(".")[0], set())]


def read_xlsx(path):
    sheet = load_workbook(path).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    return [row for row in (dict(zip(rows[0], row, strict=True)) for row in rows[1:])
            if row.get("case_no") not in CANARIES.get(path.name.split(".")[0], set())]


def create(session, world, tmp_path, **kwargs):
    from weiwai.privacy.canary_models import CanaryRecord

    package = service.create_package(
        session=session, contract_no=world.contract.contract_no, out_dir=tmp_path, actor="user:ops", at=AT, **kwargs
    )
    CANARIES[package.package_no] = set(session.scalars(
        select(CanaryRecord.case_no).where(CanaryRecord.package_id == package.id)))
    return package


@pytest.fixture
def world(session):
    world = make_world(session)
    debtor = make_debtor(session, name="赵六", nid=NID, phones=[PHONE],
                         contacts=[("钱七", "spouse", CONTACT_PHONE)])
    world.case2 = make_case(session, contract=world.contract, account=make_account(session, debtor=debtor))
    return world


def test_default_policy_masks_personal_data_in_both_files(session, world, tmp_path):
    package = create(session, world, tmp_path)
    for rows in (read_csv(tmp_path / f"{package.package_no}.csv"), read_xlsx(tmp_path / f"{package.package_no}.xlsx")):
        assert list(rows[0]) == list(RELEASABLE_FIELDS)
        row = next(row for row in rows if row["case_no"] == world.case2.case_no)
        assert row["national_id"] == "110***********0015"
        assert row["mobile"] == "139****5678"
        assert row["contact_phone"] == "137****4321"
        assert row["contact_name"] == "钱七" and row["contact_relation"] == "spouse"
        assert row["address"].startswith("广东省深圳市") and "科技园" not in row["address"]
        assert row["debtor_name"] == "赵六"
        assert PHONE not in json.dumps(row, ensure_ascii=False) and NID not in json.dumps(row, ensure_ascii=False)


def test_only_permitted_fields_appear_and_full_fields_are_revealed(session, tmp_path):
    world = make_world(session, handover_fields={"case_no": "full", "mobile": "full", "debtor_name": "masked",
                                                 "total_outstanding": "full", "dpd": "full"},
                       phones=[PHONE])
    package = create(session, world, tmp_path)
    csv_rows = read_csv(tmp_path / f"{package.package_no}.csv")
    xlsx_rows = read_xlsx(tmp_path / f"{package.package_no}.xlsx")
    for rows in (csv_rows, xlsx_rows):
        assert list(rows[0]) == ["case_no", "debtor_name", "mobile", "total_outstanding", "dpd"]
        assert rows[0]["mobile"] == PHONE
        assert rows[0]["debtor_name"] == "李*"
    assert csv_rows[0]["total_outstanding"] == "5370.00"
    assert xlsx_rows[0]["total_outstanding"] == 5370.0
    # 2024-03-10 in Shanghai, due 2024-01-15: 55 days past due.
    assert csv_rows[0]["dpd"] == "55" and xlsx_rows[0]["dpd"] == 55
    assert package.fields == {"case_no": "full", "debtor_name": "masked", "mobile": "full",
                              "total_outstanding": "full", "dpd": "full"}


def test_formula_injection_is_neutralised_in_both_files(session, tmp_path):
    world = make_world(session)
    world.debtor.name = "=cmd|' /C calc'!A0"
    world.account.overdue_reason = "@SUM(1+1)"
    world.account.product = "+hack"
    session.flush()
    package = create(session, world, tmp_path)
    for rows in (read_csv(tmp_path / f"{package.package_no}.csv"), read_xlsx(tmp_path / f"{package.package_no}.xlsx")):
        assert rows[0]["debtor_name"] == "'=cmd|' /C calc'!A0"
        assert rows[0]["overdue_reason"] == "'@SUM(1+1)"
        assert rows[0]["product"] == "'+hack"


def test_only_open_cases_of_that_agency_under_that_contract(session, world, tmp_path):
    make_case(session, contract=world.contract, status=CaseStatus.closed)
    make_case(session, contract=world.contract, status=CaseStatus.recalled)
    promised = make_case(session, contract=world.contract, status=CaseStatus.promised)
    other_contract = make_contract(session, agency=world.agency)
    make_case(session, contract=other_contract)
    other_agency = make_contract(session, agency=make_agency(session))
    make_case(session, contract=other_agency)
    package = create(session, world, tmp_path)
    listed = {row["case_no"] for row in read_csv(tmp_path / f"{package.package_no}.csv")}
    assert listed == {world.case.case_no, world.case2.case_no, promised.case_no}
    assert package.row_count == 3


def test_a_batch_limits_the_package_to_its_cases(session, world, tmp_path):
    batch = make_batch(session)
    in_batch = make_case(session, contract=world.contract, batch=batch)
    package = create(session, world, tmp_path, batch_no=batch.batch_no)
    assert [row["case_no"] for row in read_csv(tmp_path / f"{package.package_no}.csv")] == [in_batch.case_no]
    assert package.batch_id == batch.id


def test_package_is_recorded_with_its_cases_and_an_audit_event(session, world, tmp_path):
    package = create(session, world, tmp_path)
    recorded = set(session.scalars(select(HandoverPackageCase.case_id).where(
        HandoverPackageCase.package_id == package.id)))
    assert recorded == {world.case.id, world.case2.id}
    assert package.created_by == "user:ops" and package.created_at == AT
    assert package.agency_id == world.agency.id and package.contract_id == world.contract.id
    manifest = json.loads((tmp_path / f"{package.package_no}.manifest.json").read_text(encoding="utf-8"))
    assert {item["name"]: item["sha256"] for item in manifest["files"]}.items() <= package.files.items()
    assert len(package.files) == 3
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "handover.package",
                                                     AuditEvent.entity_id == package.package_no)).one()
    assert event.actor == "user:ops"
    assert event.details["row_count"] == 2 and event.details["fields"]["mobile"] == "masked"


@pytest.mark.parametrize("change", ["draft", "expired", "unsigned"])
def test_no_package_unless_the_contract_is_usable(session, tmp_path, change):
    world = make_world(session)
    if change == "draft":
        world.contract.status = ContractStatus.draft
    elif change == "expired":
        world.contract.ends_on = date(2024, 3, 1)
    else:
        world.contract.confidentiality_signed_on = None
    session.flush()
    with pytest.raises(RuleViolation, match="not usable"):
        create(session, world, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_no_package_for_a_suspended_agency(session, tmp_path):
    world = make_world(session)
    world.agency.status = AgencyStatus.suspended
    session.flush()
    with pytest.raises(RuleViolation, match="suspended"):
        create(session, world, tmp_path)


def test_no_package_without_open_cases(session, tmp_path):
    world = make_world(session, status=CaseStatus.closed)
    with pytest.raises(RuleViolation, match="no open cases"):
        create(session, world, tmp_path)


def test_an_invalid_stored_policy_is_refused(session, tmp_path):
    world = make_world(session, handover_fields={"case_no": "full", "bank_card": "full"})
    with pytest.raises(RuleViolation, match="bank_card"):
        create(session, world, tmp_path)


def test_unknown_contract_or_batch(session, world, tmp_path):
    with pytest.raises(NotFound):
        service.create_package(session=session, contract_no="NOPE", out_dir=tmp_path, actor="x", at=AT)
    with pytest.raises(NotFound):
        create(session, world, tmp_path, batch_no="NOPE")


def test_download_serves_the_recorded_file_and_is_audited(session, world, tmp_path):
    package = create(session, world, tmp_path)
    found = service.read_package_file(session=session, package=package, kind="csv", actor="user:agent")
    assert found.content == (tmp_path / found.name).read_bytes()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "handover.download")).one()
    assert event.actor == "user:agent" and event.details["file"] == found.name


def test_a_changed_file_is_not_served(session, world, tmp_path):
    package = create(session, world, tmp_path)
    path = tmp_path / f"{package.package_no}.xlsx"
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(Conflict):
        service.read_package_file(session=session, package=package, kind="xlsx", actor="user:agent")


def test_verify_against_the_record(session, world, tmp_path):
    package = create(session, world, tmp_path)
    manifest = tmp_path / f"{package.package_no}.manifest.json"
    assert all(check.ok for check in service.verify_against_record(session=session, manifest=manifest))
    csv_path = tmp_path / f"{package.package_no}.csv"
    csv_path.write_bytes(csv_path.read_bytes().replace(b"5370.00", b"5370.01", 1))
    failed = [c.name for c in service.verify_against_record(session=session, manifest=manifest) if not c.ok]
    assert failed == [csv_path.name]


def test_list_packages_by_agency_and_contract(session, world, tmp_path):
    first = create(session, world, tmp_path)
    other = make_world(session)
    second = service.create_package(session=session, contract_no=other.contract.contract_no, out_dir=tmp_path,
                                    actor="user:ops", at=AT)
    assert service.list_packages(session=session, agency_id=world.agency.id).items == [first]
    assert service.list_packages(session=session, contract_no=other.contract.contract_no).items == [second]
    assert service.list_packages(session=session).total >= 2
