"""Contract thresholds → placement blocks and notices, and allocation leaving blocked agencies out."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from factories_cycle import AS_OF, make_case, make_placeable_account, make_usable_agency
from weiwai.compliance.complaint_schemas import ComplaintCreate
from weiwai.compliance.complaints import record_complaint
from weiwai.compliance.models import ComplianceViolation, LenderNotice, PlacementBlock
from weiwai.compliance.terms import parse_thresholds, thresholds_of, with_thresholds
from weiwai.compliance.thresholds import (
    agency_figures,
    block_agency,
    evaluate_all_thresholds,
    evaluate_thresholds,
    lift_block,
    placement_exclusions,
    rate_per_1000,
)
from weiwai.errors import Conflict, RuleViolation
from weiwai.placements import batches
from weiwai.placements.agencies_view import agency_view
from weiwai.placements.screening import ScreeningRules
from weiwai.placements.strategy import StrategySpec
from weiwai.portfolio.models import Account

DAY = datetime(2024, 2, 20, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def english():
    from weiwai.i18n import using_locale

    with using_locale("en"):
        yield


def set_thresholds(agency, thresholds: dict):
    contract = agency.contracts[0]
    contract.compliance_terms = with_thresholds(contract.compliance_terms, thresholds)


def with_cases(session, agency, n: int):
    return [make_case(session, account=make_placeable_account(session), agency=agency) for _ in range(n)]


def complain(session, case, *, severity="medium", received_at=DAY):
    return record_complaint(session=session, actor="test", today=AS_OF, data=ComplaintCreate(
        source="debtor", case_no=case.case_no, category="conduct", summary="rude", received_at=received_at,
        severity=severity))


def blocks(session, agency, live=True):
    query = select(PlacementBlock).where(PlacementBlock.agency_id == agency.id)
    if live:
        query = query.where(PlacementBlock.lifted_at.is_(None))
    return list(session.scalars(query))


def notices(session, agency, kind="placement_blocked"):
    return session.scalar(select(func.count()).select_from(LenderNotice).where(
        LenderNotice.agency_id == agency.id, LenderNotice.kind == kind))


# --- the terms -----------------------------------------------------------------------------------


def test_thresholds_are_validated_and_kept_apart_from_other_terms():
    terms = with_thresholds({"overrides": {"CN-03": {"max_calls": 2}}},
                            {"complaints_per_1000_placed": {"limit": "5", "period_days": 30}})
    assert terms["overrides"] == {"CN-03": {"max_calls": 2}}
    assert terms["thresholds"] == {"complaints_per_1000_placed": {"limit": "5", "period_days": 30, "min_cases": 0}}
    assert thresholds_of({}).empty and thresholds_of(None).empty
    for bad in ({"severe_violations": {"limit": -1}}, {"complaint_rate": {}},
                {"severe_violations": {"limit": 1, "period_days": 0}}):
        with pytest.raises(RuleViolation) as refused:
            parse_thresholds(bad)
        assert refused.value.code == "invalid_thresholds"


def test_rate_per_1000():
    assert rate_per_1000(3, 400) == Decimal("7.50")
    assert rate_per_1000(1, 3) == Decimal("333.33")
    assert rate_per_1000(1, 0) is None


# --- evaluation ----------------------------------------------------------------------------------


def test_a_complaint_that_crosses_the_rate_blocks_the_agency_once(session):
    agency = make_usable_agency(session)
    set_thresholds(agency, {"complaints_per_1000_placed": {"limit": "400", "period_days": 30}})
    cases = with_cases(session, agency, 4)
    complain(session, cases[0])  # 1 per 4 cases = 250 per 1000: under
    assert blocks(session, agency) == []
    complain(session, cases[1])  # 500 per 1000: over
    [block] = blocks(session, agency)
    assert block.reason == "complaint_rate"
    assert block.details["value"] == "500.00" and block.details["cases_held"] == 4
    assert block.details["contract_no"] == agency.contracts[0].contract_no
    complain(session, cases[2])  # still over: the live block stays the only one
    assert len(blocks(session, agency)) == 1 and notices(session, agency) == 1


def test_rejected_complaints_and_complaints_outside_the_period_do_not_count(session):
    agency = make_usable_agency(session)
    cases = with_cases(session, agency, 2)
    old = complain(session, cases[0], received_at=DAY - timedelta(days=60))
    figures = agency_figures(session=session, agency_id=agency.id, as_of=AS_OF, period_days=30)
    assert (figures.complaints, figures.cases_held) == (0, 2)
    assert agency_figures(session=session, agency_id=agency.id, as_of=AS_OF, period_days=90).complaints == 1
    old.status = "rejected"
    session.flush()
    assert agency_figures(session=session, agency_id=agency.id, as_of=AS_OF, period_days=90).complaints == 0


def test_min_cases_keeps_tiny_books_from_being_judged(session):
    agency = make_usable_agency(session)
    set_thresholds(agency, {"complaints_per_1000_placed": {"limit": "1", "period_days": 30, "min_cases": 10}})
    complain(session, with_cases(session, agency, 1)[0])
    assert blocks(session, agency) == []


def test_severe_violations_over_the_limit_block_in_the_daily_evaluation(session):
    agency = make_usable_agency(session)
    set_thresholds(agency, {"severe_violations": {"limit": 1, "period_days": 30}})
    case = with_cases(session, agency, 1)[0]
    debtor_id = session.get(Account, case.account_id).debtor_id
    for hours in (1, 2):
        session.add(ComplianceViolation(
            case_id=case.id, debtor_id=debtor_id, agency_id=agency.id, rule_id="CN-01", pack="CN@1",
            severity="severe", disposition="recorded", details={}, occurred_at=DAY + timedelta(hours=hours),
            recorded_by="test"))
    session.flush()
    assert evaluate_thresholds(session=session, agency_id=agency.id, as_of=date(2024, 2, 19), actor="job") == []
    created = evaluate_all_thresholds(session=session, as_of=AS_OF, actor="job")
    assert [b.reason for b in created] == ["severe_violations"] and created[0].details["value"] == "2"
    assert evaluate_all_thresholds(session=session, as_of=AS_OF, actor="job") == []


def test_a_severe_complaint_counts_as_a_severe_incident(session):
    agency = make_usable_agency(session)
    set_thresholds(agency, {"severe_violations": {"limit": 0, "period_days": 30}})
    complain(session, with_cases(session, agency, 1)[0], severity="severe")
    assert [b.reason for b in blocks(session, agency)] == ["severe_violations"]


# --- blocks and allocation -----------------------------------------------------------------------


def test_allocation_leaves_a_blocked_agency_out_with_the_reason(session):
    blocked = make_usable_agency(session, code="BLOCKED")
    make_usable_agency(session, code="FREE")
    block = block_agency(session=session, agency_id=blocked.id, note="audit findings", actor="test")
    view = agency_view(session=session, as_of=AS_OF, strict=False)
    assert [slot.code for slot in view.slots] == ["FREE"]
    assert view.skipped == [("BLOCKED", "placements blocked: stopped by hand")]
    with pytest.raises(RuleViolation) as refused:
        agency_view(session=session, as_of=AS_OF, codes=["BLOCKED"])
    assert refused.value.code == "agency_not_usable"
    for _ in range(3):
        make_placeable_account(session)
    preview = batches.preview_placement(session=session, rules=ScreeningRules.model_validate({}),
                                        strategy=StrategySpec(name="equal_count", seed=1), as_of=AS_OF)
    assert {a.code: a.cases for a in preview.agencies} == {"FREE": 3}
    assert [(s.code, s.reason) for s in preview.skipped_agencies] == [
        ("BLOCKED", "placements blocked: stopped by hand")]
    # Blocking by hand again is idempotent; lifting frees the agency.
    assert block_agency(session=session, agency_id=blocked.id, note="again", actor="test").id == block.id
    lift_block(session=session, block_id=block.id, reason="remediated", actor="test")
    assert placement_exclusions(session=session, agency_ids=[blocked.id], as_of=AS_OF) == {}
    with pytest.raises(Conflict):
        lift_block(session=session, block_id=block.id, reason="again", actor="test")
    with pytest.raises(RuleViolation):
        lift_block(session=session, block_id=block.id, reason=" ", actor="test")


def test_a_draft_batch_to_an_agency_blocked_since_cannot_be_confirmed(session):
    from factories_cycle import make_rule_set

    agency = make_usable_agency(session, code="LATE")
    make_placeable_account(session)
    batch = batches.create_batch(session=session, rule_set=make_rule_set(session),
                                 strategy=StrategySpec(name="equal_count", seed=1), as_of=AS_OF, actor="test")
    block_agency(session=session, agency_id=agency.id, note="complaints", actor="test")
    with pytest.raises(Conflict) as refused:
        batches.confirm_batch(session=session, batch_no=batch.batch_no, actor="test")
    assert refused.value.code == "batch_stale" and "placements blocked" in refused.value.message


def test_the_daily_job_evaluates_and_reports(session):
    from weiwai.jobs.registry import get_job

    agency = make_usable_agency(session)
    set_thresholds(agency, {"complaints_per_1000_placed": {"limit": "0", "period_days": 30}})
    case = with_cases(session, agency, 1)[0]
    from weiwai.compliance.models import Complaint

    session.add(Complaint(complaint_no="CP-JOB-1", source="debtor", agency_id=agency.id, case_id=case.id,
                          category="conduct", summary="x", received_at=DAY, respond_by=date(2024, 2, 25),
                          recorded_by="test"))
    session.flush()
    job = get_job("compliance_watch")
    result = job.func(session=session, run_for=AS_OF)
    assert result["blocks_created"] == 1 and result["complaints_overdue"] >= 1
    assert notices(session, agency, "complaint_overdue") == 1
    again = job.func(session=session, run_for=AS_OF)
    assert again["blocks_created"] == 0
    assert notices(session, agency, "complaint_overdue") == 1  # noticed once
