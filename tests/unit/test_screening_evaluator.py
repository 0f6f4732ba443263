"""The pure screening evaluator: each criterion and each exclusion, with explanations."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from weiwai.config import DEFAULT_BUCKETS
from weiwai.placements.screening import (
    EXCLUSION_CODES,
    REASON_CODES,
    Candidate,
    ScreeningRules,
    evaluate,
    explain,
)

AS_OF = date(2024, 3, 1)
BASE = Candidate(
    account_no="AC1", status="open", product="cash_loan", due_date=AS_OF - timedelta(days=45),
    outstanding=Decimal("5000.00"), region="广东", credit_grade="B",
)


@pytest.fixture(autouse=True)
def english():
    from weiwai.i18n import using_locale

    with using_locale("en"):
        yield


def failures(rules: dict | ScreeningRules, candidate: Candidate = BASE) -> tuple[str, ...]:
    parsed = rules if isinstance(rules, ScreeningRules) else ScreeningRules.model_validate(rules)
    return evaluate(parsed, candidate, as_of=AS_OF, buckets=DEFAULT_BUCKETS).failures


def test_a_plain_overdue_account_passes_the_default_rules():
    verdict = evaluate(ScreeningRules(), BASE, as_of=AS_OF, buckets=DEFAULT_BUCKETS)
    assert verdict.eligible and verdict.failures == ()
    assert (verdict.dpd, verdict.bucket, verdict.band) == (45, "M2", "5k-10k")


@pytest.mark.parametrize("changes", [
    {"status": "paid_off"}, {"status": "written_off"}, {"outstanding": Decimal("0.00")},
])
def test_only_open_accounts_with_a_balance(changes):
    assert failures({}, replace(BASE, **changes))[:2] == ("not_open", "not_past_due")


@pytest.mark.parametrize("due_date", [None, AS_OF, AS_OF + timedelta(days=3)])
def test_only_past_due_accounts(due_date):
    assert failures({}, replace(BASE, due_date=due_date)) == ("not_past_due",)


@pytest.mark.parametrize("dpd,passes", [(30, False), (31, True), (90, True), (91, False)])
def test_dpd_range_is_inclusive(dpd, passes):
    candidate = replace(BASE, due_date=AS_OF - timedelta(days=dpd))
    assert failures({"dpd": {"min": 31, "max": 90}}, candidate) == (() if passes else ("dpd_out_of_range",))


def test_open_ended_dpd_range():
    old = replace(BASE, due_date=AS_OF - timedelta(days=400))
    assert failures({"dpd": {"min": 181}}, old) == ()
    assert failures({"dpd": {"max": 30}}, old) == ("dpd_out_of_range",)


def test_buckets():
    assert failures({"buckets": ["M2"]}) == ()
    assert failures({"buckets": ["M3", "M4"]}) == ("bucket_not_selected",)
    assert failures({"buckets": ["M7+"]}, replace(BASE, due_date=AS_OF - timedelta(days=181))) == ()


@pytest.mark.parametrize("amount,passes", [("499.99", False), ("500.00", True), ("20000.00", True),
                                           ("20000.01", False)])
def test_balance_range_is_inclusive(amount, passes):
    candidate = replace(BASE, outstanding=Decimal(amount))
    expected = () if passes else ("balance_out_of_range",)
    assert failures({"balance": {"min": "500", "max": "20000"}}, candidate) == expected


@pytest.mark.parametrize("field,key,code", [
    ("credit_grades", "credit_grade", "credit_grade_not_selected"),
    ("products", "product", "product_not_selected"),
    ("regions", "region", "region_not_selected"),
])
def test_value_lists(field, key, code):
    value = getattr(BASE, key)
    assert failures({field: [value, "other"]}) == ()
    assert failures({field: ["other"]}) == (code,)


@pytest.mark.parametrize("code,flag", [
    ("deceased", "deceased"), ("bankrupt", "bankrupt"), ("litigation", "in_litigation"),
    ("disputed", "disputed"), ("cease_contact", "cease_contact"), ("open_complaint", "open_complaint"),
    ("in_house_hold", "held"),
])
def test_each_exclusion_applies_by_default_and_can_be_switched_off(code, flag):
    flagged = replace(BASE, **{flag: True})
    assert failures({}, flagged) == (code,)
    assert failures({"exclude": {code: False}}, flagged) == ()


def test_vulnerable_debtors_are_excluded_only_when_asked():
    vulnerable = replace(BASE, vulnerable=True)
    assert failures({}, vulnerable) == ()
    assert failures({"exclude": {"vulnerable": True}}, vulnerable) == ("vulnerable",)


def test_already_placed_is_always_excluded():
    switched_off = {"exclude": {code: False for code in EXCLUSION_CODES if code not in ("already_placed",)}}
    assert failures(switched_off, replace(BASE, placed=True)) == ("already_placed",)


def test_every_failing_criterion_is_listed_in_order():
    candidate = replace(BASE, deceased=True, placed=True, credit_grade="E", region="北京",
                        outstanding=Decimal("100.00"))
    rules = {"balance": {"min": "500"}, "credit_grades": ["A"], "regions": ["广东"], "dpd": {"min": 60}}
    expected = ("dpd_out_of_range", "balance_out_of_range", "credit_grade_not_selected", "region_not_selected",
                "deceased", "already_placed")
    assert failures(rules, candidate) == expected
    assert list(expected) == [code for code in REASON_CODES if code in expected]


def test_explain_says_what_passed_and_what_failed_with_the_facts():
    rules = ScreeningRules.model_validate({"dpd": {"min": 60, "max": 90}, "regions": ["广东"]})
    checks = explain(rules, replace(BASE, disputed=True), as_of=AS_OF, buckets=DEFAULT_BUCKETS)
    by_code = {check.code: check for check in checks}
    assert not by_code["dpd_out_of_range"].passed
    assert by_code["dpd_out_of_range"].detail == "45 against [60 … 90]"
    assert by_code["region_not_selected"].passed
    assert not by_code["disputed"].passed and by_code["disputed"].detail == "yes"
    # Criteria the rules do not use are not listed; exclusions switched on are.
    assert "product_not_selected" not in by_code and "vulnerable" not in by_code
    assert [c.code for c in checks if not c.passed] == ["dpd_out_of_range", "disputed"]
