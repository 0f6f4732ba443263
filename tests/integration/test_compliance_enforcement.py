"""Enforcement when actions are logged (API, service, file import), refuse and record, with reservations."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from factories_collection import (
    api_client,
    english_messages,  # noqa: F401  (autouse)
    make_user,
    make_world,
)
from factories_compliance import judge  # noqa: F401  (autouse)
from weiwai.collection import action_import, service
from weiwai.collection.models import CollectionAction
from weiwai.collection.schemas import ActionCreate
from weiwai.compliance import checks
from weiwai.compliance.enforcement import ContactNotAllowed, severity_of
from weiwai.compliance.models import ComplianceViolation, ContactReservation
from weiwai.config import get_settings
from weiwai.errors import InputRejected, RuleViolation

DAY = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
NIGHT = datetime(2024, 3, 5, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
LATER = datetime(2024, 3, 6, 4, 0, tzinfo=UTC)


@pytest.fixture
def world(session):
    return make_world(session)


@pytest.fixture
def record_mode(monkeypatch):
    monkeypatch.setattr(get_settings(), "compliance_enforcement", "record")


def act(world, when, outcome="right_party_contact", **extra):
    fields = {"channel": "phone", "occurred_at": when, "party": "debtor", "outcome": outcome,
              "phone_id": world.debtor.phones[0].id, "line_ref": "LINE-1"}
    fields.update(extra)
    return ActionCreate.model_validate(fields)


def log(session, world, data, **kwargs):
    return service.record_action(session=session, case_id=world.case.id, data=data, actor="user:c",
                                 agency_id=world.agency.id, at=LATER, **kwargs)


def actions(session, world):
    return session.scalars(select(CollectionAction).where(CollectionAction.case_id == world.case.id)).all()


def violations(session, world):
    return session.scalars(select(ComplianceViolation).where(ComplianceViolation.case_id == world.case.id)
                           .order_by(ComplianceViolation.id)).all()


def test_refuse_mode_refuses_a_night_call_naming_rules_and_reasons(session, world):
    with pytest.raises(ContactNotAllowed) as refused:
        log(session, world, act(world, NIGHT))
    assert refused.value.code == "contact_not_allowed" and refused.value.http_status == 422
    assert "CN-01" in refused.value.message
    assert "quiet" in refused.value.message.lower() or "22:00" in refused.value.message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.value.message)  # the Chinese reason too
    assert actions(session, world) == []


def test_record_mode_logs_the_action_and_its_violations(session, world, record_mode):
    logged = log(session, world, act(world, NIGHT))
    assert logged.created
    [violation] = violations(session, world)
    assert (violation.rule_id, violation.disposition, violation.severity) == ("CN-01", "recorded", "high")
    assert violation.action_id == logged.action.id and violation.agency_id == world.agency.id
    assert violation.details["reason_zh"] and violation.details["reason_en"]


def test_the_fourth_conversation_of_a_day_is_refused(session, world):
    for minutes in (0, 10, 20):
        log(session, world, act(world, DAY + timedelta(minutes=minutes)))
    with pytest.raises(ContactNotAllowed, match="CN-02"):
        log(session, world, act(world, DAY + timedelta(minutes=30)))
    # A text message is not limited by the daily conversations.
    log(session, world, act(world, DAY + timedelta(minutes=40), outcome="sms_sent", channel="sms", line_ref=None))


def test_a_reservation_is_consumed_and_not_counted_twice(session, world):
    log(session, world, act(world, DAY))
    log(session, world, act(world, DAY + timedelta(minutes=10)))
    principal = service.acting_as(world.agency.id)
    reserved = checks.check_contact(session=session, principal=principal, case_no=world.case.case_no,
                                    channel="phone", party="debtor", phone_id=world.debtor.phones[0].id,
                                    at=DAY + timedelta(minutes=20), reserve=True)
    assert reserved.decision.allowed
    # Without the token, a contact would take a fourth slot: refused.
    with pytest.raises(ContactNotAllowed):
        log(session, world, act(world, DAY + timedelta(minutes=21)))
    logged = log(session, world, act(world, DAY + timedelta(minutes=21)), reservation=reserved.reservation_token)
    row = session.scalars(select(ContactReservation).where(
        ContactReservation.token == reserved.reservation_token)).one()
    assert row.consumed_action_id == logged.action.id
    with pytest.raises(RuleViolation) as reused:
        log(session, world, act(world, DAY + timedelta(minutes=22)), reservation=reserved.reservation_token)
    assert reused.value.code == "reservation_invalid"


def test_a_reservation_of_another_channel_is_invalid(session, world):
    principal = service.acting_as(world.agency.id)
    reserved = checks.check_contact(session=session, principal=principal, case_no=world.case.case_no,
                                    channel="sms", party="debtor", phone_id=world.debtor.phones[0].id,
                                    at=DAY, reserve=True, now=DAY)
    with pytest.raises(RuleViolation) as invalid:
        log(session, world, act(world, DAY), reservation=reserved.reservation_token)
    assert invalid.value.code == "reservation_invalid"


def test_the_api_refuses_with_problem_details_and_takes_a_reservation(session, world):
    user = make_user(session, role="collector", agency=world.agency)
    world.case.collector_user_id = user.id
    session.flush()
    client = api_client(session, user)
    body = {"channel": "phone", "occurred_at": "2024-03-05T23:00:00+08:00", "party": "debtor",
            "outcome": "no_answer", "phone_id": world.debtor.phones[0].id, "line_ref": "LINE-1"}
    refused = client.post(f"/api/v1/cases/{world.case.case_no}/actions", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "contact_not_allowed" and "CN-01" in refused.json()["detail"]
    bad = client.post(f"/api/v1/cases/{world.case.case_no}/actions",
                      json={**body, "occurred_at": "2024-03-05T10:00:00+08:00", "reservation": "rsv_nope"})
    assert bad.status_code == 422 and bad.json()["code"] == "reservation_invalid"
    ok = client.post(f"/api/v1/cases/{world.case.case_no}/actions",
                     json={**body, "occurred_at": "2024-03-05T10:00:00+08:00"})
    assert ok.status_code == 201, ok.text


def test_severities():
    assert severity_of("HOLDS") == "severe"
    assert severity_of("CN-01") == "high"
    assert severity_of("CN-02") == "medium"
    assert severity_of("XX-99") == "medium"


CSV_HEADER = "case_no,channel,occurred_at,party,outcome,phone_id,line_ref\n"


def _csv(tmp_path, world, times, name="log.csv"):
    rows = "".join(f"{world.case.case_no},phone,{t.isoformat()},debtor,right_party_contact,"
                   f"{world.debtor.phones[0].id},LINE-1\n" for t in times)
    path = tmp_path / name
    path.write_text(CSV_HEADER + rows, encoding="utf-8")
    return path


def test_an_import_with_a_denied_row_is_rejected_whole(session, world, tmp_path):
    path = _csv(tmp_path, world, [DAY, DAY + timedelta(minutes=5), DAY + timedelta(minutes=10),
                                  DAY + timedelta(minutes=15)])
    with pytest.raises(InputRejected) as rejected:
        action_import.import_actions(session=session, path=path, agency_code=world.agency.code, actor="a",
                                     at=LATER)
    assert [(e.row, "CN-02" in e.reason) for e in rejected.value.errors] == [(5, True)]
    assert actions(session, world) == []


def test_an_import_in_record_mode_logs_everything_and_records_violations(session, world, tmp_path, record_mode):
    path = _csv(tmp_path, world, [DAY, DAY + timedelta(minutes=5), DAY + timedelta(minutes=10),
                                  DAY + timedelta(minutes=15)])
    summary = action_import.import_actions(session=session, path=path, agency_code=world.agency.code, actor="a",
                                           at=LATER)
    assert summary.created == 4
    assert [(v.rule_id, v.disposition) for v in violations(session, world)] == [("CN-02", "recorded")]
