"""CN pack, rule by rule: scenario tables with the allowed and the denied edge of each rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from weiwai.compliance.decision import ContactFacts, HoldFact, PastContact, PreferenceFact
from weiwai.compliance.evaluator import evaluate
from weiwai.compliance.pack_schema import load_pack

SH = ZoneInfo("Asia/Shanghai")
PACK = load_pack("CN")


def local(y, mo, d, h, mi, tz=SH) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz).astimezone(UTC)


NOON = local(2024, 5, 1, 12, 0)


def facts(**kw) -> ContactFacts:
    base = dict(at=NOON, channel="phone", party="debtor", time_zones=("Asia/Shanghai",), phone_bidx="n1",
                line_ref="line-1", account_id=1, agency_id=10)
    base.update(kw)
    return ContactFacts(**base)


def past(at, outcome="no_answer", *, channel="phone", party="debtor", phone="n1", agency=10, contact_id=None,
         reserved=False, account_id=1) -> PastContact:
    return PastContact(at=at, channel=channel, party=party, phone_bidx=phone, contact_id=contact_id,
                       outcome=outcome, agency_id=agency, account_id=account_id, reserved=reserved)


def ids(decision) -> set[str]:
    return {d.rule_id for d in decision.denials}


def test_plain_call_at_noon_is_allowed():
    decision = evaluate(facts(), PACK)
    assert decision.allowed and decision.pack == "CN@1" and decision.denials == ()


@pytest.mark.parametrize(("h", "m", "allowed"), [
    (7, 59, False), (8, 0, True), (12, 0, True), (21, 59, True), (22, 0, False), (23, 59, False), (0, 0, False),
    (3, 0, False),
])
def test_cn01_quiet_hours_edges(h, m, allowed):
    decision = evaluate(facts(at=local(2024, 5, 1, h, m)), PACK)
    assert decision.allowed is allowed
    if not allowed:
        assert ids(decision) == {"CN-01"}
        assert "22:00–08:00" in decision.denials[0].reason_zh and "quiet time" in decision.denials[0].reason_en


def test_cn01_earliest_crosses_midnight_to_next_morning():
    decision = evaluate(facts(at=local(2024, 5, 1, 22, 30)), PACK)
    assert decision.earliest_allowed_at == local(2024, 5, 2, 8, 0)
    assert decision.denials[0].earliest == local(2024, 5, 2, 8, 0)
    early = evaluate(facts(at=local(2024, 5, 2, 6, 0)), PACK)
    assert early.earliest_allowed_at == local(2024, 5, 2, 8, 0)


def test_cn01_uses_the_debtors_zone_urumqi_not_shanghai():
    at = local(2024, 5, 1, 23, 30)  # 21:30 in Urumqi (UTC+6)
    assert not evaluate(facts(at=at), PACK).allowed
    decision = evaluate(facts(at=at, time_zones=("Asia/Urumqi",)), PACK)
    assert decision.allowed
    late = evaluate(facts(at=local(2024, 5, 1, 22, 0, ZoneInfo("Asia/Urumqi")), time_zones=("Asia/Urumqi",)), PACK)
    assert not late.allowed and late.earliest_allowed_at == local(2024, 5, 2, 8, 0, ZoneInfo("Asia/Urumqi"))


@pytest.mark.parametrize("channel", ["letter", "email"])
def test_cn01_letters_and_email_are_not_held_to_hours(channel):
    assert evaluate(facts(at=local(2024, 5, 1, 23, 0), channel=channel, line_ref=None), PACK).allowed


@pytest.mark.parametrize(("pref", "allowed"), [
    (PreferenceFact("agreed_window", {"start": "21:00", "end": "23:00"}, evidenced=True), True),
    (PreferenceFact("agreed_window", {"start": "21:00", "end": "23:00"}, evidenced=False), False),
    (PreferenceFact("agreed_window", {"start": "21:00", "end": "22:15"}, evidenced=True), False),
    (PreferenceFact("agreed_window", {"start": "21:00", "end": "23:00"}, evidenced=True,
                    valid_until=date(2024, 4, 30)), False),
    (PreferenceFact("agreed_window", {"start": "21:00", "end": "23:00"}, evidenced=True,
                    valid_until=date(2024, 5, 1)), True),
    (PreferenceFact("agreed_window", {"start": "bad"}, evidenced=True), False),
])
def test_cn01_agreed_window_lifts_quiet_hours_only_when_evidenced_valid_and_covering(pref, allowed):
    assert evaluate(facts(at=local(2024, 5, 1, 22, 30), preferences=(pref,)), PACK).allowed is allowed


def test_cn01_debtors_agreed_window_does_not_cover_a_contact_person():
    pref = PreferenceFact("agreed_window", {"start": "21:00", "end": "23:00"}, evidenced=True)
    history = tuple(past(NOON - timedelta(hours=i + 1)) for i in range(3))
    decision = evaluate(facts(at=local(2024, 5, 1, 22, 30), party="contact", contact_id=5, phone_bidx="c5",
                              preferences=(pref,), history=history), PACK)
    assert ids(decision) == {"CN-01"}


CONVERSATION = "right_party_contact"


@pytest.mark.parametrize(("n", "allowed"), [(0, True), (2, True), (3, False)])
def test_cn02_fourth_conversation_of_the_local_day_is_denied_across_agencies(n, allowed):
    history = tuple(past(local(2024, 5, 1, 9, i), CONVERSATION, agency=10 + i % 2, phone=f"x{i}") for i in range(n))
    decision = evaluate(facts(history=history), PACK)
    assert decision.allowed is allowed
    if not allowed:
        assert ids(decision) == {"CN-02"}
        assert decision.earliest_allowed_at == local(2024, 5, 2, 8, 0)  # midnight, then quiet until 08:00
        assert decision.denials[0].earliest == local(2024, 5, 2, 0, 0)
        assert "3" in decision.denials[0].reason_en and "3" in decision.denials[0].reason_zh


def test_cn02_counts_the_debtors_local_day_not_the_utc_day():
    # 23:30 the day before (local) is another day; 00:30 today counts.
    history = (past(local(2024, 4, 30, 23, 30), CONVERSATION), past(local(2024, 5, 1, 0, 30), CONVERSATION),
               past(local(2024, 5, 1, 9, 0), "promise_to_pay", agency=11))
    assert evaluate(facts(history=history), PACK).allowed
    history += (past(local(2024, 5, 1, 10, 0), "callback_requested", agency=12),)
    assert ids(evaluate(facts(history=history), PACK)) == {"CN-02"}


def test_cn02_reservations_on_call_channels_count_as_potential_conversations():
    history = (past(local(2024, 5, 1, 9, 0), CONVERSATION), past(local(2024, 5, 1, 9, 5), CONVERSATION, agency=11),
               past(local(2024, 5, 1, 11, 0), None, reserved=True, agency=12, phone="other"))
    assert ids(evaluate(facts(history=history), PACK)) == {"CN-02"}
    letter = history[:2] + (past(local(2024, 5, 1, 11, 0), None, reserved=True, channel="letter"),)
    assert evaluate(facts(history=letter), PACK).allowed


def test_cn02_failed_attempts_are_not_conversations():
    history = tuple(past(local(2024, 5, 1, 9, i), "no_answer", phone=f"x{i}") for i in range(5))
    assert evaluate(facts(history=history), PACK).allowed


@pytest.mark.parametrize(("n", "allowed"), [(5, True), (6, False)])
def test_cn03_seventh_attempt_to_a_number_is_denied_sixth_allowed(n, allowed):
    history = tuple(past(local(2024, 5, 1, 8, 10 * i), "busy", agency=10 + i % 2) for i in range(n))
    decision = evaluate(facts(history=history), PACK)
    assert decision.allowed is allowed
    if not allowed:
        assert ids(decision) == {"CN-03"}
        assert decision.earliest_allowed_at == local(2024, 5, 2, 8, 0)


def test_cn03_counts_per_number_and_reservations_count():
    history = tuple(past(local(2024, 5, 1, 8, 10 * i), "no_answer") for i in range(5))
    other = history + (past(local(2024, 5, 1, 11, 0), "no_answer", phone="n2"),)
    assert evaluate(facts(history=other), PACK).allowed
    reserved = history + (past(local(2024, 5, 1, 11, 0), None, reserved=True, agency=11),)
    assert ids(evaluate(facts(history=reserved), PACK)) == {"CN-03"}


def test_cn03_a_call_without_the_number_is_denied():
    assert "CN-03" in ids(evaluate(facts(phone_bidx=None), PACK))


FAILED = ("no_answer", "powered_off", "invalid_number")


@pytest.mark.parametrize(("failed", "allowed"), [(0, False), (2, False), (3, True)])
def test_cn04_contact_person_only_after_failed_attempts_to_the_debtor(failed, allowed):
    history = tuple(past(NOON - timedelta(days=1, hours=i), FAILED[i % 3], agency=10 + i % 2) for i in range(failed))
    decision = evaluate(facts(party="contact", contact_id=5, phone_bidx="c5", history=history), PACK)
    assert decision.allowed is allowed
    if not allowed:
        assert ids(decision) == {"CN-04"} and decision.earliest_allowed_at is None


def test_cn04_failed_attempts_outside_the_lookback_or_to_others_do_not_count():
    old = tuple(past(NOON - timedelta(days=8, hours=i), "no_answer") for i in range(3))
    to_contact = tuple(past(NOON - timedelta(hours=i + 1), "no_answer", party="contact", contact_id=5)
                       for i in range(3))
    answered = tuple(past(NOON - timedelta(days=1, hours=i + 1), "right_party_contact") for i in range(3))
    for history in (old, to_contact, answered):
        decision = evaluate(facts(party="third_party", phone_bidx="t1", history=history), PACK)
        assert ids(decision) == {"CN-04"}


@pytest.mark.parametrize("pref", [
    PreferenceFact("do_not_contact", {}, contact_id=5),
    PreferenceFact("do_not_contact", {}, phone_bidx="c5"),
    PreferenceFact("do_not_contact", {}),
])
def test_cn04_a_contact_who_refused_is_never_contacted_again(pref):
    history = tuple(past(NOON - timedelta(hours=i + 1), "no_answer") for i in range(5))
    decision = evaluate(facts(party="contact", contact_id=5, phone_bidx="c5", history=history, preferences=(pref,)),
                        PACK)
    assert ids(decision) == {"CN-04"} and decision.earliest_allowed_at is None
    assert "never" in decision.denials[0].reason_en


def test_cn04_another_contacts_refusal_does_not_block():
    history = tuple(past(NOON - timedelta(hours=i + 1), "no_answer") for i in range(5))
    pref = PreferenceFact("do_not_contact", {}, contact_id=6)
    assert evaluate(facts(party="contact", contact_id=5, phone_bidx="c5", history=history, preferences=(pref,)),
                    PACK).allowed


@pytest.mark.parametrize(("credential", "recording", "denied"), [
    ("badge-1", "rec-1", set()), (None, "rec-1", {"CN-05"}), ("badge-1", None, {"CN-08"}), (None, None, {"CN-05", "CN-08"}),
])
def test_cn05_cn08_visits_need_credential_and_recording(credential, recording, denied):
    decision = evaluate(facts(channel="visit", line_ref=None, phone_bidx=None, credential_ref=credential,
                              recording_ref=recording), PACK)
    assert ids(decision) == denied


@pytest.mark.parametrize(("channel", "line", "denied"), [
    ("phone", "line-1", set()), ("phone", None, {"CN-13"}), ("ivr", None, {"CN-13"}), ("sms", None, set()),
])
def test_cn13_calls_need_a_recorded_line(channel, line, denied):
    assert ids(evaluate(facts(channel=channel, line_ref=line), PACK)) == denied


@pytest.mark.parametrize(("code", "approved", "denied"), [
    (None, None, set()), ("T1", True, set()), ("T1", False, {"CN-06"}), ("T1", None, {"CN-06"}),
])
def test_cn06_only_approved_templates(code, approved, denied):
    decision = evaluate(facts(channel="sms", template_code=code, template_approved=approved), PACK)
    assert ids(decision) == denied


@pytest.mark.parametrize(("kind", "channels", "channel", "denied"), [
    ("deceased", frozenset(), "letter", True),
    ("bankrupt", frozenset({"sms"}), "phone", True),  # block: all, whatever the hold lists
    ("cease_contact", frozenset(), "email", True),
    ("litigation", frozenset(), "phone", True),
    ("attorney", frozenset(), "sms", True),
    ("dispute", frozenset(), "letter", True),
    ("complaint", frozenset(), "phone", True),
    ("channel_opt_out", frozenset({"sms"}), "sms", True),
    ("channel_opt_out", frozenset({"sms"}), "phone", False),
    ("hardship", frozenset(), "visit", True),
    ("hardship", frozenset(), "phone", False),
    ("hardship", frozenset({"phone"}), "phone", True),
    ("vulnerable", frozenset(), "ivr", True),
    ("vulnerable", frozenset(), "letter", False),
])
def test_holds_block_their_channels(kind, channels, channel, denied):
    decision = evaluate(facts(channel=channel, holds=(HoldFact(kind, channels),), credential_ref="b",
                              recording_ref="r"), PACK)
    assert (f"HOLD-{kind}" in ids(decision)) is denied
    if denied:
        assert decision.earliest_allowed_at is None


def test_a_hold_on_another_account_does_not_block():
    hold = HoldFact("dispute", frozenset(), account_id=2)
    assert evaluate(facts(holds=(hold,)), PACK).allowed
    assert not evaluate(facts(holds=(hold,), account_id=2), PACK).allowed
    assert not evaluate(facts(holds=(hold,), account_id=None), PACK).allowed


def test_contract_channels():
    assert ids(evaluate(facts(contract_channels=frozenset({"sms"})), PACK)) == {"CONTRACT-CHANNELS"}
    assert evaluate(facts(contract_channels=frozenset({"phone"})), PACK).allowed


def test_every_denial_is_reported_with_both_languages():
    decision = evaluate(facts(at=local(2024, 5, 1, 23, 0), line_ref=None, contract_channels=frozenset(),
                              holds=(HoldFact("dispute", frozenset()),)), PACK)
    assert decision.rule_ids == ("CONTRACT-CHANNELS", "HOLD-dispute", "CN-01", "CN-13")
    assert decision.earliest_allowed_at is None  # a hold cannot be waited out
    assert all(d.reason_zh and d.reason_en and d.reason_zh != d.reason_en for d in decision.denials)


def test_naive_time_is_refused():
    with pytest.raises(ValueError):
        evaluate(facts(at=datetime(2024, 5, 1, 12, 0)), PACK)
