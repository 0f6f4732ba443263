"""Contract services on SQLite and PostgreSQL: drafting, editing, lifecycle, usability on a day."""

from datetime import date, timedelta
from decimal import Decimal
from itertools import count
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from weiwai.agencies import service
from weiwai.agencies.contract_schemas import FeeSchedule
from weiwai.agencies.models import AgencyStatus, Channel, Contract, ContractStatus
from weiwai.agencies.schemas import AgencyCreate, ContractCreate, ContractRead, ContractUpdate
from weiwai.agencies.uscc import make_uscc
from weiwai.errors import Conflict, IllegalTransition, NotFound, RuleViolation
from weiwai.i18n import using_locale
from weiwai.security.models import AuditEvent

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
ACTOR = "cli:root"
STARTS, ENDS = date(2025, 1, 1), date(2025, 12, 31)
_serial = count(1)


@pytest.fixture(autouse=True)
def english():
    with using_locale("en"):
        yield


def register(session, code: str = "HZ-A", regions=("浙江", "上海", "江苏")):
    data = yaml.safe_load((EXAMPLES / "agency.yaml").read_text(encoding="utf-8"))
    data.update(code=code, uscc=make_uscc(f"91440300{next(_serial):09d}"), regions_served=list(regions))
    return service.create_agency(session=session, data=AgencyCreate.model_validate(data), actor=ACTOR)


def contract_data(contract_no: str = "C-1", agency_code: str = "HZ-A", **changes) -> ContractCreate:
    data = yaml.safe_load((EXAMPLES / "contract.yaml").read_text(encoding="utf-8"))
    data.update(contract_no=contract_no, agency_code=agency_code, starts_on=STARTS, ends_on=ENDS, **changes)
    return ContractCreate.model_validate(data)


def draft(session, contract_no: str = "C-1", agency_code: str = "HZ-A", **changes):
    return service.create_contract(session=session, data=contract_data(contract_no, agency_code, **changes),
                                   actor=ACTOR)


def to(session, contract, status: ContractStatus, on: date = date(2025, 6, 1)):
    return service.change_contract_status(session=session, contract=contract, to=status, reason="because",
                                          actor=ACTOR, on=on)


# --- drafting ---------------------------------------------------------------------------


def test_a_new_contract_is_a_draft_with_history_and_audit(session):
    agency = register(session)
    contract = draft(session)
    assert contract.status == ContractStatus.draft and contract.agency_id == agency.id
    [first] = service.contract_status_history(session=session, contract="C-1")
    assert (first.from_status, first.to_status, first.changed_by) == (None, "draft", ACTOR)
    events = session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "contract")).all()
    assert events == ["contract.created"]


def test_the_agency_is_given_by_code_or_id(session):
    agency = register(session)
    data = contract_data("C-9").model_copy(update={"agency_code": None, "agency_id": agency.id})
    assert service.create_contract(session=session, data=data, actor=ACTOR).agency_id == agency.id
    with pytest.raises(NotFound):
        draft(session, "C-10", agency_code="NOPE")


def test_terms_are_stored_exactly_and_read_back(session):
    register(session)
    contract = draft(session, permitted_channels=["phone", "ivr"])
    contract_id = contract.id
    session.expire_all()
    stored = session.get(Contract, contract_id)
    schedule = FeeSchedule.model_validate(stored.fee_schedule)
    assert stored.fee_schedule["rates_by_bucket"]["M1"] == "0.08"  # a string in JSON, never a float
    assert schedule.rates_by_bucket["M2"] == Decimal("0.12")
    assert schedule.recovery_tiers[1].bonus_rate == Decimal("0.03")
    assert schedule.fixed_fee_per_closed_case == Decimal("20.00")
    read = ContractRead.of(stored, today=date(2025, 6, 1))
    assert read.permitted_channels == [Channel.phone, Channel.ivr]
    assert read.entrustment.data_categories == ["姓名", "手机号码", "欠款金额", "逾期天数"]
    assert read.agency_code == "HZ-A" and read.usable_today is False
    assert read.model_dump(mode="json")["fee_schedule"]["rates_by_bucket"]["M3"] == "0.18"


def test_contract_numbers_are_unique(session):
    register(session)
    draft(session)
    with pytest.raises(Conflict, match="C-1"):
        draft(session)


