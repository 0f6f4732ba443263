"""US pack (Regulation F): hours in every candidate zone with DST, the 7-in-7 rule, holds, templates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from weiwai.compliance.decision import ContactFacts, HoldFact, PastContact, PreferenceFact
from weiwai.compliance.evaluator import evaluate
from weiwai.compliance.pack_schema import load_pack

NY, LA = ZoneInfo("America/New_York"), ZoneInfo("America/Los_Angeles")
PACK = load_pack("US")


def local(y, mo, d, h, mi, tz=NY) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz).astimezone(UTC)


NOON = local(2024, 5, 15, 12, 0)


def facts(**kw) -> ContactFacts:
    base = dict(at=NOON, channel="phone", party="debtor", time_zones=("America/New_York",), phone_bidx="n1",
                account_id=1, agency_id=10)
    base.update(kw)
    return ContactFacts(**base)


def call(at, outcome="no_answer", *, agency=10, account_id=1, party="debtor", contact_id=None, channel="phone",
         reserved=False) -> PastContact:
    return PastContact(at=at, channel=channel, party=party, phone_bidx="n1", contact_id=contact_id, outcome=outcome,
                       agency_id=agency, account_id=account_id, reserved=reserved)


def ids(decision) -> set[str]:
    return {d.rule_id for d in decision.denials}


@pytest.mark.parametrize(("h", "m", "allowed"), [
    (7, 59, False), (8, 0, True), (20, 59, True), (21, 0, False), (23, 30, False),
])
def test_us01_hours_edges(h, m, allowed):
    decision = evaluate(facts(at=local(2024, 5, 15, h, m)), PACK)
    assert decision.allowed is allowed
    if not allowed:
        assert ids(decision) == {"US-01"}


@pytest.mark.parametrize(("at", "allowed", "earliest"), [
    (local(2024, 5, 15, 10, 59), False, local(2024, 5, 15, 8, 0, LA)),  # 07:59 in Los Angeles
    (local(2024, 5, 15, 11, 0), True, None),  # 08:00 in Los Angeles
    (local(2024, 5, 15, 20, 59), True, None),
    (local(2024, 5, 15, 21, 0), False, local(2024, 5, 16, 8, 0, LA)),  # quiet in New York until LA wakes
])
def test_us01_ambiguous_zone_must_be_allowed_in_every_candidate(at, allowed, earliest):
    decision = evaluate(facts(at=at, time_zones=("America/New_York", "America/Los_Angeles")), PACK)
    assert decision.allowed is allowed
    assert decision.earliest_allowed_at == earliest


@pytest.mark.parametrize(("at", "allowed"), [
    # 2024-03-10: clocks spring forward at 02:00 local; 08:00 EDT is 12:00 UTC (13:00 the day before).
    (datetime(2024, 3, 10, 11, 59, tzinfo=UTC), False),
    (datetime(2024, 3, 10, 12, 0, tzinfo=UTC), True),
    (datetime(2024, 3, 9, 12, 30, tzinfo=UTC), False),  # 07:30 EST
    # 2024-11-03: clocks fall back at 02:00 local; 08:00 EST is 13:00 UTC.
    (datetime(2024, 11, 3, 12, 30, tzinfo=UTC), False),
    (datetime(2024, 11, 3, 13, 0, tzinfo=UTC), True),
    (datetime(2024, 11, 4, 1, 59, tzinfo=UTC), True),  # 20:59 EST
    (datetime(2024, 11, 4, 2, 0, tzinfo=UTC), False),  # 21:00 EST
])
def test_us01_dst_days_in_new_york(at, allowed):
    assert evaluate(facts(at=at), PACK).allowed is allowed


def test_us01_earliest_on_dst_days():
    spring = evaluate(facts(at=datetime(2024, 3, 10, 6, 30, tzinfo=UTC)), PACK)  # 01:30 EST, before the jump
    assert spring.earliest_allowed_at == datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
    autumn = evaluate(facts(at=datetime(2024, 11, 3, 5, 30, tzinfo=UTC)), PACK)  # 01:30 EDT, first pass
    assert autumn.earliest_allowed_at == datetime(2024, 11, 3, 13, 0, tzinfo=UTC)
    both = evaluate(facts(at=datetime(2024, 3, 10, 12, 0, tzinfo=UTC),
                          time_zones=("America/New_York", "America/Los_Angeles")), PACK)
    assert both.earliest_allowed_at == datetime(2024, 3, 10, 15, 0, tzinfo=UTC)  # 08:00 PDT


def test_us01_inconvenient_time_is_a_block_with_its_end_as_earliest():
    pref = PreferenceFact("inconvenient_time", {"start": "09:00", "end": "17:00"})
    decision = evaluate(facts(preferences=(pref,)), PACK)
    assert ids(decision) == {"US-01"} and "09:00–17:00" in decision.denials[0].reason_en
    assert decision.earliest_allowed_at == local(2024, 5, 15, 17, 0)
    weekdays = PreferenceFact("inconvenient_time", {"start": "09:00", "end": "17:00", "weekdays": [6, 7]})
    assert evaluate(facts(preferences=(weekdays,)), PACK).allowed  # 2024-05-15 is a Wednesday


def test_us01_inconvenient_evening_then_quiet_hours_push_to_the_morning():
    pref = PreferenceFact("inconvenient_time", {"start": "18:00", "end": "21:30"})
    decision = evaluate(facts(at=local(2024, 5, 15, 19, 0), preferences=(pref,)), PACK)
    assert decision.earliest_allowed_at == local(2024, 5, 16, 8, 0)


@pytest.mark.parametrize(("n", "allowed"), [(6, True), (7, False)])
def test_us02_eighth_call_in_seven_days_is_denied_seventh_allowed(n, allowed):
    history = tuple(call(NOON - timedelta(days=6, hours=-i), agency=10 + i % 2) for i in range(n))
    decision = evaluate(facts(history=history), PACK)
    assert decision.allowed is allowed
    if not allowed:
        assert ids(decision) == {"US-02"}
        # the window frees when the oldest call is 7 days old
        assert decision.earliest_allowed_at == history[0].at + timedelta(days=7)


def test_us02_busy_and_not_in_service_do_not_count_voicemail_does():
    history = tuple(call(NOON - timedelta(hours=i + 1), "busy") for i in range(6))
    history += tuple(call(NOON - timedelta(days=1, hours=i), "invalid_number") for i in range(6))
    assert evaluate(facts(history=history), PACK).allowed
    voicemail = tuple(call(NOON - timedelta(hours=i + 1), "left_message") for i in range(7))
    assert ids(evaluate(facts(history=voicemail), PACK)) == {"US-02"}


def test_us02_calls_older_than_seven_days_drop_out():
    history = tuple(call(NOON - timedelta(days=7, minutes=i), "no_answer") for i in range(7))
    assert evaluate(facts(history=history), PACK).allowed


def test_us02_per_debt_and_per_person():
    history = tuple(call(NOON - timedelta(hours=i + 1), account_id=2) for i in range(7))
    assert evaluate(facts(history=history), PACK).allowed
    assert not evaluate(facts(history=history, account_id=2), PACK).allowed
    contact = tuple(call(NOON - timedelta(hours=i + 1), party="contact", contact_id=5) for i in range(7))
    assert evaluate(facts(history=contact), PACK).allowed
    assert "US-02" in ids(evaluate(facts(history=contact, party="contact", contact_id=5), PACK))


def test_us02_reservations_count_as_calls():
    history = tuple(call(NOON - timedelta(hours=i + 1)) for i in range(6)) + (call(NOON, None, reserved=True),)
    assert ids(evaluate(facts(history=history), PACK)) == {"US-02"}


def test_us02_no_call_within_seven_days_after_a_conversation():
    talk = call(NOON - timedelta(days=3), "promise_to_pay", agency=11)
    decision = evaluate(facts(history=(talk,)), PACK)
    assert ids(decision) == {"US-02"}
    assert decision.earliest_allowed_at == talk.at + timedelta(days=7)
    assert evaluate(facts(history=(talk,), at=talk.at + timedelta(days=7)), PACK).allowed
    assert evaluate(facts(history=(talk,), channel="letter"), PACK).allowed


@pytest.mark.parametrize(("kind", "channel", "rule"), [
    ("attorney", "letter", "US-04"), ("cease_contact", "email", "US-04"), ("workplace", "phone", "US-04"),
    ("dispute", "letter", "US-06"),
])
def test_us04_holds(kind, channel, rule):
    decision = evaluate(facts(channel=channel, template_code="T", template_approved=True,
                              holds=(HoldFact(kind, frozenset()),)), PACK)
    assert ids(decision) == {rule}


def test_us04_workplace_hold_does_not_block_letters():
    assert evaluate(facts(channel="letter", holds=(HoldFact("workplace", frozenset()),)), PACK).allowed


@pytest.mark.parametrize(("channel", "code", "approved", "allowed"), [
    ("sms", "T1", True, True), ("sms", "T1", False, False), ("sms", None, None, False), ("email", None, None, False),
    ("letter", None, None, True), ("phone", None, None, True),
])
def test_us05_texts_and_emails_need_an_approved_template(channel, code, approved, allowed):
    decision = evaluate(facts(channel=channel, template_code=code, template_approved=approved), PACK)
    assert decision.allowed is allowed
    if not allowed:
        assert ids(decision) == {"US-05"}


def test_us05_channel_opt_out():
    hold = HoldFact("channel_opt_out", frozenset({"email"}))
    assert ids(evaluate(facts(channel="email", template_code="T", template_approved=True, holds=(hold,)), PACK)) == {
        "US-05"}
