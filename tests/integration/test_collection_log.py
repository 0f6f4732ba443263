"""Logging collection actions on SQLite and PostgreSQL: every rule, idempotency, case moves."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from factories_collection import (
    english_messages,  # noqa: F401  (autouse)
    make_agency,
    make_case,
    make_contract,
    make_world,
    mobile,
)
from weiwai.collection import service
from weiwai.collection.models import CollectionAction, PromiseStatus, PromiseToPay
from weiwai.collection.schemas import ActionCreate
from weiwai.errors import Conflict, NotFound, RuleViolation
from weiwai.placements.models import CaseStatus, CaseStatusChange
from weiwai.portfolio import personal_data

# The collection log's mechanics, not the compliance rules (tested in test_compliance_*).
pytestmark = pytest.mark.usefixtures("record_compliance")

AT = datetime(2024, 3, 5, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
WHEN = AT - timedelta(hours=1)
CONTACT_PHONE = "13700001111"


def action(**overrides) -> ActionCreate:
    fields = {"channel": "phone", "occurred_at": WHEN, "party": "debtor", "outcome": "no_answer"}
    fields.update(overrides)
    return ActionCreate.model_validate(fields)


@pytest.fixture
def world(session):
    return make_world(session, contacts=[("王五", "spouse", CONTACT_PHONE)])


def log(session, world, data, **kwargs):
    kwargs.setdefault("at", AT)
    return service.log_action(session=session, case_id=world.case.id, data=data, actor="user:collector", **kwargs)


def phone_id(world):
    return world.debtor.phones[0].id


def test_an_action_is_logged_with_the_number_as_blind_index(session, world):
    logged = log(session, world, action(phone_id=phone_id(world), line_ref="L-1", notes="无人接听"))
    assert logged.id is not None
    assert logged.phone_bidx == world.debtor.phones[0].phone_bidx
    assert logged.occurred_at == WHEN and logged.recorded_at == AT
    assert logged.agency_id == world.agency.id and logged.account_id == world.account.id
    assert logged.recorded_by == "user:collector"


def test_the_number_may_be_given_in_full_or_by_blind_index(session, world):
    number = personal_data.open_value(world.debtor.phones[0].phone_enc, personal_data.DEBTOR_PHONE, reveal=True)
    by_number = log(session, world, action(phone=number))
    by_index = log(session, world, action(phone_bidx=world.debtor.phones[0].phone_bidx))
    assert by_number.phone_bidx == by_index.phone_bidx == world.debtor.phones[0].phone_bidx


def test_first_action_moves_placed_to_working(session, world):
    log(session, world, action(phone_id=phone_id(world)))
    assert world.case.status == CaseStatus.working
    log(session, world, action(phone_id=phone_id(world)))
    changes = session.scalars(select(CaseStatusChange).where(CaseStatusChange.case_id == world.case.id)).all()
    assert [(c.from_status, c.to_status) for c in changes] == [("placed", "working")]
    assert changes[0].changed_by == "user:collector" and changes[0].changed_at == AT


def test_a_promise_moves_the_case_to_promised_and_is_recorded(session, world):
    logged = log(session, world, action(phone_id=phone_id(world), outcome="promise_to_pay",
                                        promise_amount="800.00", promise_due_on="2024-03-12"))
    assert world.case.status == CaseStatus.promised
    promise = session.scalars(select(PromiseToPay).where(PromiseToPay.action_id == logged.id)).one()
    assert promise.amount == Decimal("800.00") and promise.due_on == date(2024, 3, 12)
    assert promise.promised_on == date(2024, 3, 5) and promise.status == PromiseStatus.pending
    # Another action does not undo the promise.
    log(session, world, action(phone_id=phone_id(world)))
    assert world.case.status == CaseStatus.promised


def test_a_promise_on_a_working_case(session, world):
    log(session, world, action(phone_id=phone_id(world)))
    log(session, world, action(phone_id=phone_id(world), outcome="promise_to_pay", promise_amount="1",
                               promise_due_on="2024-03-05"))
    assert world.case.status == CaseStatus.promised


@pytest.mark.parametrize("status", [CaseStatus.closed, CaseStatus.recalled, CaseStatus.expired, CaseStatus.paid])
def test_only_open_cases_take_actions(session, world, status):
    world.case.status = status
    session.flush()
    with pytest.raises(RuleViolation, match="only on open cases"):
        log(session, world, action(phone_id=phone_id(world)))


def test_another_agencys_case_is_not_found(session, world):
    stranger = make_agency(session)
    with pytest.raises(NotFound):
        log(session, world, action(phone_id=phone_id(world)), agency_id=stranger.id)
    assert log(session, world, action(phone_id=phone_id(world)), agency_id=world.agency.id).id


def test_a_missing_case_is_not_found(session):
    with pytest.raises(NotFound):
        service.log_action(session=session, case_id=987654, data=action(phone_id=1), actor="x", at=AT)


def test_channel_must_be_permitted_by_the_contract(session):
    world = make_world(session, channels=["sms"])
    with pytest.raises(RuleViolation, match="does not permit channel phone"):
        log(session, world, action(phone_id=phone_id(world)))


def test_a_visit_needs_credential_and_recording(session, world):
    with pytest.raises(RuleViolation) as raised:
        log(session, world, action(channel="visit", outcome="visit_done"))
    assert "credential_ref" in raised.value.message and "recording_ref" in raised.value.message
    with pytest.raises(RuleViolation, match="recording_ref"):
        log(session, world, action(channel="visit", outcome="visit_done", credential_ref="工作证 A-17"))
    visit = log(session, world, action(channel="visit", outcome="visit_done", credential_ref="工作证 A-17",
                                       recording_ref="rec://2024/03/05/17"))
    assert visit.credential_ref == "工作证 A-17" and visit.phone_bidx is None


@pytest.mark.parametrize("amount,due,message", [
    (None, "2024-03-10", "needs the amount"),
    ("0", "2024-03-10", "more than zero"),
    ("-5", "2024-03-10", "more than zero"),
    ("100", None, "needs the date"),
    ("100", "2024-03-04", "before the day of the promise"),
    ("100", "2024-04-05", "more than 30 days"),
])
def test_bad_promises_are_refused(session, world, amount, due, message):
    fields = {"outcome": "promise_to_pay", "phone_id": phone_id(world)}
    if amount is not None:
        fields["promise_amount"] = amount
    if due is not None:
        fields["promise_due_on"] = due
    with pytest.raises(RuleViolation, match=message):
        log(session, world, action(**fields))
    assert world.case.status == CaseStatus.placed


def test_promise_window_is_a_parameter(session, world):
    data = action(outcome="promise_to_pay", phone_id=phone_id(world), promise_amount="100",
                  promise_due_on="2024-03-20")
    with pytest.raises(RuleViolation, match="more than 7 days"):
        log(session, world, data, promise_max_days=7)
    assert log(session, world, data, promise_max_days=30).id


def test_promise_due_on_the_last_allowed_day(session, world):
    assert log(session, world, action(outcome="promise_to_pay", phone_id=phone_id(world), promise_amount="1",
                                      promise_due_on="2024-04-04"))


def test_promise_fields_only_with_a_promise(session, world):
    with pytest.raises(RuleViolation, match="only given with outcome promise_to_pay"):
        log(session, world, action(phone_id=phone_id(world), promise_amount="100"))


def test_contact_party_needs_one_of_the_debtors_contacts(session, world):
    with pytest.raises(RuleViolation, match="needs contact_id"):
        log(session, world, action(party="contact", outcome="third_party_contact"))
    other = make_world(session, contacts=[("孙八", "friend", mobile())])
    with pytest.raises(RuleViolation, match="not one of the debtor's contacts"):
        log(session, world, action(party="contact", outcome="third_party_contact",
                                   contact_id=other.debtor.contacts[0].id))
    contact = world.debtor.contacts[0]
    logged = log(session, world, action(party="contact", outcome="third_party_contact", contact_id=contact.id))
    # The contact's own number is the default; the relation comes from the contact.
    assert logged.phone_bidx == contact.phone_bidx and logged.relation == "spouse"


def test_contact_id_only_with_party_contact(session, world):
    with pytest.raises(RuleViolation, match="only given with party contact"):
        log(session, world, action(phone_id=phone_id(world), contact_id=world.debtor.contacts[0].id))


def test_the_number_must_belong_to_the_party(session, world):
    with pytest.raises(RuleViolation, match="not one of the debtor's numbers"):
        log(session, world, action(phone=CONTACT_PHONE))
    with pytest.raises(RuleViolation, match="not one of the debtor's phones"):
        log(session, world, action(phone_id=987654))
    with pytest.raises(RuleViolation, match="not the number of that contact"):
        log(session, world, action(party="contact", outcome="no_answer", contact_id=world.debtor.contacts[0].id,
                                   phone_id=phone_id(world)))
    with pytest.raises(RuleViolation, match="not a number of the debtor"):
        log(session, world, action(party="third_party", outcome="wrong_party", phone=mobile()))
    third = log(session, world, action(party="third_party", outcome="wrong_party", phone=CONTACT_PHONE,
                                       relation="other"))
    assert third.relation == "other"


def test_phone_channels_need_a_number_and_others_refuse_one(session, world):
    with pytest.raises(RuleViolation, match="say which number"):
        log(session, world, action())
    with pytest.raises(RuleViolation, match="only recorded for phone, sms and ivr"):
        log(session, world, action(channel="letter", outcome="letter_sent", phone_id=phone_id(world)))
    with pytest.raises(RuleViolation, match="give the number once"):
        log(session, world, action(phone_id=phone_id(world), phone=CONTACT_PHONE))


def test_a_full_number_never_appears_in_an_error(session, world):
    number = mobile()
    with pytest.raises(RuleViolation) as raised:
        log(session, world, action(phone=number))
    assert number not in raised.value.message


def test_outcome_must_fit_channel_and_party(session, world):
    with pytest.raises(RuleViolation, match="cannot come from channel phone"):
        log(session, world, action(phone_id=phone_id(world), outcome="sms_sent"))
    with pytest.raises(RuleViolation, match="only possible with party debtor"):
        log(session, world, action(party="third_party", phone_id=phone_id(world), outcome="promise_to_pay",
                                   promise_amount="1", promise_due_on="2024-03-06"))


def test_times_in_the_future_or_before_placement_are_refused(session, world):
    with pytest.raises(RuleViolation, match="future"):
        log(session, world, action(phone_id=phone_id(world), occurred_at=AT + timedelta(hours=1)))
    with pytest.raises(RuleViolation, match="before the case was placed"):
        log(session, world, action(phone_id=phone_id(world), occurred_at=world.case.placed_at - timedelta(seconds=1)))
    assert log(session, world, action(phone_id=phone_id(world), occurred_at=AT + timedelta(minutes=4)))


def test_every_problem_is_reported_at_once(session, world):
    with pytest.raises(RuleViolation) as raised:
        log(session, world, action(channel="visit", outcome="sms_sent", phone_id=phone_id(world)))
    message = raised.value.message
    for column in ("outcome", "phone_id", "credential_ref", "recording_ref"):
        assert column in message


def test_the_same_idempotency_key_returns_the_first_action(session, world):
    first = log(session, world, action(phone_id=phone_id(world), idempotency_key="agency-42-0001"))
    again = log(session, world, action(phone_id=phone_id(world), outcome="busy", idempotency_key="agency-42-0001"))
    assert again.id == first.id and again.outcome == "no_answer"
    count = session.scalar(select(func.count()).select_from(CollectionAction).where(
        CollectionAction.case_id == world.case.id))
    assert count == 1
    logged = service.record_action(session=session, case_id=world.case.id, actor="x", at=AT,
                                   data=action(phone_id=phone_id(world), idempotency_key="agency-42-0001"))
    assert logged.created is False


def test_a_replayed_promise_creates_no_second_promise(session, world):
    data = action(phone_id=phone_id(world), outcome="promise_to_pay", promise_amount="10",
                  promise_due_on="2024-03-06", idempotency_key="k-promise")
    log(session, world, data)
    log(session, world, data)
    assert session.scalar(select(func.count()).select_from(PromiseToPay).where(
        PromiseToPay.case_id == world.case.id)) == 1


def test_an_idempotency_key_of_another_case_is_a_conflict(session, world):
    log(session, world, action(phone_id=phone_id(world), idempotency_key="shared-key"))
    other = make_world(session)
    with pytest.raises(Conflict):
        service.log_action(session=session, case_id=other.case.id, actor="x", at=AT,
                           data=action(phone_id=other.debtor.phones[0].id, idempotency_key="shared-key"))


def test_list_actions_and_promises(session, world):
    log(session, world, action(phone_id=phone_id(world), occurred_at=WHEN))
    log(session, world, action(phone_id=phone_id(world), occurred_at=WHEN - timedelta(hours=2)))
    log(session, world, action(phone_id=phone_id(world), outcome="promise_to_pay", promise_amount="5",
                               promise_due_on="2024-03-06"))
    actions = service.list_actions(session=session, case_id=world.case.id)
    assert [a.occurred_at for a in actions] == sorted(a.occurred_at for a in actions)
    assert len(service.list_promises(session=session, case_id=world.case.id)) == 1
    with pytest.raises(NotFound):
        service.list_actions(session=session, case_id=world.case.id, agency_id=make_agency(session).id)
    masked = service.masked_numbers(session=session, case=world.case)
    assert masked[actions[0].phone_bidx].count("*") == 4


def test_case_of_another_contract_uses_that_contracts_channels(session, world):
    strict = make_contract(session, agency=world.agency, channels=["letter"])
    case = make_case(session, contract=strict)
    with pytest.raises(RuleViolation, match="does not permit channel sms"):
        service.log_action(session=session, case_id=case.id, actor="x", at=AT,
                           data=action(channel="sms", outcome="sms_sent", phone_id=1))
