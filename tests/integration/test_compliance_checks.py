"""Pre-contact checks on SQLite and PostgreSQL: facts over every agency, reservations, releases, the API."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from factories_collection import (
    api_client,
    english_messages,  # noqa: F401  (autouse)
    make_account,
    make_agency,
    make_case,
    make_contract,
    make_user,
    make_world,
)
from factories_compliance import judge  # noqa: F401  (autouse)
from weiwai.collection.models import CollectionAction
from weiwai.collection.service import acting_as
from weiwai.compliance import checks, facts
from weiwai.compliance.models import ComplianceViolation, ContactHold, ContactReservation
from weiwai.errors import NotFound, RuleViolation

MORNING = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
NIGHT = datetime(2024, 3, 5, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
NOW = datetime(2024, 3, 5, 1, 30, tzinfo=UTC)
LENDER = acting_as(None)


def add_action(session, case, *, at, outcome="right_party_contact", phone_bidx=None, channel="phone"):
    action = CollectionAction(
        case_id=case.id, account_id=case.account_id, agency_id=case.agency_id, channel=channel, occurred_at=at,
        party="debtor", phone_bidx=phone_bidx, outcome=outcome, recorded_by="test", recorded_at=at)
    session.add(action)
    session.flush()
    return action


def check(session, world, *, at=MORNING, reserve=False, principal=None, **kwargs):
    kwargs.setdefault("phone_id", world.debtor.phones[0].id)
    return checks.check_contact(session=session, principal=principal or acting_as(world.agency.id),
                                case_no=world.case.case_no, channel=kwargs.pop("channel", "phone"),
                                party=kwargs.pop("party", "debtor"), at=at, reserve=reserve, now=NOW, **kwargs)


@pytest.fixture
def world(session):
    return make_world(session)


def test_an_ordinary_contact_is_allowed(session, world):
    result = check(session, world)
    assert result.decision.allowed
    assert result.reservation_token is None
    assert result.facts.time_zones == ("Asia/Shanghai",)
    assert result.facts.phone_bidx == world.debtor.phones[0].phone_bidx


def test_quiet_hours_are_denied_with_the_next_allowed_time(session, world):
    result = check(session, world, at=NIGHT)
    assert not result.decision.allowed
    assert "CN-01" in result.decision.rule_ids
    assert result.decision.earliest_allowed_at == datetime(2024, 3, 6, 0, 0, tzinfo=UTC)  # 08:00 Shanghai


def test_history_counts_every_agency_and_every_account_of_the_debtor(session, world):
    other_agency = make_agency(session)
    other_contract = make_contract(session, agency=other_agency)
    other_account = make_account(session, debtor=world.debtor)
    other_case = make_case(session, contract=other_contract, account=other_account)
    add_action(session, world.case, at=MORNING - timedelta(hours=1))
    add_action(session, other_case, at=MORNING - timedelta(minutes=30))
    add_action(session, other_case, at=MORNING - timedelta(minutes=10))
    # Nine days ago: outside the window.
    add_action(session, world.case, at=MORNING - timedelta(days=9))
    result = check(session, world)
    assert len(result.facts.history) == 3
    assert {c.agency_id for c in result.facts.history} == {world.agency.id, other_agency.id}
    assert not result.decision.allowed and "CN-02" in result.decision.rule_ids


def test_an_allowed_reserved_check_takes_a_slot_that_later_checks_count(session, world):
    add_action(session, world.case, at=MORNING - timedelta(hours=1))
    add_action(session, world.case, at=MORNING - timedelta(hours=2))
    first = check(session, world, reserve=True)
    assert first.decision.allowed and first.reservation_token.startswith("rsv_")
    assert first.expires_at == NOW + timedelta(minutes=15)
    second = check(session, world, reserve=True)
    assert not second.decision.allowed and "CN-02" in second.decision.rule_ids
    assert second.reservation_token is None
    assert [c.reserved for c in second.facts.history].count(True) == 1
    # A denied check that asked to reserve is kept as a refused violation.
    refused = session.scalars(select(ComplianceViolation).where(ComplianceViolation.case_id == world.case.id)).all()
    assert [(v.rule_id, v.disposition) for v in refused] == [("CN-02", "refused")]
    # Released, the slot is free again.
    checks.release_reservation(session=session, principal=acting_as(world.agency.id), token=first.reservation_token)
    assert check(session, world).decision.allowed


def test_a_plain_question_is_not_a_violation(session, world):
    assert not check(session, world, at=NIGHT).decision.allowed
    assert session.scalar(select(func.count(ComplianceViolation.id)).where(
        ComplianceViolation.case_id == world.case.id)) == 0


def test_expired_reservations_do_not_count(session, world):
    add_action(session, world.case, at=MORNING - timedelta(hours=1))
    add_action(session, world.case, at=MORNING - timedelta(hours=2))
    first = check(session, world, reserve=True)
    row = session.scalars(select(ContactReservation).where(ContactReservation.token == first.reservation_token)).one()
    row.expires_at = NOW - timedelta(seconds=1)
    session.flush()
    assert check(session, world).decision.allowed


def test_holds_and_legacy_flags_deny(session, world):
    session.add(ContactHold(debtor_id=world.debtor.id, kind="dispute", channels=[], reason="书面异议", set_by="test"))
    session.flush()
    result = check(session, world)
    assert not result.decision.allowed
    assert [h.kind for h in result.facts.holds] == ["dispute"]
    other = make_world(session)
    other.debtor.deceased = True
    session.flush()
    flagged = check(session, other)
    assert not flagged.decision.allowed and [h.kind for h in flagged.facts.holds] == ["deceased"]


def test_a_case_out_of_reach_is_not_found(session, world):
    other = make_world(session)
    with pytest.raises(NotFound):
        checks.check_contact(session=session, principal=acting_as(other.agency.id), case_no=world.case.case_no,
                             channel="phone", party="debtor", phone_id=world.debtor.phones[0].id, at=MORNING)


def test_the_number_must_be_the_partys(session, world):
    other = make_world(session)
    with pytest.raises(RuleViolation):
        check(session, world, phone_id=other.debtor.phones[0].id)
    with pytest.raises(RuleViolation):
        check(session, world, phone_id=None)


def test_someone_elses_reservation_cannot_be_released(session, world):
    made = check(session, world, reserve=True)
    other = make_world(session)
    with pytest.raises(NotFound):
        checks.release_reservation(session=session, principal=acting_as(other.agency.id),
                                   token=made.reservation_token)


def test_the_gathered_facts_take_two_statements(session, world, engine):
    from sqlalchemy import event

    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        facts.gather_facts(session=session, case=world.case, channel="phone", party="debtor", at=MORNING)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 2


def test_the_api_answers_the_check_and_releases(session, world):
    collector = make_user(session, role="agency_manager", agency=world.agency)
    client = _client(session, collector)
    body = {"case_no": world.case.case_no, "channel": "phone", "party": "debtor",
            "phone_id": world.debtor.phones[0].id, "at": "2024-03-05T23:00:00+08:00"}
    denied = client.post("/api/v1/contact-checks", json=body)
    assert denied.status_code == 200, denied.text
    answer = denied.json()
    assert answer["allowed"] is False and "CN-01" in answer["rule_ids"]
    assert {"rule_id", "zh_CN", "en"} <= set(answer["reasons"][0])
    assert answer["earliest_allowed_at"].startswith("2024-03-06T00:00:00")
    allowed = client.post("/api/v1/contact-checks", json={**body, "at": "2030-03-05T10:00:00+08:00",
                                                          "reserve": True})
    assert allowed.status_code == 200 and allowed.json()["allowed"] is True
    token = allowed.json()["reservation"]
    assert token and allowed.json()["reservation_expires_at"]
    released = client.delete(f"/api/v1/contact-checks/reservations/{token}")
    assert released.status_code == 204
    missing = client.post("/api/v1/contact-checks", json={**body, "case_no": "NO-SUCH-CASE"})
    assert missing.status_code == 404


def _client(session, user):
    client = api_client(session, user)
    from weiwai.compliance.routes import router

    client.app.include_router(router)
    return client
