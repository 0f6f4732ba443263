"""Entrustment records (PIPL art. 21) and impact assessments (art. 55) on SQLite and PostgreSQL."""

import json
from itertools import count
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from factories_collection import english_messages, make_world  # noqa: F401  (english_messages is autouse)
from factories_privacy import approve_assessment, assessment_data
from weiwai.agencies import service as agencies
from weiwai.agencies.models import AdmissionItem, AgencyStatus, ContractStatus
from weiwai.agencies.schemas import AgencyCreate, ContractCreate
from weiwai.agencies.uscc import make_uscc
from weiwai.errors import Conflict, IllegalTransition, RuleViolation
from weiwai.handover import service as handover
from weiwai.privacy import assessments, entrustment
from weiwai.privacy.entrustment import EntrustmentUpdate
from weiwai.privacy.models import Entrustment, EntrustmentStatus
from weiwai.security.models import AuditEvent

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
ACTOR = "user:alice"
ON = date(2025, 6, 15)
AT = datetime(2024, 3, 10, 2, 0, tzinfo=UTC)
_serial = count(500)


def new_agency(session, code="PV-A"):
    data = yaml.safe_load((EXAMPLES / "agency.yaml").read_text(encoding="utf-8"))
    data.update(code=code, uscc=make_uscc(f"91330106{next(_serial):09d}"))
    return agencies.create_agency(session=session, data=AgencyCreate.model_validate(data), actor=ACTOR)


def new_contract(session, agency, contract_no="PV-C1", **changes):
    data = yaml.safe_load((EXAMPLES / "contract.yaml").read_text(encoding="utf-8"))
    data.update(agency_code=agency.code, contract_no=contract_no, starts_on=date(2025, 1, 1),
                ends_on=date(2025, 12, 31), **changes)
    return agencies.create_contract(session=session, data=ContractCreate.model_validate(data), actor=ACTOR)


def ready_for_activation(session, code="PV-A"):
    agency = new_agency(session, code)
    for item in AdmissionItem:
        agencies.record_admission_check(session=session, agency=agency, item=item, completed_on=date(2024, 12, 1),
                                        evidence_ref="DD", actor=ACTOR)
    agencies.change_agency_status(session=session, agency=agency, to=AgencyStatus.approved, reason="ok", actor=ACTOR)
    contract = new_contract(session, agency, contract_no=f"{code}-C")
    agencies.change_contract_status(session=session, contract=contract, to=ContractStatus.active, reason="signed",
                                    actor=ACTOR, on=ON)
    return agency, contract


def activate(session, agency, on=ON):
    return agencies.change_agency_status(session=session, agency=agency, to=AgencyStatus.active, reason="go",
                                         actor=ACTOR, on=on)


# --- entrustment -----------------------------------------------------------------------------


def test_a_contract_gets_its_entrustment_with_categories_normalised(session):
    agency = new_agency(session)
    contract = new_contract(session, agency, entrustment={
        "purpose": "逾期账款催收", "duration": "合同期内", "processing_method": "电话、短信",
        "data_categories": ["姓名", "身份证号（掩码）", "手机号码", "联系人电话", "欠款金额", "逾期天数", "手机号"],
        "protection_measures": "加密、脱敏"})
    record = entrustment.entrustment_of_contract(session=session, contract_id=contract.id)
    assert record is not None and record.status == EntrustmentStatus.in_force
    assert record.data_categories == ["name", "national_id", "phone", "contacts", "debt", "overdue"]
    assert (record.agency_id, record.retention_days, record.version) == (agency.id, contract.retention_days, 1)
    assert record.sub_entrustment_allowed is False and record.sub_processors == []
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "entrustment.recorded")).one()
    assert event.entity_id == str(record.id)


def test_unknown_data_categories_are_refused_and_nothing_is_written(session):
    agency = new_agency(session)
    with pytest.raises(RuleViolation, match="宠物名字"):
        new_contract(session, agency, entrustment={
            "purpose": "催收", "duration": "合同期内", "processing_method": "电话",
            "data_categories": ["姓名", "宠物名字"], "protection_measures": "加密"})
    session.rollback()
    assert session.scalars(select(Entrustment)).all() == []


def test_changing_an_entrustment_bumps_its_version_and_audits_before_and_after(session):
    agency = new_agency(session)
    record = entrustment.entrustment_of_contract(session=session, contract_id=new_contract(session, agency).id)
    with pytest.raises(RuleViolation, match="sub-entrustment is not allowed"):
        entrustment.update_entrustment(session=session, entrustment=record, actor=ACTOR,
                                       data=EntrustmentUpdate(sub_processors=["某外呼服务商"]))
    assert record.version == 1
    entrustment.update_entrustment(session=session, entrustment=record, actor=ACTOR, data=EntrustmentUpdate(
        sub_entrustment_allowed=True, sub_processors=["某外呼服务商"], data_categories=["name", "电话"],
        retention_days=15))
    assert record.version == 2 and record.data_categories == ["name", "phone"] and record.retention_days == 15
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "entrustment.changed")).one()
    assert event.details["before"]["sub_processors"] == [] and event.details["after"]["retention_days"] == 15
    with pytest.raises(RuleViolation, match="unknown personal data"):
        entrustment.update_entrustment(session=session, entrustment=record, actor=ACTOR,
                                       data=EntrustmentUpdate(data_categories=["bank password"]))
    # Taking the permission away while sub-processors are listed is refused too.
    with pytest.raises(RuleViolation, match="sub-entrustment"):
        entrustment.update_entrustment(session=session, entrustment=record, actor=ACTOR,
                                       data=EntrustmentUpdate(sub_entrustment_allowed=False))


