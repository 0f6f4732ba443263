"""The handover policy as data: the default, and every way a policy can be wrong."""

import pytest

from factories_collection import english_messages  # noqa: F401  (autouse)
from weiwai.errors import RuleViolation
from weiwai.handover.policy import (
    DEFAULT_POLICY,
    ENCRYPTED_FIELDS,
    RELEASABLE_FIELDS,
    Mode,
    effective_policy,
    validate_policy,
)


def test_default_policy_releases_every_field_and_reveals_nothing_encrypted():
    assert list(DEFAULT_POLICY) == list(RELEASABLE_FIELDS)
    for field in ("national_id", "mobile", "contact_phone", "address"):
        assert DEFAULT_POLICY[field] == Mode.masked
    assert {field for field, mode in DEFAULT_POLICY.items() if mode == Mode.full} & ENCRYPTED_FIELDS == set()


@pytest.mark.parametrize("raw", [{}, None])
def test_empty_policy_means_the_default(raw):
    assert effective_policy(raw) == DEFAULT_POLICY


def test_valid_policy_comes_back_in_column_order():
    policy = validate_policy({"total_outstanding": "full", "mobile": "full", "case_no": "full"})
    assert list(policy) == ["case_no", "mobile", "total_outstanding"]
    assert policy["mobile"] is Mode.full


def test_unknown_field_is_named():
    with pytest.raises(RuleViolation, match="unknown field 'salary'"):
        validate_policy({"case_no": "full", "salary": "full"})


def test_unknown_mode_is_named():
    with pytest.raises(RuleViolation, match="mode 'partial'"):
        validate_policy({"case_no": "full", "mobile": "partial"})


def test_amounts_cannot_be_masked():
    with pytest.raises(RuleViolation, match="principal_outstanding has no mask"):
        validate_policy({"case_no": "full", "principal_outstanding": "masked"})


def test_case_no_must_be_released():
    with pytest.raises(RuleViolation, match="case_no must be released"):
        validate_policy({"mobile": "masked"})


def test_every_problem_is_reported_at_once():
    with pytest.raises(RuleViolation) as raised:
        validate_policy({"case_no": "full", "x": "full", "mobile": "hidden", "dpd": "masked"})
    message = raised.value.message
    assert "'x'" in message and "'hidden'" in message and "dpd" in message


def test_a_policy_must_be_a_mapping():
    with pytest.raises(RuleViolation):
        validate_policy(["case_no"])  # type: ignore[arg-type]


def test_messages_are_translated():
    from weiwai.i18n import using_locale

    with using_locale("zh_CN"), pytest.raises(RuleViolation, match="移交策略无效"):
        validate_policy({"case_no": "full", "salary": "full"})
