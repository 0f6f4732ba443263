"""Contact checks per second of the pure evaluator (weiwai.compliance.evaluator), one core.

For each pack (CN, US, UK), history sizes 0, 20 and 100 past contacts spread over 8 days
(several agencies, a few reservations), with 2 holds/preferences that do not block, an
allowed case (midday, under every cap) and a denied case (quiet hours and a hold).

    .venv/bin/python bench/bench_compliance.py [--seconds 1.0]

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from weiwai.compliance.decision import ContactFacts, HoldFact, PastContact, PreferenceFact
from weiwai.compliance.evaluator import evaluate
from weiwai.compliance.pack_schema import load_pack

ZONES = {"CN": ("Asia/Shanghai",), "US": ("America/New_York", "America/Chicago"), "UK": ("Europe/London",)}
NOON_UTC = {"CN": datetime(2024, 5, 15, 4, 0, tzinfo=UTC), "US": datetime(2024, 5, 15, 17, 0, tzinfo=UTC),
            "UK": datetime(2024, 5, 15, 11, 0, tzinfo=UTC)}
NIGHT_UTC = {"CN": datetime(2024, 5, 15, 15, 0, tzinfo=UTC), "US": datetime(2024, 5, 15, 3, 0, tzinfo=UTC),
             "UK": datetime(2024, 5, 15, 22, 30, tzinfo=UTC)}
OUTCOMES = ["no_answer", "busy", "powered_off", "left_message", "invalid_number", "sms_sent", "letter_sent"]


def history(n: int, now: datetime, rng: random.Random) -> tuple[PastContact, ...]:
    """n contacts over the 8 days before `now`, none today: the allowed case stays under every cap."""
    rows = []
    for i in range(n):
        at = now - timedelta(days=1, minutes=rng.randrange(7 * 24 * 60))
        outcome = rng.choice(OUTCOMES)
        channel = {"sms_sent": "sms", "letter_sent": "letter"}.get(outcome, "phone")
        rows.append(PastContact(at=at, channel=channel, party="debtor", phone_bidx=f"n{i % 3}", contact_id=None,
                                outcome=outcome, agency_id=10 + i % 4, account_id=1 + i % 2,
                                reserved=i % 10 == 0))
    return tuple(rows)


def facts(code: str, n: int, denied: bool, rng: random.Random) -> ContactFacts:
    at = NIGHT_UTC[code] if denied else NOON_UTC[code]
    holds = (HoldFact("channel_opt_out", frozenset({"email"})),)
    if denied:
        holds += (HoldFact("dispute", frozenset()),)
    prefs = (PreferenceFact("inconvenient_time", {"start": "06:00", "end": "07:00"}),
             PreferenceFact("do_not_contact", {}, contact_id=99))
    return ContactFacts(at=at, channel="phone", party="debtor", time_zones=ZONES[code], phone_bidx="n0",
                        account_id=1, agency_id=10, history=history(n, NOON_UTC[code], rng), holds=holds,
                        preferences=prefs, contract_channels=frozenset({"phone", "sms"}), line_ref="line-1")


def rate(fact: ContactFacts, pack, seconds: float) -> tuple[float, object]:
    decision = evaluate(fact, pack)
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(200):
            evaluate(fact, pack)
        count += 200
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start), decision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case")
    args = parser.parse_args()
    rng = random.Random(7)
    print(f"{'pack':<5}{'history':>8}  {'case':<8}{'checks/s':>12}  {'µs/check':>9}  denied by")
    for code in ("CN", "US", "UK"):
        pack = load_pack(code)
        for n in (0, 20, 100):
            for denied in (False, True):
                fact = facts(code, n, denied, rng)
                per_second, decision = rate(fact, pack, args.seconds)
                case = "allowed" if decision.allowed else "denied"
                print(f"{pack.label:<5}{n:>8}  {case:<8}{per_second:>12,.0f}  {1e6 / per_second:>9.1f}  "
                      f"{' '.join(decision.rule_ids)}")


if __name__ == "__main__":
    main()
