"""Agency services on SQLite and PostgreSQL: registration, details, checklist, lifecycle, history, audit."""

from datetime import date
from decimal import Decimal
from itertools import count
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from factories_privacy import approve_assessment
from weiwai.agencies import service
from weiwai.agencies.models import AdmissionItem, AgencyStatus, ContractStatus
from weiwai.agencies.schemas import AgencyCreate, AgencyUpdate, ContractCreate
from weiwai.agencies.uscc import make_uscc
from weiwai.errors import Conflict, IllegalTransition, NotFound, RuleViolation
from weiwai.i18n import using_locale
from weiwai.security.models import AuditEvent

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
ACTOR = "user:alice"
ON = date(2025, 6, 15)
_serial = count(1)


@pytest.fixture(autouse=True)
def english():
    with using_locale("en"):
        yield


def agency_data(code: str, **changes) -> AgencyCreate:
    data = yaml.safe_load((EXAMPLES / "agency.yaml").read_text(encoding="utf-8"))
    data.update(code=code, uscc=make_uscc(f"91330106{next(_serial):09d}"), **changes)
    return AgencyCreate.model_validate(data)


def contract_data(agency_code: str, contract_no: str, **changes) -> ContractCreate:
    data = yaml.safe_load((EXAMPLES / "contract.yaml").read_text(encoding="utf-8"))
    data.update(agency_code=agency_code, contract_no=contract_no, starts_on=date(2025, 1, 1),
                ends_on=date(2025, 12, 31), **changes)
    return ContractCreate.model_validate(data)


def register(session, code: str = "HZ-A", **changes):
    return service.create_agency(session=session, data=agency_data(code, **changes), actor=ACTOR)


def admit(session, agency) -> None:
    for item in AdmissionItem:
        service.record_admission_check(session=session, agency=agency, item=item, completed_on=date(2024, 12, 1),
                                       evidence_ref=f"DD/{item.value}", actor=ACTOR)


def usable_contract(session, agency, contract_no: str = "C-1"):
    contract = service.create_contract(session=session, data=contract_data(agency.code, contract_no), actor=ACTOR)
    service.change_contract_status(session=session, contract=contract, to=ContractStatus.active, reason="signed",
                                   actor=ACTOR, on=ON)
    return contract


def activate(session, agency):
    admit(session, agency)
    service.change_agency_status(session=session, agency=agency, to=AgencyStatus.approved, reason="ok", actor=ACTOR)
    usable_contract(session, agency)
    approve_assessment(session, agency.id)  # PIPL art. 55: an impact assessment before entrusting
    return service.change_agency_status(session=session, agency=agency, to=AgencyStatus.active, reason="go",
                                        actor=ACTOR, on=ON)


def audit_actions(session, entity: str, entity_id: int) -> list[str]:
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.id)
    )
    return [row.action for row in rows]


# --- registration and details ----------------------------------------------------------


def test_a_new_agency_is_applying_with_history_and_audit(session):
    agency = register(session)
    assert agency.id is not None and agency.status == AgencyStatus.applying
    [first] = service.agency_status_history(session=session, agency=agency.id)
    assert (first.from_status, first.to_status, first.changed_by) == (None, "applying", ACTOR)
    assert first.reason
    assert audit_actions(session, "agency", agency.id) == ["agency.created"]


def test_code_and_uscc_must_be_new(session):
    first = register(session, "HZ-A")
    with pytest.raises(Conflict, match="code HZ-A"):
        register(session, "HZ-A")
    with pytest.raises(Conflict, match=first.uscc):
        service.create_agency(session=session, data=agency_data("HZ-B").model_copy(update={"uscc": first.uscc}),
                              actor=ACTOR)


def test_agencies_are_found_by_id_or_code(session):
    agency = register(session, "HZ-A")
    assert service.get_agency(session=session, agency=agency.id) is agency
    assert service.get_agency(session=session, agency="hz-a") is agency
    with pytest.raises(NotFound):
        service.get_agency(session=session, agency="NOPE")
    with pytest.raises(NotFound):
        service.get_agency(session=session, agency=agency.id + 1000)


def test_details_are_updated_and_audited(session):
    agency = register(session)
    service.update_agency(session=session, agency=agency.id,
                          data=AgencyUpdate(capacity_cases=9, capacity_balance=Decimal("5"), licence_no=None),
                          actor=ACTOR)
    session.expire_all()
    agency = service.get_agency(session=session, agency=agency.id)
    assert (agency.capacity_cases, agency.capacity_balance, agency.licence_no) == (9, Decimal("5.00"), None)
    assert audit_actions(session, "agency", agency.id)[-1] == "agency.updated"