def test_permitted_regions_must_be_served_by_the_agency(session):
    register(session, regions=("浙江",))
    with pytest.raises(RuleViolation, match="上海"):
        draft(session, permitted_regions=["浙江", "上海"])
    assert draft(session, permitted_regions=[]).permitted_regions == []


def test_no_new_contract_with_a_terminated_agency(session):
    agency = register(session)
    service.change_agency_status(session=session, agency=agency, to=AgencyStatus.terminated, reason="x", actor=ACTOR)
    with pytest.raises(RuleViolation, match="terminated"):
        draft(session)


# --- editing --------------------------------------------------------------------------------


def test_a_draft_can_be_edited_and_the_edit_is_audited(session):
    register(session)
    contract = draft(session)
    service.update_contract(
        session=session, contract="C-1", actor=ACTOR,
        data=ContractUpdate.model_validate({"placement_days": 60, "permitted_buckets": ["M1"],
                                            "fee_schedule": {"rates_by_bucket": {"M1": "0.1"}}}),
    )
    session.expire_all()
    contract = service.get_contract(session=session, contract=contract.id)
    assert (contract.placement_days, contract.permitted_buckets) == (60, ["M1"])
    assert contract.fee_schedule == {"currency": "CNY", "rates_by_bucket": {"M1": "0.1"}, "recovery_tiers": [],
                                     "fixed_fee_per_closed_case": None}
    assert contract.reporting_cadence == "weekly"  # kept
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.updated")).one()
    assert audit.details["fields"] == ["fee_schedule", "permitted_buckets", "placement_days"]


@pytest.mark.parametrize(
    "changes,needle",
    [
        ({"ends_on": "2024-12-31"}, "ends_on: the term ends before it starts"),  # against the stored start
        ({"permitted_buckets": ["M5"]}, "no rate in fee_schedule.rates_by_bucket for permitted bucket(s) M5"),
        ({"fee_schedule": {"rates_by_bucket": {"M1": "0.1"}}}, "permitted bucket(s) M2, M3, M4"),
        ({"permitted_regions": ["北京"]}, "not served by agency HZ-A"),
    ],
)
def test_edits_are_checked_against_the_terms_they_keep(session, changes, needle):
    register(session)
    draft(session)
    with pytest.raises(RuleViolation) as refused:
        service.update_contract(session=session, contract="C-1", data=ContractUpdate.model_validate(changes),
                                actor=ACTOR)
    assert needle in refused.value.message


@pytest.mark.parametrize("status", [ContractStatus.active, ContractStatus.suspended, ContractStatus.terminated])
def test_only_drafts_can_be_edited(session, status):
    register(session)
    contract = draft(session)
    if status != ContractStatus.terminated:
        to(session, contract, ContractStatus.active)
    if status != ContractStatus.active:
        to(session, contract, status)
    with pytest.raises(Conflict, match="only draft contracts can be edited. Suspend it, or terminate it"):
        service.update_contract(session=session, contract=contract, data=ContractUpdate(placement_days=30),
                                actor=ACTOR)


# --- lifecycle ------------------------------------------------------------------------------


def test_lifecycle_with_history(session):
    register(session)
    contract = draft(session)
    for status in (ContractStatus.active, ContractStatus.suspended, ContractStatus.active, ContractStatus.terminated):
        to(session, contract, status)
    session.expire_all()
    history = [(c.from_status, c.to_status) for c in service.contract_status_history(session=session, contract="C-1")]
    assert history == [(None, "draft"), ("draft", "active"), ("active", "suspended"), ("suspended", "active"),
                       ("active", "terminated")]
    with pytest.raises(IllegalTransition, match="terminated is final"):
        to(session, contract, ContractStatus.active)


@pytest.mark.parametrize(
    "changes,needle",
    [
        ({"signed_on": None}, "not signed (signed_on)"),
        ({"confidentiality_signed_on": None}, "confidentiality agreement is not signed"),
    ],
)
def test_an_unsigned_contract_cannot_be_activated(session, changes, needle):
    register(session)
    contract = draft(session, **changes)
    with pytest.raises(RuleViolation) as refused:
        to(session, contract, ContractStatus.active)
    assert needle in refused.value.message
    assert contract.status == ContractStatus.draft


def test_a_contract_whose_term_ended_cannot_be_activated(session):
    register(session)
    contract = draft(session)
    with pytest.raises(RuleViolation, match="the term ended on 2025-12-31"):
        to(session, contract, ContractStatus.active, on=ENDS + timedelta(days=1))
    to(session, contract, ContractStatus.active, on=ENDS)


