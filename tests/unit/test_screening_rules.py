"""Screening rules as validated data: every problem reported with its line and field."""

from decimal import Decimal

import pytest

from weiwai.errors import InputRejected
from weiwai.placements.rules_file import load_model, parse_model
from weiwai.placements.screening import ScreeningRules


@pytest.fixture(autouse=True)
def english():
    from weiwai.i18n import using_locale

    with using_locale("en"):
        yield


def rejected(text: str) -> list:
    with pytest.raises(InputRejected) as caught:
        parse_model(ScreeningRules, text, file="rules.yaml")
    return caught.value.errors


def test_example_file_is_valid():
    from pathlib import Path

    rules = load_model(ScreeningRules, Path(__file__).parents[2] / "docs/examples/screening-rules.yaml")
    assert rules.dpd.min == 31 and rules.dpd.max == 180
    assert rules.buckets == ["M2", "M3", "M4", "M5", "M6"]
    assert rules.balance.min == Decimal("500.00")
    assert rules.exclude.cooling_off_days == 60


def test_empty_document_means_defaults():
    rules = parse_model(ScreeningRules, "{}", file="rules.json")
    assert rules.dpd is None and rules.credit_grades is None
    assert rules.exclude.deceased and rules.exclude.open_complaint and not rules.exclude.vulnerable
    assert rules.exclude.cooling_off_days == 30


def test_unknown_field_is_reported_with_its_line():
    errors = rejected("dpd:\n  min: 31\ncredit_grade: [A]\n")
    assert [(e.row, e.column) for e in errors] == [(3, "credit_grade")]
    assert errors[0].reason == "unknown field"


def test_every_problem_is_listed_not_only_the_first():
    errors = rejected(
        "dpd:\n  min: 90\n  max: 30\n"
        "balance:\n  min: 12.345\n"
        "buckets: [M2, M9]\n"
        "regions: []\n"
        "exclude:\n  cooling_off_days: -1\n  deceased: maybe\n"
    )
    by_column = {e.column: e for e in errors}
    assert set(by_column) == {"dpd", "balance.min", "buckets", "regions", "exclude.cooling_off_days",
                              "exclude.deceased"}
    assert by_column["dpd"].reason == "min must not be greater than max"
    assert by_column["dpd"].row == 1
    assert by_column["balance.min"].reason == "at most 2 decimal places are allowed"
    assert by_column["balance.min"].row == 5
    assert "M9" in by_column["buckets"].reason and "M7+" in by_column["buckets"].reason
    assert by_column["regions"].row == 7
    assert by_column["exclude.cooling_off_days"].reason == "must be at least 0"
    assert by_column["exclude.deceased"].reason == "must be true or false"
    assert by_column["exclude.deceased"].value == "maybe"


def test_a_range_needs_a_bound():
    errors = rejected("dpd: {}\n")
    assert errors[0].column == "dpd" and errors[0].reason == "give min, max or both"


def test_not_yaml_and_not_a_mapping():
    assert rejected("dpd: [1, 2\n")[0].reason.startswith("not valid YAML or JSON")
    assert rejected("- 1\n- 2\n")[0].reason == "the document must be a mapping of fields"


def test_messages_follow_the_locale():
    from weiwai.i18n import using_locale

    with using_locale("zh_CN"), pytest.raises(InputRejected) as caught:
        parse_model(ScreeningRules, "dpd: {min: 9, max: 1}\nfoo: 1\n", file="r.yaml")
    reasons = {e.column: e.reason for e in caught.value.errors}
    assert reasons == {"dpd": "最小值不能大于最大值", "foo": "未知字段"}


def test_canonical_form_ignores_order_spelling_and_stated_defaults():
    one = parse_model(ScreeningRules, "credit_grades: [C, B, B]\nbalance: {min: 500}\nbuckets: [m3, M2]\n", file="a")
    two = parse_model(
        ScreeningRules,
        '{"buckets": ["M2", "M3"], "balance": {"min": "500.00"}, "credit_grades": ["B", "C"],'
        ' "exclude": {"deceased": true, "cooling_off_days": 30}}',
        file="b",
    )
    assert one.credit_grades == ["B", "C"] and one.buckets == ["M2", "M3"]
    assert one.canonical_json() == two.canonical_json()
    assert one.sha256() == two.sha256()
    three = parse_model(ScreeningRules, "credit_grades: [B, C]\nbalance: {min: 500.01}\nbuckets: [M2, M3]\n", file="c")
    assert three.sha256() != one.sha256()