def test_regions_cannot_shrink_below_an_open_contracts_regions(session):
    agency = register(session, regions_served=["浙江", "上海"])
    service.create_contract(session=session, data=contract_data(agency.code, "C-1", permitted_regions=["上海"]),
                            actor=ACTOR)
    with pytest.raises(RuleViolation, match="上海"):
        service.update_agency(session=session, agency=agency, data=AgencyUpdate(regions_served=["浙江"]), actor=ACTOR)
    service.update_agency(session=session, agency=agency, data=AgencyUpdate(regions_served=["上海"]), actor=ACTOR)


def test_a_terminated_agency_is_read_only(session):
    agency = register(session)
    service.change_agency_status(session=session, agency=agency, to=AgencyStatus.terminated, reason="x", actor=ACTOR)
    with pytest.raises(Conflict, match="terminated"):
        service.update_agency(session=session, agency=agency, data=AgencyUpdate(capacity_cases=1), actor=ACTOR)
    with pytest.raises(RuleViolation, match="terminated"):
        service.record_admission_check(session=session, agency=agency, item=AdmissionItem.due_diligence,
                                       completed_on=date(2024, 1, 1), evidence_ref="x", actor=ACTOR)


# --- listing ------------------------------------------------------------------------------


def test_listing_filters_by_status_and_region_and_pages(session):
    a = register(session, "HZ-A", regions_served=["浙江", "上海"])
    b = register(session, "SH-B", regions_served=["上海"])
    c = register(session, "BJ-C", regions_served=["北京"])
    service.change_agency_status(session=session, agency=c, to=AgencyStatus.terminated, reason="x", actor=ACTOR)

    def codes(**filters):
        page = service.list_agencies(session=session, **filters)
        return [agency.code for agency in page.items], page.total

    assert codes() == (["BJ-C", "HZ-A", "SH-B"], 3)
    assert codes(region="上海") == (["HZ-A", "SH-B"], 2)
    assert codes(region="浙") == ([], 0)  # whole region names, not substrings
    assert codes(status=AgencyStatus.terminated) == (["BJ-C"], 1)
    assert codes(status=AgencyStatus.applying, region="上海", limit=1) == (["HZ-A"], 2)
    assert codes(status=AgencyStatus.applying, region="上海", offset=1, limit=1) == (["SH-B"], 2)
    assert codes(agency_id=b.id) == (["SH-B"], 1)
    assert a.id != b.id


@pytest.mark.parametrize("paging", [{"limit": 0}, {"limit": 201}, {"offset": -1}])
def test_listing_refuses_bad_paging(session, paging):
    with pytest.raises(RuleViolation):
        service.list_agencies(session=session, **paging)


# --- admission checklist ------------------------------------------------------------------


def test_admission_items_are_filed_once_with_evidence_and_audit(session):
    agency = register(session)
    check = service.record_admission_check(session=session, agency=agency.code, item=AdmissionItem.due_diligence,
                                           completed_on=date(2024, 12, 1), evidence_ref=" DD-2024-17 ", actor=ACTOR)
    assert (check.evidence_ref, check.recorded_by, check.completed_on) == ("DD-2024-17", ACTOR, date(2024, 12, 1))
    assert audit_actions(session, "agency", agency.id)[-1] == "agency.admission_checked"
    with pytest.raises(Conflict, match="already on file"):
        service.record_admission_check(session=session, agency=agency, item=AdmissionItem.due_diligence,
                                       completed_on=date(2024, 12, 2), evidence_ref="again", actor=ACTOR)


def test_admission_items_need_evidence_and_a_date_not_in_the_future(session):
    agency = register(session)
    with pytest.raises(RuleViolation, match="evidence"):
        service.record_admission_check(session=session, agency=agency, item=AdmissionItem.collectors_trained,
                                       completed_on=date(2024, 12, 1), evidence_ref="  ", actor=ACTOR)
    with pytest.raises(RuleViolation, match="in the future"):
        service.record_admission_check(session=session, agency=agency, item=AdmissionItem.collectors_trained,
                                       completed_on=date(2999, 1, 1), evidence_ref="x", actor=ACTOR)


# --- lifecycle ------------------------------------------------------------------------------


