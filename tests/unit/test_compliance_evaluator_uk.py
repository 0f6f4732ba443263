"""UK pack (FCA CONC 7): configurable hours, preferences as hard blocks, caps, forbearance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from weiwai.compliance.decision import ContactFacts, HoldFact, PastContact, PreferenceFact
from weiwai.compliance.evaluator import evaluate
from weiwai.compliance.pack_schema import load_pack, tighten

LONDON = ZoneInfo("Europe/London")
PACK = load_pack("UK")


def local(y, mo, d, h, mi) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LONDON).astimezone(UTC)


NOON = local(2024, 6, 12, 12, 0)


def facts(**kw) -> ContactFacts:
    base = dict(at=NOON, channel="phone", party="debtor", time_zones=("Europe/London",), phone_bidx="n1",
                account_id=1)
    base.update(kw)
    return ContactFacts(**base)


def ids(decision) -> set[str]:
    return {d.rule_id for d in decision.denials}


@pytest.mark.parametrize(("h", "m", "allowed"), [(7, 59, False), (8, 0, True), (20, 59, True), (21, 0, False)])
def test_uk01_default_hours(h, m, allowed):
    assert evaluate(facts(at=local(2024, 6, 12, h, m)), PACK).allowed is allowed


def test_uk01_hours_are_configurable_by_tightening():
    stricter = tighten(PACK, {"UK-01": {"quiet_start": "20:00", "quiet_end": "09:00"}})
    assert not evaluate(facts(at=local(2024, 6, 12, 20, 30)), stricter).allowed
    assert not evaluate(facts(at=local(2024, 6, 12, 8, 30)), stricter).allowed
    assert evaluate(facts(at=local(2024, 6, 12, 20, 30)), PACK).allowed


def test_uk01_preferences_are_hard_blocks():
    inconvenient = PreferenceFact("inconvenient_time", {"start": "11:00", "end": "14:00"})
    assert ids(evaluate(facts(preferences=(inconvenient,)), PACK)) == {"UK-01"}
    only_letters = PreferenceFact("preferred_channel_only", {"channels": ["letter"]})
    decision = evaluate(facts(preferences=(only_letters,)), PACK)
    assert ids(decision) == {"UK-01"} and decision.earliest_allowed_at is None
    assert evaluate(facts(channel="letter", preferences=(only_letters,)), PACK).allowed


def contact(at, outcome="no_answer", channel="phone", agency=10):
    return PastContact(at=at, channel=channel, party="debtor", phone_bidx="n1", contact_id=None, outcome=outcome,
                       agency_id=agency)


@pytest.mark.parametrize(("n", "allowed"), [(2, True), (3, False)])
def test_uk02_daily_cap(n, allowed):
    history = tuple(contact(local(2024, 6, 12, 9, i), agency=10 + i % 2) for i in range(n))
    assert evaluate(facts(history=history), PACK).allowed is allowed


@pytest.mark.parametrize(("n", "allowed"), [(9, True), (10, False)])
def test_uk02_weekly_cap(n, allowed):
    history = tuple(contact(NOON - timedelta(days=1 + i % 6, minutes=i), channel="sms", outcome="sms_sent")
                    for i in range(n))
    decision = evaluate(facts(history=history), PACK)
    assert decision.allowed is allowed
    if not allowed:
        assert ids(decision) == {"UK-02"}


def test_uk04_hardship_routes_to_forbearance():
    decision = evaluate(facts(holds=(HoldFact("hardship", frozenset()),)), PACK)
    assert ids(decision) == {"UK-04"}
    assert "forbearance" in decision.denials[0].reason_en and "宽限" in decision.denials[0].reason_zh
    assert decision.earliest_allowed_at is None


def test_uk05_vulnerable_hold():
    assert ids(evaluate(facts(channel="letter", holds=(HoldFact("vulnerable", frozenset()),)), PACK)) == {"UK-05"}