def test_terminating_the_contract_ends_the_entrustment_and_stops_data_release(session, tmp_path):
    world = make_world(session)
    record = entrustment.entrustment_of_contract(session=session, contract_id=world.contract.id)
    package = handover.create_package(session=session, contract_no=world.contract.contract_no, out_dir=tmp_path,
                                      actor=ACTOR, at=AT)
    assert (package.entrustment_id, package.entrustment_version) == (record.id, record.version)
    manifest = json.loads((tmp_path / f"{package.package_no}.manifest.json").read_text(encoding="utf-8"))
    assert manifest["entrustment"] == {"id": record.id, "version": record.version}

    agencies.change_contract_status(session=session, contract=world.contract, to=ContractStatus.terminated,
                                    reason="breach", actor=ACTOR)
    assert record.status == EntrustmentStatus.ended and record.ended_at is not None
    with pytest.raises(Conflict):
        entrustment.update_entrustment(session=session, entrustment=record, actor=ACTOR,
                                       data=EntrustmentUpdate(retention_days=5))
    with pytest.raises(IllegalTransition):
        entrustment.end_entrustment(session=session, entrustment=record, reason="again", actor=ACTOR)


def test_a_package_is_refused_without_an_entrustment_in_force(session, tmp_path):
    world = make_world(session)
    record = entrustment.entrustment_of_contract(session=session, contract_id=world.contract.id)
    entrustment.end_entrustment(session=session, entrustment=record, reason="test", actor=ACTOR)
    with pytest.raises(RuleViolation, match="no entrustment in force"):
        handover.create_package(session=session, contract_no=world.contract.contract_no, out_dir=tmp_path,
                                actor=ACTOR, at=AT)
    assert list(tmp_path.iterdir()) == []


def test_the_daily_job_ends_entrustments_whose_term_is_over(session):
    agency = new_agency(session)
    contract = new_contract(session, agency)  # term ends 2025-12-31
    assert entrustment.end_lapsed(session=session, on=date(2025, 12, 31), actor="job") == 0
    assert entrustment.end_lapsed(session=session, on=date(2026, 1, 1), actor="job") == 1
    session.expire_all()
    assert entrustment.entrustment_of_contract(session=session, contract_id=contract.id).status == "ended"
    assert entrustment.end_lapsed(session=session, on=date(2026, 1, 2), actor="job") == 0


# --- impact assessments and activation -------------------------------------------------------


def test_activation_is_refused_without_an_approved_assessment(session):
    agency, _contract = ready_for_activation(session)
    with pytest.raises(RuleViolation, match="impact assessment"):
        activate(session, agency)
    draft = assessments.create_assessment(session=session, data=assessment_data(agency.id), actor="user:ann")
    with pytest.raises(RuleViolation, match="impact assessment"):
        activate(session, agency)
    assessments.submit_assessment(session=session, assessment=draft, actor="user:ann")
    with pytest.raises(RuleViolation, match="four eyes"):
        assessments.decide_assessment(session=session, assessment=draft, approve=True, actor="user:ann")
    assessments.decide_assessment(session=session, assessment=draft, approve=True, actor="user:bob")
    assert (draft.status, draft.decided_by, draft.valid_until) == ("approved", "user:bob", date(2027, 12, 1))
    assert activate(session, agency).status == AgencyStatus.active
    # Suspended -> active is held to the same rule, judged on the day.
    agencies.change_agency_status(session=session, agency=agency, to=AgencyStatus.suspended, reason="x", actor=ACTOR)
    with pytest.raises(RuleViolation, match="impact assessment"):
        activate(session, agency, on=date(2027, 12, 2))  # expired by then (and the contract ended too)


def test_an_expired_rejected_or_unacceptable_assessment_does_not_count(session):
    agency, _contract = ready_for_activation(session)
    approve_assessment(session, agency.id, assessed_on=date(2022, 1, 1))  # valid until 2025-01-01
    approve_assessment(session, agency.id, conclusion="unacceptable")
    rejected = assessments.create_assessment(session=session, data=assessment_data(agency.id), actor="user:ann")
    assessments.submit_assessment(session=session, assessment=rejected, actor="user:ann")
    assessments.decide_assessment(session=session, assessment=rejected, approve=False, actor="user:bob")
    with pytest.raises(IllegalTransition):
        assessments.decide_assessment(session=session, assessment=rejected, approve=True, actor="user:bob")
    with pytest.raises(RuleViolation, match="impact assessment"):
        activate(session, agency)
    approve_assessment(session, agency.id, conclusion="acceptable_with_conditions")
    assert activate(session, agency).status == AgencyStatus.active


def test_assessments_must_be_sound_input():
    with pytest.raises(ValueError, match="conditions"):
        assessment_data(1, conclusion="acceptable_with_conditions", conditions=None)
    with pytest.raises(ValueError):
        assessment_data(1, risks=[{"risk": "x", "likelihood": "extreme", "impact": "low", "measure": "y"}])
