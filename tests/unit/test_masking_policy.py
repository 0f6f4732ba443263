"""The masking policy as data: validation, role defaults, and masks that never show the whole value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factories_collection import english_messages  # noqa: F401  (autouse)
from weiwai.errors import RuleViolation
from weiwai.security.masking import mask_address, mask_chars, mask_name, mask_national_id, mask_phone
from weiwai.security.masking_policy import (
    FIELD_SHAPES,
    MASKING_FIELDS,
    ROLE_DEFAULTS,
    FieldMode,
    FieldRule,
    apply_rule,
    default_masked,
    effective_rules,
    policy_json,
    validate_policy,
)
from weiwai.security.models import Role

NID = "110101199003071234"
PHONE = "13812345678"


def test_a_policy_is_normalised_in_field_order_and_round_trips():
    rules = validate_policy({"mobile": "full", "national_id": {"mode": "masked", "keep_end": 4, "keep_start": 0},
                             "debtor_name": "hidden", "address": "masked"})
    assert list(rules) == ["debtor_name", "national_id", "mobile", "address"]
    assert rules["mobile"] == FieldRule(FieldMode.full)
    assert rules["national_id"] == FieldRule(FieldMode.masked, 0, 4)
    assert rules["address"] == default_masked("address") == FieldRule(FieldMode.masked, 6, 0)
    stored = policy_json(rules)
    assert stored["national_id"] == {"mode": "masked", "keep_start": 0, "keep_end": 4}
    assert stored["debtor_name"] == "hidden" and stored["mobile"] == "full"
    assert validate_policy(stored) == rules


@pytest.mark.parametrize(("raw", "expected"), [
    ({"salary": "full"}, "unknown field 'salary'"),
    ({"mobile": "partial"}, "field mobile: mode 'partial' is not one of hidden, masked, full"),
    ({"mobile": 3}, "field mobile: rule 3 is not a mode"),
    ({"mobile": {"mode": "masked", "keep": 3}}, "field mobile: unknown key(s) 'keep'"),
    ({"mobile": {"mode": "full", "keep_start": 3}}, "field mobile: keep_start and keep_end are only given with mode masked"),
    ({"national_id": {"mode": "masked", "keep_start": 7}}, "field national_id: keep_start 7 shows more than a mask"),
    ({"national_id": {"mode": "masked", "keep_end": 5}}, "field national_id: keep_end 5 shows more than a mask"),
    ({"address": {"mode": "masked", "keep_end": 1}}, "field address: keep_end 1 shows more than a mask"),
    ({"mobile": {"mode": "masked", "keep_start": -1}}, "field mobile: keep_start -1 is not a whole number"),
    ({"mobile": {"mode": "masked", "keep_start": True}}, "field mobile: keep_start True is not a whole number"),
    ({"mobile": {"mode": "masked", "keep_start": "3"}}, "field mobile: keep_start '3' is not a whole number"),
    ({"mobile": {"mode": ["full"]}}, "field mobile: mode ['full'] is not one of"),
])
def test_each_problem_names_field_value_and_reason(raw, expected):
    with pytest.raises(RuleViolation) as raised:
        validate_policy(raw)
    assert expected in raised.value.message


def test_every_problem_is_reported_at_once():
    with pytest.raises(RuleViolation) as raised:
        validate_policy({"x": "full", "mobile": "partial", "national_id": {"mode": "masked", "keep_start": 9}})
    message = raised.value.message
    assert "'x'" in message and "'partial'" in message and "keep_start 9" in message


def test_not_a_mapping_is_refused():
    with pytest.raises(RuleViolation, match="must map field names"):
        validate_policy(["mobile"])  # type: ignore[arg-type]


def test_default_shapes_are_the_named_masks():
    assert apply_rule("national_id", default_masked("national_id"), NID) == mask_national_id(NID) == "110***********1234"
    assert apply_rule("mobile", default_masked("mobile"), PHONE) == mask_phone(PHONE) == "138****5678"
    assert apply_rule("contact_phone", default_masked("contact_phone"), PHONE) == "138****5678"
    assert apply_rule("debtor_name", default_masked("debtor_name"), "张三丰") == mask_name("张三丰") == "张*丰"
    address = "广东省深圳市南山区科技园路1号"
    assert apply_rule("address", default_masked("address"), address) == mask_address(address) == "广东省深圳市********"


def test_rules_apply_hidden_masked_and_full():
    assert apply_rule("national_id", FieldRule(FieldMode.hidden), NID) is None
    assert apply_rule("national_id", FieldRule(FieldMode.full), NID) == NID
    assert apply_rule("national_id", FieldRule(FieldMode.masked, 0, 4), NID) == "*" * 14 + "1234"
    assert apply_rule("national_id", FieldRule(FieldMode.masked, 6, 4), NID) == "110101********1234"
    assert apply_rule("address", FieldRule(FieldMode.masked, 3, 0), "广东省深圳市南山区") == "广东省******"
    assert apply_rule("mobile", FieldRule(FieldMode.masked), None) is None


def test_role_defaults_cover_every_role_and_field_and_no_agency_default_is_full():
    assert set(ROLE_DEFAULTS) == set(Role)
    for role, rules in ROLE_DEFAULTS.items():
        assert list(rules) == list(MASKING_FIELDS)
        if role in (Role.agency_manager, Role.collector):
            assert all(rule.mode != FieldMode.full for rule in rules.values()), role
    assert ROLE_DEFAULTS[Role.collector]["national_id"].mode == FieldMode.hidden
    assert ROLE_DEFAULTS[Role.agency_manager]["national_id"] == FieldRule(FieldMode.masked, 0, 4)


def test_the_contract_overrides_the_defaults_for_agency_roles_only():
    contract = {"mobile": "full", "national_id": "hidden"}
    for role in (Role.agency_manager, Role.collector):
        rules = effective_rules(role=role, contract_policy=contract)
        assert rules["mobile"].mode == FieldMode.full and rules["national_id"].mode == FieldMode.hidden
        assert rules["debtor_name"] == ROLE_DEFAULTS[role]["debtor_name"]
    lender = effective_rules(role=Role.operations, contract_policy=contract)
    assert lender == ROLE_DEFAULTS[Role.operations]
    assert effective_rules(role=Role.collector, contract_policy={}) == ROLE_DEFAULTS[Role.collector]


texts = st.text(alphabet=st.characters(blacklist_characters="*", blacklist_categories=("Cs",)), min_size=1,
                max_size=30)


@st.composite
def masked_rules(draw):
    field = draw(st.sampled_from(MASKING_FIELDS))
    shape = FIELD_SHAPES[field]
    keep_start = draw(st.integers(0, shape.max_keep_start))
    keep_end = draw(st.integers(0, shape.max_keep_end))
    return field, FieldRule(FieldMode.masked, keep_start, keep_end)


@given(rule=masked_rules(), value=texts)
def test_a_mask_never_shows_the_whole_value(rule, value):
    field, masked_rule = rule
    shown = apply_rule(field, masked_rule, value)
    assert shown != value
    assert "*" in shown
    shape = FIELD_SHAPES[field]
    # Never more than the field's bounds, whatever the value, and never every character.
    kept = [ch for ch in shown if ch != "*"]
    assert len(kept) <= min(len(value) - 1, shape.max_keep_start + shape.max_keep_end)


@given(value=texts, keep_start=st.integers(0, 10), keep_end=st.integers(0, 10),
       max_stars=st.one_of(st.none(), st.integers(1, 8)))
def test_mask_chars_hides_at_least_one_character(value, keep_start, keep_end, max_stars):
    shown = mask_chars(value, keep_start=keep_start, keep_end=keep_end, max_stars=max_stars)
    kept = [ch for ch in shown if ch != "*"]
    assert len(kept) < len(value)
    assert shown != value


def test_a_one_character_name_is_not_shown_whole():
    assert mask_name("张") == "*"
    assert mask_name("张三") == "张*"


def test_contract_input_validates_and_normalises_the_masking_policy():
    from pathlib import Path

    import yaml
    from pydantic import ValidationError

    from weiwai.agencies.contract_schemas import ContractCreate, ContractUpdate

    example = yaml.safe_load((Path(__file__).parents[2] / "docs/examples/contract.yaml").read_text(encoding="utf-8"))
    contract = ContractCreate.model_validate({**example, "masking_policy": {"mobile": "full", "address": "masked"}})
    assert contract.masking_policy == {"mobile": "full",
                                       "address": {"mode": "masked", "keep_start": 6, "keep_end": 0}}
    assert ContractCreate.model_validate(example).masking_policy == {}
    with pytest.raises(ValidationError, match="field national_id: keep_start 9 shows more than a mask"):
        ContractUpdate.model_validate({"masking_policy": {"national_id": {"mode": "masked", "keep_start": 9}}})
