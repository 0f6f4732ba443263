"""Agency reviews (CN-11): recording them, and no new placement when the last is old or failed."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from compliance_api import compliance_client
from factories_collection import make_user
from factories_cycle import AS_OF, make_contract, make_usable_agency
from weiwai.agencies.models import AgencyStatusChange
from weiwai.compliance.models import LenderNotice
from weiwai.compliance.reviews import (
    ReviewCreate,
    contracts_due_pre_expiry_review,
    record_review,
    review_problems,
)
from weiwai.errors import RuleViolation
from weiwai.placements.agencies_view import agency_view


@pytest.fixture(autouse=True)
def english():
    from weiwai.i18n import using_locale

    with using_locale("en"):
        yield


def review(session, agency, *, on=date(2024, 1, 15), kind="annual", result="pass", today=AS_OF):
    return record_review(session=session, agency_id=agency.id, actor="user:compliance", today=today,
                         data=ReviewCreate(kind=kind, evaluated_on=on, compliance_score=80, quality_score=75,
                                           infosec_score=90, result=result))


def approved_on(session, agency, day: date):
    session.add(AgencyStatusChange(agency_id=agency.id, from_status="applying", to_status="approved",
                                   reason="whitelisted", changed_by="test",
                                   changed_at=datetime(day.year, day.month, day.day, 2, tzinfo=UTC)))
    session.flush()


def test_a_review_within_the_year_lets_the_agency_take_cases(session):
    agency = make_usable_agency(session)
    review(session, agency, on=AS_OF - timedelta(days=365))
    assert review_problems(session=session, agency_ids=[agency.id], as_of=AS_OF) == {}
    later = AS_OF + timedelta(days=1)
    assert review_problems(session=session, agency_ids=[agency.id], as_of=later) == {
        agency.id: "last review on 2023-03-02 is older than 365 days"}  # 2024 is a leap year


def test_the_max_age_is_a_setting(session, monkeypatch):
    from weiwai.config import get_settings

    agency = make_usable_agency(session)
    review(session, agency, on=AS_OF - timedelta(days=100))
    monkeypatch.setattr(get_settings(), "agency_review_max_age_days", 90)
    assert agency.id in review_problems(session=session, agency_ids=[agency.id], as_of=AS_OF)


def test_a_failed_last_review_stops_placements_until_a_newer_one_passes(session):
    agency = make_usable_agency(session, code="FAILING")
    review(session, agency, on=date(2024, 1, 10))
    review(session, agency, on=date(2024, 2, 10), result="fail")
    view = agency_view(session=session, as_of=AS_OF, strict=False)
    assert view.skipped == [("FAILING", "agency review (CN-11): last review (2024-02-10) failed")]
    notice = session.scalars(select(LenderNotice).where(LenderNotice.agency_id == agency.id)).one()
    assert notice.kind == "review_failed"
    review(session, agency, on=date(2024, 2, 28), kind="ad_hoc", result="conditional")
    assert [slot.code for slot in agency_view(session=session, as_of=AS_OF, strict=False).slots] == ["FAILING"]


def test_never_reviewed_counts_from_admission(session):
    agency = make_usable_agency(session, code="OLDADMIT")
    approved_on(session, agency, date(2023, 1, 2))
    problems = review_problems(session=session, agency_ids=[agency.id], as_of=AS_OF)
    assert problems[agency.id] == "never reviewed since admission on 2023-01-02; a review was due by 2024-01-02"
    fresh = make_usable_agency(session)  # registered today: its first review is not yet due
    assert review_problems(session=session, agency_ids=[fresh.id], as_of=AS_OF) == {}


def test_reviews_are_validated(session):
    agency = make_usable_agency(session)
    with pytest.raises(RuleViolation):
        review(session, agency, on=AS_OF + timedelta(days=1))
    with pytest.raises(ValueError):
        ReviewCreate(kind="annual", evaluated_on=AS_OF, compliance_score=101, quality_score=1, infosec_score=1,
                     result="pass")
    with pytest.raises(ValueError):
        ReviewCreate(kind="yearly", evaluated_on=AS_OF, compliance_score=1, quality_score=1, infosec_score=1,
                     result="pass")


def test_contracts_nearing_their_end_need_a_pre_expiry_review(session):
    agency = make_usable_agency(session, code="ENDING", ends_on=AS_OF + timedelta(days=30))
    make_usable_agency(session, code="LATER", ends_on=AS_OF + timedelta(days=200))
    due = contracts_due_pre_expiry_review(session=session, as_of=AS_OF)
    assert [(d.agency_code, d.ends_on) for d in due] == [("ENDING", AS_OF + timedelta(days=30))]
    assert contracts_due_pre_expiry_review(session=session, as_of=AS_OF, days=10) == []
    review(session, agency, on=AS_OF - timedelta(days=3), kind="annual")
    assert len(contracts_due_pre_expiry_review(session=session, as_of=AS_OF)) == 1  # annual is not pre_expiry
    review(session, agency, on=AS_OF - timedelta(days=2), kind="pre_expiry")
    assert contracts_due_pre_expiry_review(session=session, as_of=AS_OF) == []


def test_the_daily_job_notices_pre_expiry_and_overdue_reviews_once(session):
    from weiwai.jobs.registry import get_job

    ending = make_usable_agency(session, code="JOBEND", ends_on=AS_OF + timedelta(days=20))
    make_contract(session, agency=ending, starts_on=date(2024, 1, 1), ends_on=date(2026, 1, 1))
    overdue = make_usable_agency(session, code="JOBOLD")
    review(session, overdue, on=date(2022, 12, 1))
    job = get_job("compliance_watch").func
    job(session=session, run_for=AS_OF)
    job(session=session, run_for=AS_OF + timedelta(days=1))
    kinds = dict(session.execute(select(LenderNotice.kind, func.count()).where(
        LenderNotice.agency_id.in_([ending.id, overdue.id])).group_by(LenderNotice.kind)).all())
    assert kinds == {"pre_expiry_review_due": 1, "review_overdue": 1}


def test_the_reviews_api(session):
    agency = make_usable_agency(session)
    compliance = compliance_client(session, make_user(session, role="compliance"))
    posted = compliance.post(f"/api/v1/agencies/{agency.id}/reviews", json={
        "kind": "annual", "evaluated_on": "2024-02-01", "compliance_score": 88, "quality_score": 70,
        "infosec_score": 95, "result": "conditional", "notes": "recordings incomplete"})
    assert posted.status_code == 201, posted.text
    assert posted.json()["evaluated_by"].startswith("user:")
    bad = compliance.post(f"/api/v1/agencies/{agency.id}/reviews", json={
        "kind": "annual", "evaluated_on": "2024-02-01", "compliance_score": 188, "quality_score": 70,
        "infosec_score": 95, "result": "pass"})
    assert bad.status_code == 422
    good = {"kind": "ad_hoc", "evaluated_on": "2024-02-01", "compliance_score": 1, "quality_score": 1,
            "infosec_score": 1, "result": "fail"}
    assert compliance.post("/api/v1/agencies/987654/reviews", json=good).status_code == 404
    manager = compliance_client(session, make_user(session, role="agency_manager", agency=agency))
    listed = manager.get(f"/api/v1/agencies/{agency.id}/reviews")
    assert listed.status_code == 200 and listed.json()["total"] == 1
    assert listed.json()["items"][0]["evaluated_by"] is None
    assert manager.post(f"/api/v1/agencies/{agency.id}/reviews", json={}).status_code == 403
    other = make_usable_agency(session)
    assert manager.get(f"/api/v1/agencies/{other.id}/reviews").status_code == 404
    ops = compliance_client(session, make_user(session, role="operations"))
    assert ops.get(f"/api/v1/agencies/{other.id}/reviews").json()["total"] == 0
