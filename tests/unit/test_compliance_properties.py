"""Property tests of the evaluator: more history never allows more, earliest times are honest,
tightening never allows more than the base pack."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weiwai.compliance.decision import ContactFacts, HoldFact, PastContact, PreferenceFact
from weiwai.compliance.evaluator import evaluate
from weiwai.compliance.pack_schema import load_pack, tighten

ZONES = ["Asia/Shanghai", "Asia/Urumqi", "America/New_York", "America/Los_Angeles", "America/Chicago",
         "Europe/London", "Australia/Lord_Howe"]
CHANNELS = ["phone", "sms", "visit", "letter", "email", "ivr"]
OUTCOMES = ["no_answer", "busy", "invalid_number", "powered_off", "left_message", "right_party_contact",
            "wrong_party", "third_party_contact", "promise_to_pay", "refused_to_pay", "callback_requested",
            "sms_sent", "visit_done", None]
TIME_RULES = {"CN-01", "US-01", "UK-01"}
START = datetime(2024, 1, 1, tzinfo=UTC)

moments = st.integers(min_value=0, max_value=366 * 24 * 60).map(lambda m: START + timedelta(minutes=m))


@st.composite
def past_contacts(draw, around: datetime):
    return PastContact(
        at=around - timedelta(minutes=draw(st.integers(min_value=-60, max_value=8 * 24 * 60))),
        channel=draw(st.sampled_from(CHANNELS)), party=draw(st.sampled_from(["debtor", "debtor", "contact"])),
        phone_bidx=draw(st.sampled_from(["n1", "n2", None])), contact_id=draw(st.sampled_from([None, 5])),
        outcome=draw(st.sampled_from(OUTCOMES)), agency_id=draw(st.sampled_from([10, 11, None])),
        account_id=draw(st.sampled_from([1, 2, None])), reserved=draw(st.booleans()))


@st.composite
def contact_facts(draw):
    at = draw(moments)
    party = draw(st.sampled_from(["debtor", "debtor", "contact", "third_party"]))
    prefs = draw(st.lists(st.sampled_from([
        PreferenceFact("inconvenient_time", {"start": "12:00", "end": "14:00"}),
        PreferenceFact("inconvenient_time", {"start": "19:30", "end": "23:00"}),
        PreferenceFact("agreed_window", {"start": "21:00", "end": "23:00"}, evidenced=True),
        PreferenceFact("preferred_channel_only", {"channels": ["phone", "letter"]}),
        PreferenceFact("do_not_contact", {}, contact_id=5),
    ]), max_size=2))
    holds = draw(st.lists(st.sampled_from([
        HoldFact("hardship", frozenset()), HoldFact("channel_opt_out", frozenset({"sms"})),
        HoldFact("workplace", frozenset()), HoldFact("vulnerable", frozenset()),
    ]), max_size=1))
    return ContactFacts(
        at=at, channel=draw(st.sampled_from(CHANNELS)), party=party,
        time_zones=tuple(draw(st.lists(st.sampled_from(ZONES), min_size=1, max_size=2, unique=True))),
        phone_bidx=draw(st.sampled_from(["n1", "n2"])), contact_id=5 if party == "contact" else None,
        account_id=draw(st.sampled_from([1, 2, None])), agency_id=10,
        history=tuple(draw(st.lists(past_contacts(at), max_size=25))), holds=tuple(holds), preferences=tuple(prefs),
        contract_channels=draw(st.sampled_from([None, frozenset(CHANNELS)])),
        credential_ref="badge", recording_ref="rec", line_ref=draw(st.sampled_from(["line", "line", None])),
        template_code=draw(st.sampled_from([None, "T1"])), template_approved=draw(st.sampled_from([None, True])),
    )


PACKS = st.sampled_from(["CN", "US", "UK"]).map(load_pack)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _not_unreachability_evidence(entry: PastContact) -> bool:
    # Failed attempts to the debtor are what CN-04 needs before a contact person may be called: more of
    # them rightly turns that denial into an allowance, so the monotony property excludes them.
    return not (entry.party == "debtor" and entry.outcome in {"no_answer", "busy", "invalid_number", "powered_off"})


@SETTINGS
@given(facts=contact_facts(), pack=PACKS, data=st.data())
def test_more_history_never_turns_a_denial_into_an_allowance(facts, pack, data):
    before = evaluate(facts, pack)
    extra = data.draw(st.lists(past_contacts(facts.at).filter(_not_unreachability_evidence), min_size=1, max_size=10))
    after = evaluate(replace(facts, history=facts.history + tuple(extra)), pack)
    if not before.allowed:
        assert not after.allowed
        assert set(before.rule_ids) <= set(after.rule_ids)


@SETTINGS
@given(facts=contact_facts(), pack=PACKS)
def test_at_the_earliest_allowed_time_no_time_rule_denies(facts, pack):
    decision = evaluate(facts, pack)
    if decision.allowed or decision.earliest_allowed_at is None:
        return
    assert decision.earliest_allowed_at > facts.at
    later = evaluate(replace(facts, at=decision.earliest_allowed_at), pack)
    assert not TIME_RULES & set(later.rule_ids), (decision, later)
    if {d.rule_id for d in decision.denials} <= TIME_RULES | {"CN-02", "CN-03", "US-02", "UK-02"}:
        # Waiting lifts everything, unless history in the future of `at` (reservations) counts then.
        if all(e.at <= facts.at for e in facts.history):
            assert later.allowed, (decision, later)


@SETTINGS
@given(facts=contact_facts(), pack=st.sampled_from(["CN", "US", "UK"]), data=st.data())
def test_tightening_never_allows_more_than_the_base_pack(facts, pack, data):
    base = load_pack(pack)
    hours_id, caps_id = {"CN": ("CN-01", "CN-02"), "US": ("US-01", "US-02"), "UK": ("UK-01", "UK-02")}[pack]
    hours = base.rule(hours_id).params
    overrides = {}
    if data.draw(st.booleans()):
        start = hours.quiet_start
        overrides[hours_id] = {"quiet_start": data.draw(st.sampled_from([start, "20:00", "19:00"])),
                               "quiet_end": data.draw(st.sampled_from([hours.quiet_end, "09:00", "10:30"]))}
    caps = base.rule(caps_id).params
    cap_field = "max_per_local_day" if caps.max_per_local_day else "max_per_rolling_window"
    if data.draw(st.booleans()):
        overrides[caps_id] = {cap_field: data.draw(st.integers(min_value=1, max_value=getattr(caps, cap_field)))}
    stricter = tighten(base, overrides)
    if not evaluate(facts, base).allowed:
        assert not evaluate(facts, stricter).allowed