def test_a_suspended_contract_whose_term_ended_cannot_be_reactivated(session):
    register(session)
    contract = draft(session)
    to(session, contract, ContractStatus.active)
    to(session, contract, ContractStatus.suspended)
    with pytest.raises(RuleViolation, match="term ended"):
        to(session, contract, ContractStatus.active, on=date(2026, 3, 1))


def test_a_reason_is_required(session):
    register(session)
    with pytest.raises(RuleViolation, match="reason"):
        service.change_contract_status(session=session, contract=draft(session), to=ContractStatus.active,
                                       reason="", actor=ACTOR)


# --- usability on a day -------------------------------------------------------------------


@pytest.mark.parametrize(
    "day,usable",
    [(STARTS - timedelta(days=1), False), (STARTS, True), (date(2025, 7, 1), True), (ENDS, True),
     (ENDS + timedelta(days=1), False)],
)
def test_usability_at_the_edges_of_the_term(session, day, usable):
    agency = register(session)
    active = draft(session, "C-1")
    to(session, active, ContractStatus.active)
    draft(session, "C-2")  # never usable: a draft
    suspended = draft(session, "C-3")
    to(session, suspended, ContractStatus.active)
    to(session, suspended, ContractStatus.suspended)

    assert active.is_usable(day) is usable
    expected = ["C-1"] if usable else []
    assert [c.contract_no for c in service.usable_contracts(session=session, on=day)] == expected
    assert [c.contract_no for c in service.usable_contracts(session=session, on=day, agency=agency.code)] == expected
    page = service.list_contracts(session=session, usable_on=day)
    assert ([c.contract_no for c in page.items], page.total) == (expected, len(expected))


def test_listing_filters_by_agency_and_status_and_pages(session):
    register(session, "HZ-A")
    register(session, "SH-B")
    for contract_no, code in (("A-1", "HZ-A"), ("A-2", "HZ-A"), ("B-1", "SH-B")):
        draft(session, contract_no, code)
    to(session, service.get_contract(session=session, contract="A-2"), ContractStatus.active)

    def numbers(**filters):
        page = service.list_contracts(session=session, **filters)
        return [c.contract_no for c in page.items], page.total

    assert numbers() == (["A-1", "A-2", "B-1"], 3)
    assert numbers(agency="hz-a") == (["A-1", "A-2"], 2)
    assert numbers(agency="SH-B", status=ContractStatus.draft) == (["B-1"], 1)
    assert numbers(status=ContractStatus.active) == (["A-2"], 1)
    assert numbers(offset=1, limit=1) == (["A-2"], 3)
    with pytest.raises(NotFound):
        numbers(agency="NOPE")


# --- compliance terms ---------------------------------------------------------------------


def test_a_contract_may_tighten_the_compliance_pack_and_set_thresholds(session):
    from weiwai.agencies.contract_schemas import ContractUpdate
    from weiwai.compliance.terms import thresholds_of

    data = ContractUpdate.model_validate({"compliance_terms": {
        "overrides": {"CN-02": {"max_per_local_day": 2}, "CN-01": {"quiet_start": "21:00"}},
        "thresholds": {"severe_violations": {"limit": 0, "period_days": 30}},
    }})
    assert data.compliance_terms["overrides"]["CN-02"] == {"max_per_local_day": 2}
    assert thresholds_of(data.compliance_terms).severe_violations.limit == 0


@pytest.mark.parametrize("terms, fragment", [
    ({"overrides": {"CN-02": {"max_per_local_day": 5}}}, "CN-02.max_per_local_day"),
    ({"overrides": {"CN-01": {"quiet_end": "07:00"}}}, "CN-01.quiet_end"),
    ({"overrides": {"CN-99": {"x": 1}}}, "CN-99"),
    ({"thresholds": {"severe_violations": {"limit": -1}}}, "severe_violations"),
    ({"pack": "US"}, "pack"),
])
def test_compliance_terms_that_loosen_the_pack_or_are_malformed_are_refused(terms, fragment):
    from pydantic import ValidationError

    from weiwai.agencies.contract_schemas import ContractUpdate

    with pytest.raises(ValidationError) as refused:
        ContractUpdate.model_validate({"compliance_terms": terms})
    assert fragment in str(refused.value)
