"""Complaints on SQLite and PostgreSQL: intake and links, deadlines, the lifecycle, contact holds, the API."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from compliance_api import compliance_client
from factories_collection import english_messages, make_agency, make_user, make_world  # noqa: F401
from weiwai.compliance.complaint_schemas import ComplaintCreate, ComplaintTransition
from weiwai.compliance.complaints import (
    TRANSITIONS,
    overdue_complaints,
    record_complaint,
    respond_by,
    transition_complaint,
)
from weiwai.compliance.models import ComplaintEvent, ComplaintStatus, ContactHold
from weiwai.errors import IllegalTransition, NotFound, RuleViolation

TODAY = date(2024, 3, 10)
RECEIVED = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def world(session):
    w = make_world(session)
    collector = make_user(session, role="collector", agency=w.agency)
    w.case.collector_user_id = collector.id
    session.flush()
    return w


def intake(session, world, **overrides):
    fields = {"source": "debtor", "case_no": world.case.case_no, "category": "harassment",
              "summary": "called five times a day", "received_at": RECEIVED}
    fields.update(overrides)
    return record_complaint(session=session, data=ComplaintCreate(**fields), actor="user:ops", today=TODAY)


def move(session, complaint, to, **fields):
    return transition_complaint(session=session, complaint=complaint, data=ComplaintTransition(to=to, **fields),
                                actor="user:compliance")


def events(session, complaint):
    return [(e.from_status, e.to_status) for e in session.scalars(
        select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id).order_by(ComplaintEvent.id))]


def live_holds(session, complaint):
    return list(session.scalars(select(ContactHold).where(ContactHold.complaint_id == complaint.id,
                                                          ContactHold.lifted_at.is_(None))))


def test_a_complaint_on_a_case_is_linked_to_agency_collector_account_and_debtor(session, world):
    complaint = intake(session, world)
    assert complaint.complaint_no.startswith("CP") and complaint.status == ComplaintStatus.open
    assert (complaint.agency_id, complaint.case_id, complaint.collector_user_id) == (
        world.agency.id, world.case.id, world.case.collector_user_id)
    assert (complaint.account_id, complaint.debtor_id) == (world.account.id, world.debtor.id)
    assert events(session, complaint) == [(None, "open")]


def test_an_account_alone_finds_its_open_case(session, world):
    complaint = intake(session, world, case_no=None, account_no=world.account.account_no)
    assert (complaint.case_id, complaint.agency_id) == (world.case.id, world.agency.id)


def test_unknown_links_and_mismatches_are_refused(session, world):
    with pytest.raises(NotFound):
        intake(session, world, case_no="NO-SUCH-CASE")
    with pytest.raises(RuleViolation, match="is not of account"):
        intake(session, world, account_no="OTHER-ACCOUNT")
    with pytest.raises(RuleViolation) as refused:
        intake(session, world, case_no=None, agency_id=world.agency.id, holds_contact=True)
    assert refused.value.code == "hold_needs_debtor"
    with pytest.raises(RuleViolation):
        intake(session, world, received_at=datetime(2024, 3, 20, tzinfo=UTC))


@pytest.mark.parametrize(("source", "days"), [("regulator", 5), ("lender", 10), ("debtor", 15)])
def test_respond_by_depends_on_the_source(session, world, source, days):
    assert intake(session, world, source=source).respond_by == date(2024, 3, 5) + timedelta(days=days)
    # The day is the lender's: 23:30 UTC on the 4th is already the 5th in Shanghai.
    assert respond_by(source, datetime(2024, 3, 4, 23, 30, tzinfo=UTC)) == date(2024, 3, 5) + timedelta(days=days)


def test_respond_by_follows_the_settings(session, world, monkeypatch):
    from weiwai.config import get_settings

    monkeypatch.setitem(get_settings().complaint_response_days, "regulator", 2)
    assert intake(session, world, source="regulator").respond_by == date(2024, 3, 7)


def test_overdue_complaints_are_open_ones_past_their_day(session, world):
    regulator = intake(session, world, source="regulator")  # by 2024-03-10
    debtor = intake(session, world, source="debtor")  # by 2024-03-20
    closed = intake(session, world, source="regulator")
    move(session, closed, "rejected", outcome="not about this agency")
    assert overdue_complaints(session=session, today=date(2024, 3, 10)) == []
    assert overdue_complaints(session=session, today=date(2024, 3, 11)) == [regulator]
    assert {c.id for c in overdue_complaints(session=session, today=date(2024, 3, 21))} == {regulator.id, debtor.id}


def test_the_lifecycle_is_a_table_and_every_step_an_event(session, world):
    complaint = intake(session, world)
    move(session, complaint, "investigating", note="recordings requested")
    with pytest.raises(IllegalTransition):
        move(session, complaint, "open", note="x")
    with pytest.raises(RuleViolation) as refused:
        move(session, complaint, "resolved")
    assert refused.value.code == "outcome_required"
    move(session, complaint, "resolved", outcome="upheld; collector retrained")
    assert complaint.closed_at is not None and complaint.outcome == "upheld; collector retrained"
    with pytest.raises(IllegalTransition):
        move(session, complaint, "rejected", outcome="x")
    with pytest.raises(RuleViolation) as refused:
        move(session, complaint, "open")
    assert refused.value.code == "note_required"
    move(session, complaint, "open", note="the debtor wrote again")
    assert complaint.closed_at is None
    assert events(session, complaint) == [(None, "open"), ("open", "investigating"), ("investigating", "resolved"),
                                          ("resolved", "open")]
    assert set(TRANSITIONS) == set(ComplaintStatus)


def test_investigation_holds_contact_and_closing_lifts_it(session, world):
    complaint = intake(session, world)
    move(session, complaint, "investigating", hold_contact=True)
    [hold] = live_holds(session, complaint)
    assert (hold.kind, hold.debtor_id, hold.channels) == ("complaint", world.debtor.id, [])
    move(session, complaint, "rejected", outcome="calls were within the rules")
    assert live_holds(session, complaint) == []
    move(session, complaint, "open", note="new evidence")
    assert len(live_holds(session, complaint)) == 1  # holds_contact stays: reopening holds again
    move(session, complaint, "resolved", outcome="upheld")
    assert live_holds(session, complaint) == []


def test_a_hold_can_be_asked_at_intake(session, world):
    complaint = intake(session, world, holds_contact=True)
    assert complaint.holds_contact and len(live_holds(session, complaint)) == 1
    with pytest.raises(RuleViolation):
        move(session, complaint, "resolved", outcome="x", hold_contact=False)


# --- over HTTP -----------------------------------------------------------------------------------


def body(world, **overrides):
    fields = {"source": "regulator", "case_no": world.case.case_no, "category": "privacy",
              "summary": "disclosed the debt to a neighbour", "received_at": "2024-03-05T10:00:00+08:00",
              "severity": "high"}
    fields.update(overrides)
    return fields


def test_the_api_records_reads_and_moves_a_complaint(session, world):
    ops = compliance_client(session, make_user(session, role="operations"))
    created = ops.post("/api/v1/complaints", json=body(world))
    assert created.status_code == 201, created.text
    number = created.json()["complaint_no"]
    assert created.json()["agency_code"] == world.agency.code and created.json()["respond_by"] == "2024-03-10"
    read = ops.get(f"/api/v1/complaints/{number}")
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    assert [e["to_status"] for e in read.json()["events"]] == ["open"]
    stale = ops.post(f"/api/v1/complaints/{number}/transitions", json={"to": "investigating"},
                     headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    moved = ops.post(f"/api/v1/complaints/{number}/transitions",
                     json={"to": "investigating", "hold_contact": True}, headers={"If-Match": '"1"'})
    assert moved.status_code == 200, moved.text
    assert moved.json()["contact_hold_live"] is True and moved.headers["ETag"] == '"2"'
    illegal = ops.post(f"/api/v1/complaints/{number}/transitions", json={"to": "open", "note": "x"})
    assert illegal.status_code == 409 and illegal.json()["code"] == "illegal_transition"
    listed = ops.get("/api/v1/complaints", params={"status": "investigating"})
    assert listed.json()["total"] == 1 and listed.json()["items"][0]["complaint_no"] == number
    assert ops.get("/api/v1/complaints", params={"overdue": "true"}).json()["total"] == 1  # 2024-03-10 has passed


def test_agency_managers_see_their_own_agencys_complaints_only(session, world):
    ops = compliance_client(session, make_user(session, role="operations"))
    number = ops.post("/api/v1/complaints", json=body(world)).json()["complaint_no"]
    manager = compliance_client(session, make_user(session, role="agency_manager", agency=world.agency))
    mine = manager.get(f"/api/v1/complaints/{number}")
    assert mine.status_code == 200 and mine.json()["recorded_by"] is None
    assert mine.json()["events"][0]["changed_by"] is None
    assert manager.get("/api/v1/complaints").json()["total"] == 1
    stranger = compliance_client(session, make_user(session, role="agency_manager", agency=make_agency(session)))
    assert stranger.get(f"/api/v1/complaints/{number}").status_code == 404
    assert stranger.get("/api/v1/complaints").json()["total"] == 0
    assert stranger.get("/api/v1/complaints", params={"agency_id": world.agency.id}).status_code == 404
    assert manager.post("/api/v1/complaints", json=body(world)).status_code == 403
    collector = compliance_client(session, make_user(session, role="collector", agency=world.agency))
    assert collector.get("/api/v1/complaints").status_code == 403
