"""Agency information-security reviews (issue 6 item 7), on SQLite and PostgreSQL."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from factories_collection import english_messages, make_agency  # noqa: F401  (english_messages: autouse)
from weiwai.compliance.models import LenderNotice, PlacementBlock
from weiwai.compliance.thresholds import placement_exclusions
from weiwai.errors import Conflict, IllegalTransition, RuleViolation
from weiwai.privacy import infosec
from weiwai.privacy.infosec import FindingCreate, FindingTransition, ReviewComplete, ReviewCreate
from weiwai.privacy.infosec_jobs import infosec_watch

DAY = date(2024, 3, 1)


def _review(session, agency, *, actor="user:sec1"):
    return infosec.create_review(session=session, data=ReviewCreate(
        agency_id=agency.id, reviewed_on=DAY, reviewer="张审计", evidence_refs=["AUD-1"]), actor=actor)


def _all_pass(**overrides):
    results = {item.code: "pass" for item in infosec.get_checklist("pipl_agency").items}
    return {**results, **overrides}


def test_checklist_is_validated_data():
    checklist = infosec.get_checklist("pipl_agency")
    assert checklist.version == 1 and {item.area for item in checklist.items} == set(infosec.Area)
    with pytest.raises(RuleViolation, match="invalid checklist"):
        infosec.parse_checklist("code: x1\nversion: 1\ntitle: {zh: a, en: b}\nitems:\n"
                                "  - {code: AC-01, area: nowhere, title: {zh: a, en: b}, default_severity: low, "
                                "evidence: e}\n")


def test_completing_a_review_with_a_failed_critical_item_fails_it(session):
    agency = make_agency(session)
    review = _review(session, agency)
    high = infosec.add_finding(session=session, review=review, actor="user:sec1",
                               data=FindingCreate(item_code="AC-01", description="shared accounts"))
    assert high.severity == "high" and high.remediation_due_on == DAY + timedelta(days=30)
    with pytest.raises(RuleViolation, match="missing"):
        infosec.complete_review(session=session, review=review, data=ReviewComplete(results={"AC-01": "fail"}),
                                actor="user:sec1")
    done = infosec.complete_review(session=session, review=review, actor="user:sec1",
                                   data=ReviewComplete(results=_all_pass(**{"AC-01": "fail", "EN-01": "fail"})))
    assert done.status == "completed" and done.outcome == "fail"
    assert done.next_review_due == date(2025, 3, 1)
    findings, total = infosec.list_findings(session=session, review_id=review.id)
    assert total == 2 and {f.item_code: f.severity for f in findings} == {"AC-01": "high", "EN-01": "critical"}
    critical = next(f for f in findings if f.item_code == "EN-01")
    assert critical.remediation_due_on == DAY + timedelta(days=14)
    with pytest.raises(IllegalTransition):
        infosec.complete_review(session=session, review=review, data=ReviewComplete(results=_all_pass()),
                                actor="user:sec1")
    with pytest.raises(Conflict):
        infosec.add_finding(session=session, review=review, actor="user:sec1",
                            data=FindingCreate(item_code="PH-01", description="late"))


def test_outcomes():
    assert infosec.review_outcome({"A": "pass"}, []) == infosec.Outcome.passed
    assert infosec.review_outcome({"A": "pass"}, [infosec.Severity.low]) == infosec.Outcome.pass_with_findings
    assert infosec.review_outcome({"A": "fail"}, [infosec.Severity.critical]) == infosec.Outcome.failed


def test_finding_transitions(session):
    agency = make_agency(session)
    review = _review(session, agency)
    finding = infosec.add_finding(session=session, review=review, actor="user:sec1",
                                  data=FindingCreate(item_code="LG-01", description="logs kept 30 days"))
    with pytest.raises(IllegalTransition):
        infosec.transition_finding(session=session, finding=finding, actor="user:sec2",
                                   data=FindingTransition(to="verified"))
    with pytest.raises(RuleViolation, match="evidence"):
        infosec.transition_finding(session=session, finding=finding, actor="user:agency",
                                   data=FindingTransition(to="remediated"))
    infosec.transition_finding(session=session, finding=finding, actor="user:agency",
                               data=FindingTransition(to="remediated", evidence_ref="FIX-1"))
    assert finding.remediated_by == "user:agency" and finding.evidence_ref == "FIX-1"
    infosec.transition_finding(session=session, finding=finding, actor="user:sec2",
                               data=FindingTransition(to="verified"))
    assert finding.status == "verified" and finding.verified_by == "user:sec2"
    with pytest.raises(IllegalTransition):
        infosec.transition_finding(session=session, finding=finding, actor="user:sec2",
                                   data=FindingTransition(to="open"))
    other = infosec.add_finding(session=session, review=review, actor="user:sec1",
                                data=FindingCreate(item_code="PH-01", description="photos", severity="low"))
    with pytest.raises(RuleViolation, match="someone other"):
        infosec.transition_finding(session=session, finding=other, actor="user:sec1",
                                   data=FindingTransition(to="risk_accepted", note="cost"))
    infosec.transition_finding(session=session, finding=other, actor="user:ciso",
                               data=FindingTransition(to="risk_accepted", note="compensating control"))
    assert other.status == "risk_accepted" and other.accepted_by == "user:ciso"


def test_overdue_critical_finding_blocks_placement_until_verified(session):
    agency, fine = make_agency(session), make_agency(session)
    review = _review(session, agency)
    finding = infosec.add_finding(session=session, review=review, actor="user:sec1",
                                  data=FindingCreate(item_code="SP-01", description="unapproved sub-processor"))
    assert finding.severity == "critical"
    due = finding.remediation_due_on
    assert infosec_watch(session=session, run_for=due)["blocks_created"] == 0  # on the day: not yet overdue
    result = infosec_watch(session=session, run_for=due + timedelta(days=1))
    assert result["blocks_created"] == 1
    assert infosec_watch(session=session, run_for=due + timedelta(days=2))["blocks_created"] == 0  # idempotent
    blocks = session.scalars(select(PlacementBlock).where(PlacementBlock.agency_id == agency.id)).all()
    assert [b.reason for b in blocks] == ["infosec_critical_overdue"] and blocks[0].lifted_at is None
    assert session.scalars(select(LenderNotice).where(LenderNotice.agency_id == agency.id,
                                                      LenderNotice.kind == "placement_blocked")).first()
    excluded = placement_exclusions(session=session, agency_ids=[agency.id, fine.id], as_of=due + timedelta(days=2))
    assert agency.id in excluded and fine.id not in excluded
    # Remediated is not enough: the block stays until the lender verifies.
    infosec.transition_finding(session=session, finding=finding, actor="user:agency",
                               data=FindingTransition(to="remediated", evidence_ref="CONTRACT-TERMINATED"))
    assert infosec_watch(session=session, run_for=due + timedelta(days=3))["blocks_lifted"] == 0
    infosec.transition_finding(session=session, finding=finding, actor="user:sec2",
                               data=FindingTransition(to="verified"))
    assert infosec_watch(session=session, run_for=due + timedelta(days=4))["blocks_lifted"] == 1
    session.refresh(blocks[0])
    assert blocks[0].lifted_by == "system" and blocks[0].lifted_at is not None
    assert agency.id not in placement_exclusions(session=session, agency_ids=[agency.id], as_of=due + timedelta(5))


def test_reviews_due_lists_never_reviewed_and_lapsed_agencies(session):
    agency = make_agency(session)
    review = _review(session, agency)
    due = infosec.reviews_due(session=session, as_of=DAY)
    assert agency.id in {d.agency_id for d in due if d.due_on is None}
    infosec.complete_review(session=session, review=review, data=ReviewComplete(results=_all_pass()),
                            actor="user:sec1")
    assert review.outcome == "pass"
    assert agency.id not in {d.agency_id for d in infosec.reviews_due(session=session, as_of=date(2025, 2, 28))}
    assert agency.id in {d.agency_id for d in infosec.reviews_due(session=session, as_of=date(2025, 3, 1))}
