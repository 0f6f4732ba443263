"""Policy packs as data: they load, are validated, and can be tightened but never loosened."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from weiwai.agencies.models import Channel
from weiwai.collection.models import Outcome, Party
from weiwai.compliance import pack_schema
from weiwai.compliance.decision import ContactFacts
from weiwai.compliance.evaluator import compile_pack, evaluate
from weiwai.compliance.models import HoldKind
from weiwai.compliance.pack_schema import PACK_CODES, PACKS_DIR, Pack, load_pack, tighten
from weiwai.errors import InputRejected

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("code", PACK_CODES)
def test_each_pack_loads_and_is_cached(code):
    pack = load_pack(code)
    assert pack.id == code and pack.label == f"{code}@{pack.version}"
    assert load_pack(code.lower()) is pack
    assert all(rule.source for rule in pack.rules)
    assert {"CONTRACT-CHANNELS", "HOLDS"} <= {rule.id for rule in pack.rules}


def test_pack_ids_are_the_documented_rule_ids():
    documented = (ROOT.parent / "shared/domain/compliance-rules.md")
    text = documented.read_text(encoding="utf-8") if documented.exists() else None
    for code in PACK_CODES:
        for rule in load_pack(code).rules:
            if rule.id.startswith(code + "-") and text is not None:
                assert f"| {rule.id} |" in text


def test_schema_literals_match_the_domain_enums():
    assert pack_schema.ALL_CHANNELS == {c.value for c in Channel}
    assert set(pack_schema.OutcomeName.__args__) == {o.value for o in Outcome}
    assert set(pack_schema.HoldKindName.__args__) == {k.value for k in HoldKind}
    assert {"contact", "third_party"} < {p.value for p in Party}


def test_unknown_pack():
    with pytest.raises(ValueError):
        load_pack("FR")


def test_packs_are_package_data():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"**/*.yaml"' in pyproject or "compliance/packs/*.yaml" in pyproject
    assert sorted(p.name for p in PACKS_DIR.glob("*.yaml")) == ["cn.yaml", "uk.yaml", "us.yaml"]


def raw(code="CN") -> dict:
    return yaml.safe_load((PACKS_DIR / f"{code.lower()}.yaml").read_text(encoding="utf-8"))


def rule_of(data, rule_id):
    return next(r for r in data["rules"] if r["id"] == rule_id)


@pytest.mark.parametrize(("rule_id", "param", "value"), [
    ("CN-01", "quiet_start", "25:00"),
    ("CN-01", "quiet_start", "9:00"),
    ("CN-01", "quiet_end", "22:00"),  # same as the start
    ("CN-02", "max_per_local_day", 0),
    ("CN-03", "max_per_local_day", -1),
    ("CN-02", "counted_outcomes", ["chatted"]),
    ("CN-01", "applies_to_channels", ["pigeon"]),
    ("CN-01", "surprise", 1),
    ("CN-04", "lookback_days", 0),
])
def test_invalid_parameters_are_refused(rule_id, param, value):
    data = raw()
    rule_of(data, rule_id)["params"][param] = value
    with pytest.raises(InputRejected) as caught:
        _parse(data)
    assert all(e.file == "cn.yaml" and e.row > 1 and e.column.startswith("rules.") for e in caught.value.errors)


def _parse(data):
    from weiwai.placements.rules_file import parse_model

    return parse_model(Pack, yaml.safe_dump(data, allow_unicode=True), file="cn.yaml")


def test_duplicate_rule_ids_are_refused():
    data = raw()
    data["rules"].append(rule_of(data, "CN-02"))
    with pytest.raises(InputRejected):
        _parse(data)


def test_tighten_accepts_stricter_values():
    pack = load_pack("CN")
    stricter = tighten(pack, {
        "CN-01": {"quiet_start": "21:00", "quiet_end": "09:00", "agreed_window_exception": False},
        "CN-02": {"max_per_local_day": 2},
        "CN-03": {"max_per_local_day": 4, "applies_to_channels": ["phone", "ivr", "sms"]},
        "CN-04": {"min_failed_debtor_attempts": 5, "lookback_days": 3},
        "HOLDS": {"kinds": {**{k: {"block": "all"} for k in ("hardship", "vulnerable", "workplace")}}},
    })
    assert stricter is not pack and stricter.label == pack.label
    assert stricter.rule("CN-02").params.max_per_local_day == 2
    assert pack.rule("CN-02").params.max_per_local_day == 3  # the base pack is untouched
    assert tighten(pack, {}) is pack
    assert compile_pack(stricter) is not compile_pack(pack)


@pytest.mark.parametrize(("overrides", "column"), [
    ({"CN-01": {"quiet_start": "23:00"}}, "CN-01.quiet_start"),
    ({"CN-01": {"quiet_end": "07:00"}}, "CN-01.quiet_end"),
    ({"CN-01": {"agreed_window_exception": False, "applies_to_channels": ["phone"]}}, "CN-01.applies_to_channels"),
    ({"CN-02": {"max_per_local_day": 4}}, "CN-02.max_per_local_day"),
    ({"CN-02": {"counted_outcomes": ["right_party_contact"]}}, "CN-02.counted_outcomes"),
    ({"CN-02": {"enabled": False}}, "CN-02.enabled"),
    ({"CN-02": {"scope": "number"}}, "CN-02.scope"),
    ({"CN-04": {"min_failed_debtor_attempts": 1}}, "CN-04.min_failed_debtor_attempts"),
    ({"CN-04": {"lookback_days": 30}}, "CN-04.lookback_days"),
    ({"CN-04": {"failed_outcomes": ["no_answer", "busy", "invalid_number", "powered_off", "left_message"]}},
     "CN-04.failed_outcomes"),
    ({"HOLDS": {"kinds": {"dispute": {"block": ["phone"]}}}}, "HOLDS.kinds.dispute"),
    ({"HOLDS": {"kinds": {"channel_opt_out": {"block": "none"}}}}, "HOLDS.kinds.channel_opt_out"),
    ({"CN-99": {"x": 1}}, "CN-99"),
    ({"CN-02": {"limit": 1}}, "CN-02.limit"),
])
def test_tighten_refuses_to_loosen_naming_rule_and_parameter(overrides, column):
    with pytest.raises(InputRejected) as caught:
        tighten(load_pack("CN"), overrides)
    assert column in [e.column for e in caught.value.errors]


def test_tighten_us_window_and_pause():
    us = load_pack("US")
    stricter = tighten(us, {"US-02": {"max_per_rolling_window": 5, "window_days": 10, "pause_days": 8}})
    assert stricter.rule("US-02").params.window_days == 10
    with pytest.raises(InputRejected):
        tighten(us, {"US-02": {"window_days": 6}})
    with pytest.raises(InputRejected):
        tighten(us, {"US-01": {"all_zones": False}})


def test_a_disabled_rule_may_be_switched_on_by_a_contract():
    data = raw()
    rule_of(data, "CN-13")["enabled"] = False
    pack = _parse(data)
    call = ContactFacts(at=datetime(2024, 5, 1, 4, 0, tzinfo=UTC), channel="phone", party="debtor",
                        time_zones=("Asia/Shanghai",), phone_bidx="n1")
    assert evaluate(call, pack).allowed
    assert not evaluate(call, tighten(pack, {"CN-13": {"enabled": True}})).allowed


def test_counted_outcomes_agree_with_the_outcome_definitions():
    from weiwai.collection.outcomes import ATTEMPT_OUTCOMES, CONNECTED_OUTCOMES, RIGHT_PARTY_OUTCOMES

    cn = load_pack("CN")
    assert cn.rule("CN-02").params.counted_outcomes <= {o.value for o in CONNECTED_OUTCOMES}
    assert cn.rule("CN-03").params.counted_outcomes <= {o.value for o in ATTEMPT_OUTCOMES}
    us2 = load_pack("US").rule("US-02").params
    assert not {"busy", "invalid_number"} & us2.counted_outcomes
    assert {"no_answer", "left_message"} <= us2.counted_outcomes
    assert us2.pause_after_outcomes <= {o.value for o in RIGHT_PARTY_OUTCOMES}