def test_the_whole_lifecycle_is_recorded_with_reasons_and_actors(session):
    agency = register(session)
    activate(session, agency)
    service.change_agency_status(session=session, agency=agency, to=AgencyStatus.suspended, reason="complaints",
                                 actor="user:bob")
    service.change_agency_status(session=session, agency=agency, to=AgencyStatus.active, reason="remedied",
                                 actor="user:bob", on=ON)
    service.change_agency_status(session=session, agency=agency, to=AgencyStatus.terminated, reason="ended",
                                 actor="user:carol")
    session.expire_all()
    history = [(c.from_status, c.to_status, c.reason, c.changed_by)
               for c in service.agency_status_history(session=session, agency=agency.id)][1:]
    assert history == [
        ("applying", "approved", "ok", ACTOR),
        ("approved", "active", "go", ACTOR),
        ("active", "suspended", "complaints", "user:bob"),
        ("suspended", "active", "remedied", "user:bob"),
        ("active", "terminated", "ended", "user:carol"),
    ]
    actions = audit_actions(session, "agency", agency.id)
    assert actions.count("agency.status_changed") == 5


def test_approval_needs_the_complete_checklist(session):
    agency = register(session)
    service.record_admission_check(session=session, agency=agency, item=AdmissionItem.due_diligence,
                                   completed_on=date(2024, 12, 1), evidence_ref="x", actor=ACTOR)
    with pytest.raises(RuleViolation, match="collectors_background_checked, collectors_trained"):
        service.change_agency_status(session=session, agency=agency, to=AgencyStatus.approved, reason="x",
                                     actor=ACTOR)
    assert service.get_agency(session=session, agency=agency.id).status == AgencyStatus.applying


def test_activation_needs_a_contract_usable_on_that_day(session):
    agency = register(session)
    admit(session, agency)
    service.change_agency_status(session=session, agency=agency, to=AgencyStatus.approved, reason="ok", actor=ACTOR)
    with pytest.raises(RuleViolation, match="no usable contract"):
        service.change_agency_status(session=session, agency=agency, to=AgencyStatus.active, reason="x",
                                     actor=ACTOR, on=ON)
    usable_contract(session, agency)  # term 2025-01-01 .. 2025-12-31
    approve_assessment(session, agency.id)
    with pytest.raises(RuleViolation, match="no usable contract"):
        service.change_agency_status(session=session, agency=agency, to=AgencyStatus.active, reason="x",
                                     actor=ACTOR, on=date(2026, 1, 1))
    service.change_agency_status(session=session, agency=agency, to=AgencyStatus.active, reason="x", actor=ACTOR,
                                 on=date(2025, 12, 31))


def test_a_reason_is_required(session):
    agency = register(session)
    with pytest.raises(RuleViolation, match="reason"):
        service.change_agency_status(session=session, agency=agency, to=AgencyStatus.terminated, reason=" ",
                                     actor=ACTOR)


def test_illegal_changes_are_refused_and_change_nothing(session):
    agency = register(session)
    with pytest.raises(IllegalTransition, match="from applying to active"):
        service.change_agency_status(session=session, agency=agency, to=AgencyStatus.active, reason="x", actor=ACTOR)
    service.change_agency_status(session=session, agency=agency, to=AgencyStatus.terminated, reason="x", actor=ACTOR)
    with pytest.raises(IllegalTransition, match="terminated is final"):
        service.change_agency_status(session=session, agency=agency, to=AgencyStatus.applying, reason="x",
                                     actor=ACTOR)
    assert len(service.agency_status_history(session=session, agency=agency)) == 2


def test_terminating_an_agency_terminates_its_open_contracts_and_records_why(session):
    agency = activate(session, register(session))
    draft = service.create_contract(session=session, data=contract_data(agency.code, "C-2"), actor=ACTOR)
    suspended = usable_contract(session, agency, "C-3")
    service.change_contract_status(session=session, contract=suspended, to=ContractStatus.suspended, reason="audit",
                                   actor=ACTOR)
    ended = service.create_contract(session=session, data=contract_data(agency.code, "C-4"), actor=ACTOR)
    service.change_contract_status(session=session, contract=ended, to=ContractStatus.terminated, reason="void",
                                   actor=ACTOR)

    service.change_agency_status(session=session, agency=agency, to=AgencyStatus.terminated, reason="breach",
                                 actor="user:carol")
    session.expire_all()
    for contract_no, previous in (("C-1", "active"), ("C-2", "draft"), ("C-3", "suspended")):
        contract = service.get_contract(session=session, contract=contract_no)
        assert contract.status == ContractStatus.terminated
        last = contract.status_changes[-1]
        assert (last.from_status, last.to_status, last.changed_by) == (previous, "terminated", "user:carol")
        assert "breach" in last.reason and agency.code in last.reason
        assert audit_actions(session, "contract", contract.id)[-1] == "contract.status_changed"
    assert len(service.get_contract(session=session, contract="C-4").status_changes) == 2  # untouched
    assert draft.id is not None
