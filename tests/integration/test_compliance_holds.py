"""Holds, preferences, agencies' reports and violations: services and API, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest

from factories_collection import (
    api_client,
    english_messages,  # noqa: F401  (autouse)
    make_user,
    make_world,
)
from factories_compliance import judge  # noqa: F401  (autouse)
from weiwai.collection.service import acting_as
from weiwai.compliance import checks, holds
from weiwai.compliance.models import ComplianceViolation
from weiwai.errors import NotFound, RuleViolation

DAY = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)


@pytest.fixture
def world(session):
    return make_world(session)


def client_for(session, user):
    from weiwai.compliance.routes import router

    client = api_client(session, user)
    client.app.include_router(router)
    return client


def allowed(session, world, channel="phone"):
    kwargs = {"phone_id": world.debtor.phones[0].id} if channel in ("phone", "sms") else {}
    return checks.check_contact(session=session, principal=acting_as(None), case_no=world.case.case_no,
                                channel=channel, party="debtor", at=DAY, **kwargs).decision.allowed


def test_a_hold_blocks_until_lifted(session, world):
    hold = holds.set_hold(session=session, debtor_id=world.debtor.id, kind="cease_contact", reason="书面要求",
                          actor="user:ops")
    assert not allowed(session, world)
    holds.lift_hold(session=session, hold_id=hold.id, reason="撤回", actor="user:ops")
    assert allowed(session, world)
    with pytest.raises(RuleViolation):
        holds.lift_hold(session=session, hold_id=hold.id, reason="again", actor="user:ops")


def test_a_channel_hold_blocks_only_its_channels(session, world):
    holds.set_hold(session=session, debtor_id=world.debtor.id, kind="channel_opt_out", reason="拒绝短信",
                   channels=["sms"], actor="user:ops")
    assert allowed(session, world, "phone")
    assert not allowed(session, world, "sms")


def test_holds_are_listed_live_or_all(session, world):
    first = holds.set_hold(session=session, debtor_id=world.debtor.id, kind="dispute", reason="a", actor="x")
    holds.set_hold(session=session, debtor_id=world.debtor.id, kind="hardship", reason="b", actor="x")
    holds.lift_hold(session=session, hold_id=first.id, reason="done", actor="x")
    assert [h.kind for h in holds.list_holds(session=session, debtor_id=world.debtor.id)[0]] == ["hardship"]
    assert holds.list_holds(session=session, debtor_id=world.debtor.id, include_lifted=True)[1] == 2
    with pytest.raises(NotFound):
        holds.list_holds(session=session, debtor_id=987654)


def test_preferences_need_their_target_and_can_be_revoked(session, world):
    with pytest.raises(RuleViolation):
        holds.add_preference(session=session, debtor_id=world.debtor.id, kind="do_not_contact", actor="x")
    contact = world.debtor.contacts[0]
    preference = holds.add_preference(session=session, debtor_id=world.debtor.id, kind="do_not_contact",
                                      contact_id=contact.id, actor="x")
    found = checks.check_contact(session=session, principal=acting_as(None), case_no=world.case.case_no,
                                 channel="sms", party="contact", contact_id=contact.id, at=DAY)
    assert found.facts.preferences and found.facts.preferences[0].contact_id == contact.id
    holds.revoke_preference(session=session, preference_id=preference.id, actor="x")
    assert holds.list_preferences(session=session, debtor_id=world.debtor.id)[1] == 0


def test_an_agency_reports_a_dispute_on_its_case_and_the_lender_lifts_it(session, world):
    manager = make_user(session, role="agency_manager", agency=world.agency)
    client = client_for(session, manager)
    reported = client.post(f"/api/v1/cases/{world.case.case_no}/holds", json={"kind": "dispute", "reason": "债务人称已还"})
    assert reported.status_code == 201, reported.text
    hold = reported.json()["hold"]
    assert hold["kind"] == "dispute" and hold["account_id"] == world.account.id
    assert client.get(f"/api/v1/debtors/{world.debtor.id}/holds").status_code == 403
    refusal = client.post(f"/api/v1/cases/{world.case.case_no}/holds",
                          json={"kind": "do_not_contact", "reason": "联系人拒绝",
                                "contact_id": world.debtor.contacts[0].id})
    assert refusal.status_code == 201 and refusal.json()["preference"]["kind"] == "do_not_contact"
    other = make_world(session)
    assert client.post(f"/api/v1/cases/{other.case.case_no}/holds",
                       json={"kind": "dispute", "reason": "x"}).status_code == 404

    ops = client_for(session, make_user(session, role="operations"))
    listed = ops.get(f"/api/v1/debtors/{world.debtor.id}/holds")
    assert listed.status_code == 200 and listed.json()["total"] == 1
    stale = ops.post(f"/api/v1/holds/{hold['id']}/lift", json={"reason": "核实"}, headers={"If-Match": '"99"'})
    assert stale.status_code == 412
    lifted = ops.post(f"/api/v1/holds/{hold['id']}/lift", json={"reason": "核实"},
                      headers={"If-Match": f'"{hold["version"]}"'})
    assert lifted.status_code == 200 and lifted.json()["lifted_at"]
    made = ops.post(f"/api/v1/debtors/{world.debtor.id}/holds", json={"kind": "hardship", "reason": "失业",
                                                                       "channels": ["visit"]})
    assert made.status_code == 201 and made.json()["channels"] == ["visit"]
    preference = ops.post(f"/api/v1/debtors/{world.debtor.id}/preferences",
                          json={"kind": "agreed_window", "data": {"start": "22:00", "end": "22:30"},
                                "evidence_ref": "REC-1"})
    assert preference.status_code == 201, preference.text
    revoked = ops.post(f"/api/v1/preferences/{preference.json()['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]


def test_violations_are_listed_by_agency_for_managers(session, world):
    other = make_world(session)
    for w in (world, other):
        session.add(ComplianceViolation(case_id=w.case.id, debtor_id=w.debtor.id, agency_id=w.agency.id,
                                        rule_id="CN-01", pack="CN@1", severity="high", disposition="recorded",
                                        details={}, occurred_at=DAY, recorded_by="t"))
    session.flush()
    manager = client_for(session, make_user(session, role="agency_manager", agency=world.agency))
    page = manager.get("/api/v1/violations").json()
    assert page["total"] == 1 and page["items"][0]["agency_id"] == world.agency.id
    assert manager.get("/api/v1/violations", params={"agency_id": other.agency.id}).status_code == 404
    auditor = client_for(session, make_user(session, role="auditor"))
    everything = auditor.get("/api/v1/violations", params={"rule_id": "CN-01", "severity": "high"}).json()
    assert everything["total"] >= 2
    assert auditor.get("/api/v1/violations", params={"agency_id": other.agency.id}).json()["total"] == 1
    collector = client_for(session, make_user(session, role="collector", agency=world.agency))
    assert collector.get("/api/v1/violations").status_code == 403
