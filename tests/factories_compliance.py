"""Helpers for the contact-compliance tests: the evaluator to use, and actions made fast.

`judge` (autouse when imported) uses the real evaluator (weiwai.compliance.evaluator with
the packs of weiwai.compliance.pack_schema) when it is there, and otherwise a small
stand-in of three CN rules and holds, for these tests only (never shipped).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from weiwai.compliance.decision import ContactFacts, Decision, Denial

CONVERSATIONS = {"right_party_contact", "promise_to_pay", "refused_to_pay", "dispute_raised", "hardship_claimed",
                 "claims_paid", "callback_requested"}
ATTEMPT_CHANNELS = {"phone", "ivr"}


def real_evaluator_available() -> bool:
    try:
        from weiwai.compliance import facts

        facts._pack.cache_clear()
        facts.pack_for({})
        from weiwai.compliance.evaluator import evaluate  # noqa: F401
    except Exception:
        return False
    return True


def stand_in(facts: ContactFacts, _terms) -> Decision:
    """CN-01 (22:00-08:00), CN-02 (3 conversations a local day), CN-03 (6 calls a number a day), holds."""
    tz = ZoneInfo(facts.time_zones[0])
    local = facts.at.astimezone(tz)
    denials = []
    if local.hour >= 22 or local.hour < 8:
        nxt = local.replace(hour=8, minute=0, second=0, microsecond=0)
        if local.hour >= 22:
            nxt += timedelta(days=1)
        denials.append(Denial("CN-01", "静默时段", "quiet hours", nxt.astimezone(UTC)))
    day = local.date()
    same_day = [c for c in facts.history if c.at.astimezone(tz).date() == day]
    conversations = [c for c in same_day if c.party == "debtor" and (c.reserved or c.outcome in CONVERSATIONS)]
    if len(conversations) >= 3:
        nxt = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz).replace(hour=8)
        denials.append(Denial("CN-02", "当日通话已满", "three conversations today", nxt.astimezone(UTC)))
    if facts.phone_bidx and facts.channel in ATTEMPT_CHANNELS:
        calls = [c for c in same_day if c.phone_bidx == facts.phone_bidx and c.channel in ATTEMPT_CHANNELS]
        if len(calls) >= 6:
            denials.append(Denial("CN-03", "号码当日拨打已满", "six calls to this number today"))
    for hold in facts.holds:
        if not hold.channels or facts.channel in hold.channels:
            denials.append(Denial("CN-HOLD", f"暂停联系：{hold.kind}", f"contact on hold: {hold.kind}"))
    earliest = None
    if denials and all(d.earliest for d in denials):
        earliest = max(d.earliest for d in denials)
    return Decision(allowed=not denials, pack="CN@test", denials=tuple(denials), earliest_allowed_at=earliest,
                    rule_ids=tuple(d.rule_id for d in denials))


@pytest.fixture(autouse=True)
def judge(monkeypatch):
    """The evaluator of these tests: the real one if present, else the stand-in."""
    if real_evaluator_available():
        yield "real"
        return
    from weiwai.compliance import facts

    monkeypatch.setattr(facts, "evaluate", stand_in)
    yield "stand-in"
