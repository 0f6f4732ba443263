"""The work queue's order as a pure function of the facts and the lender's policy."""

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from weiwai.collection.queue_policy import (
    DEFAULT_POLICY,
    FACTOR_CODES,
    URGENT_FACTORS,
    CaseFacts,
    QueuePolicy,
    balance_points,
    factor_labels,
    policy_summary,
    prioritise,
    score_case,
    sort_key,
)
from weiwai.i18n import using_locale

TODAY = date(2024, 3, 20)
PLACED = date(2024, 3, 1)


@pytest.fixture(autouse=True)
def english():
    with using_locale("en"):
        yield


def facts(case_no="C1", balance="5000.00", **changes) -> CaseFacts:
    base = CaseFacts(case_no=case_no, balance=Decimal(balance), bucket="M2", placed_on=PLACED,
                     period_ends_on=date(2024, 5, 30), last_attempt_on=date(2024, 3, 19),
                     last_attempt_outcome="no_answer")
    return replace(base, **changes)


def codes(ranked) -> list[str]:
    return [reason.code for reason in ranked.reasons]


def points(ranked, code) -> Decimal:
    return next(reason.points for reason in ranked.reasons if reason.code == code)


# --- each factor ------------------------------------------------------------------------


def test_never_attempted_counts_days_since_placement():
    ranked = score_case(facts(last_attempt_on=None, last_attempt_outcome=None), DEFAULT_POLICY, TODAY)
    assert codes(ranked)[:2] == ["never_attempted", "idle"]
    assert points(ranked, "never_attempted") == Decimal("80.00")
    assert points(ranked, "idle") == Decimal("30.00")  # 19 days × 3, capped at 30
    assert ranked.reasons[0].text() == "never attempted since placement on 2024-03-01"
    assert ranked.reasons[1].text() == "19 day(s) since placement without an attempt"


def test_idle_days_grow_until_the_cap():
    assert points(score_case(facts(last_attempt_on=date(2024, 3, 16)), DEFAULT_POLICY, TODAY), "idle") == 12
    assert "idle" not in codes(score_case(facts(last_attempt_on=TODAY), DEFAULT_POLICY, TODAY))


def test_a_broken_promise_counts_until_followed_up():
    broken = facts(last_broken_due_on=date(2024, 3, 15), last_attempt_on=date(2024, 3, 12))
    ranked = score_case(broken, DEFAULT_POLICY, TODAY)
    assert codes(ranked)[0] == "promise_broken"
    assert ranked.reasons[0].text() == "promise due 2024-03-15 was broken; not followed up yet"
    followed_up = replace(broken, last_attempt_on=date(2024, 3, 16))
    assert "promise_broken" not in codes(score_case(followed_up, DEFAULT_POLICY, TODAY))
    long_ago = replace(broken, last_broken_due_on=date(2024, 3, 1), last_attempt_on=date(2024, 2, 28))
    assert "promise_broken" not in codes(score_case(long_ago, DEFAULT_POLICY, TODAY))


def test_a_promise_due_soon_is_a_reminder_and_one_due_later_a_wait():
    due = facts(pending_promise_due_on=date(2024, 3, 22), pending_promise_amount=Decimal("300.00"))
    ranked = score_case(due, DEFAULT_POLICY, TODAY)
    assert codes(ranked)[0] == "promise_due"
    assert ranked.reasons[0].text() == "promise of CN¥300.00 due 2024-03-22: remind the debtor"
    reminded_today = replace(due, last_attempt_on=TODAY)
    assert "promise_due" not in codes(score_case(reminded_today, DEFAULT_POLICY, TODAY))
    later = replace(due, pending_promise_due_on=date(2024, 3, 27))
    ranked = score_case(later, DEFAULT_POLICY, TODAY)
    assert points(ranked, "promise_pending") == Decimal("-30.00")
    assert "promise_due" not in codes(ranked)


def test_a_callback_counts_from_the_next_day():
    asked = facts(last_attempt_outcome="callback_requested", last_attempt_on=TODAY)
    assert "callback_requested" not in codes(score_case(asked, DEFAULT_POLICY, TODAY))
    ranked = score_case(asked, DEFAULT_POLICY, TODAY + timedelta(days=1))
    assert points(ranked, "callback_requested") == 50
    same_day = QueuePolicy.model_validate({"callback_requested": {"after_days": 0}})
    assert "callback_requested" in codes(score_case(asked, same_day, TODAY))


def test_the_end_of_the_period_weighs_more_as_it_nears():
    def ending(days_left):
        return score_case(facts(period_ends_on=TODAY + timedelta(days=days_left)), DEFAULT_POLICY, TODAY)

    assert "period_ending" not in codes(ending(15))
    assert points(ending(14), "period_ending") == Decimal("2.67")
    assert points(ending(0), "period_ending") == 40
    assert points(ending(-3), "period_ending") == 40
    assert ending(0).reasons[0].text() == "the placement period ends today"
    assert points(ending(7), "period_ending") < points(ending(3), "period_ending")


def test_buckets_and_no_valid_phone():
    ranked = score_case(facts(bucket="M1", reachable=False), DEFAULT_POLICY, TODAY)
    assert points(ranked, "bucket") == 15 and points(ranked, "no_valid_phone") == -40
    assert "bucket" not in codes(score_case(facts(bucket="M7+"), DEFAULT_POLICY, TODAY))


def test_balance_is_log_scaled_and_capped():
    assert balance_points(Decimal("0"), DEFAULT_POLICY) == 0
    assert balance_points(Decimal("1000"), DEFAULT_POLICY) == Decimal("3.01")  # 10 × log10(2), rounded down
    assert balance_points(Decimal("9000"), DEFAULT_POLICY) == Decimal("10.00")
    assert balance_points(Decimal("99000"), DEFAULT_POLICY) == Decimal("20.00")
    assert balance_points(Decimal("99000000"), DEFAULT_POLICY) == Decimal("20.00")


def test_reasons_are_listed_by_weight_and_the_score_is_their_sum():
    ranked = score_case(facts(last_attempt_on=None, last_attempt_outcome=None, bucket="M1"), DEFAULT_POLICY, TODAY)
    assert ranked.score == sum(reason.points for reason in ranked.reasons)
    assert [abs(r.points) for r in ranked.reasons] == sorted((abs(r.points) for r in ranked.reasons), reverse=True)
    assert all(reason.points != 0 for reason in ranked.reasons)


def test_reasons_speak_chinese():
    with using_locale("zh_CN"):
        ranked = score_case(facts(last_attempt_on=None, last_attempt_outcome=None), DEFAULT_POLICY, TODAY)
        assert ranked.reasons[0].text() == "自 2024-03-01 委案以来从未尝试联系"
        assert factor_labels()["never_attempted"] == "从未尝试联系"


# --- the policy as data ---------------------------------------------------------------------


def test_the_default_policy_is_canonical():
    assert QueuePolicy.model_validate({}) == DEFAULT_POLICY
    assert QueuePolicy.model_validate(DEFAULT_POLICY.canonical()).sha256() == DEFAULT_POLICY.sha256()
    same = QueuePolicy.model_validate({"never_attempted": {"weight": 80.0}, "bucket_weights": {
        " m1 ": 15, "M2": "12", "M3": 9, "M4": 6, "M5": 4, "M6": 2, "M7+": 0}})
    assert same.sha256() == DEFAULT_POLICY.sha256()
    assert set(policy_summary(DEFAULT_POLICY)) == set(FACTOR_CODES)


def test_the_documented_example_is_the_default():
    from pathlib import Path

    from weiwai.placements.rules_file import load_model

    example = Path(__file__).parents[2] / "docs" / "examples" / "queue-policy.yaml"
    assert load_model(QueuePolicy, example) == DEFAULT_POLICY


@pytest.mark.parametrize("document, message", [
    ({"balance": {"cap": 60}}, "balance.cap (60) must be less than promise_due.weight (60)"),
    ({"balance": {"cap": 55}, "callback_requested": {"weight": 50}}, "callback_requested.weight"),
    ({"never_attempted": {"weight": -1}}, "greater than or equal to 0"),
    ({"never_attempted": {"weight": "1.234"}}, "2 decimal places"),
    ({"never_attempted": {"wieght": 3}}, "Extra inputs are not permitted"),
    ({"bucket_weights": {"M1": 1, "m1": 2}}, "bucket M1 is given twice"),
    ({"promise_due": {"within_days": 31}}, "less than or equal to 30"),
])
def test_bad_policies_are_refused(document, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        QueuePolicy.model_validate(document)


def test_a_disabled_urgent_factor_does_not_bound_the_balance():
    policy = QueuePolicy.model_validate({"balance": {"cap": 65}, "promise_due": {"weight": 0},
                                         "callback_requested": {"weight": 0}})
    assert policy.balance.cap == 65


# --- properties -------------------------------------------------------------------------------

days = st.integers(min_value=-60, max_value=60).map(lambda n: TODAY + timedelta(days=n))
money = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False)
weights = st.decimals(min_value=0, max_value=200, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def case_facts(draw, case_no=None):
    attempted = draw(st.booleans())
    pending = draw(st.booleans())
    return CaseFacts(
        case_no=case_no or draw(st.from_regex(r"CS\d{4}", fullmatch=True)),
        balance=draw(money),
        bucket=draw(st.sampled_from(["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+"])),
        placed_on=TODAY - timedelta(days=draw(st.integers(0, 120))),
        period_ends_on=draw(days),
        last_attempt_on=draw(days) if attempted else None,
        last_attempt_outcome=draw(st.sampled_from(["no_answer", "callback_requested", "promise_to_pay"]))
        if attempted else None,
        pending_promise_due_on=draw(days) if pending else None,
        pending_promise_amount=draw(money) if pending else None,
        last_broken_due_on=draw(st.none() | days),
        reachable=draw(st.booleans()),
    )


@st.composite
def policies(draw):
    """Any valid policy: random weights, the balance cap kept below the urgent weights."""
    urgent = {code: draw(weights) for code in URGENT_FACTORS}
    enabled = [weight for weight in urgent.values() if weight > 0]
    cap_limit = min(enabled) - Decimal("0.01") if enabled else Decimal(200)
    cap = draw(st.decimals(min_value=0, max_value=max(cap_limit, Decimal(0)), places=2))
    return QueuePolicy.model_validate({
        **{code: {"weight": weight} for code, weight in urgent.items()},
        "balance": {"cap": cap, "per_tenfold": draw(weights), "unit": draw(st.sampled_from(["1", "100", "1000"]))},
        "idle": {"per_day": draw(weights), "cap": draw(weights)},
        "period_ending": {"weight": draw(weights), "within_days": draw(st.integers(1, 60))},
        "promise_pending": {"penalty": draw(weights)},
        "no_valid_phone": {"penalty": draw(weights)},
        "bucket_weights": {label: draw(weights) for label in ("M1", "M2", "M3")},
    })


def with_urgent(base: CaseFacts, code: str) -> tuple[CaseFacts, CaseFacts]:
    """(a case with the urgent factor `code`, the same case without it)."""
    if code == "never_attempted":
        return (replace(base, last_attempt_on=None, last_attempt_outcome=None),
                # Attempted on the day it was placed: the same idle days, nothing else urgent.
                replace(base, last_attempt_on=base.placed_on, last_attempt_outcome="no_answer"))
    attempted = base.last_attempt_on or TODAY - timedelta(days=5)
    base = replace(base, last_attempt_on=min(attempted, TODAY - timedelta(days=3)), last_attempt_outcome="no_answer")
    if code == "promise_broken":
        return (replace(base, last_broken_due_on=TODAY - timedelta(days=1),
                        last_attempt_on=TODAY - timedelta(days=3)),
                replace(base, last_broken_due_on=None, last_attempt_on=TODAY - timedelta(days=3)))
    if code == "promise_due":
        return (replace(base, pending_promise_due_on=TODAY, pending_promise_amount=Decimal(1)),
                replace(base, pending_promise_due_on=None, pending_promise_amount=None))
    return (replace(base, last_attempt_outcome="callback_requested"), base)


@settings(max_examples=300, deadline=None)
@given(base=case_facts(case_no="CS9999"), policy=st.one_of(st.just(DEFAULT_POLICY), policies()),
       code=st.sampled_from(URGENT_FACTORS), richer=money)
def test_no_balance_lifts_a_case_above_the_same_case_with_an_urgent_factor(base, policy, code, richer):
    urgent, plain = with_urgent(base, code)
    if getattr(policy, code).weight == 0:
        return  # a disabled factor promises nothing
    # The case without the factor gets any balance and the earlier case number (it would win a tie).
    plain = replace(plain, case_no="CS0000", balance=max(richer, urgent.balance))
    assert code in codes(score_case(urgent, policy, TODAY))
    ranked = prioritise([plain, urgent], policy, TODAY)
    assert ranked[0].facts == urgent


@settings(max_examples=200, deadline=None)
@given(base=case_facts(), policy=st.one_of(st.just(DEFAULT_POLICY), policies()), more=money)
def test_more_balance_never_scores_less(base, policy, more):
    richer = replace(base, balance=base.balance + more)
    assert score_case(richer, policy, TODAY).score >= score_case(base, policy, TODAY).score


@settings(max_examples=100, deadline=None)
@given(data=st.data(), policy=st.one_of(st.just(DEFAULT_POLICY), policies()))
def test_the_order_is_total_and_does_not_depend_on_the_input_order(data, policy):
    numbers = data.draw(st.lists(st.from_regex(r"CS\d{3}", fullmatch=True), min_size=0, max_size=25, unique=True))
    cases = [data.draw(case_facts(case_no=number)) for number in numbers]
    ranked = prioritise(cases, policy, TODAY)
    shuffled = list(cases)
    random.Random(data.draw(st.integers())).shuffle(shuffled)
    assert [r.case_no for r in prioritise(shuffled, policy, TODAY)] == [r.case_no for r in ranked]
    keys = [sort_key(r) for r in ranked]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert sorted(r.case_no for r in ranked) == sorted(numbers)


# --- every message of the work queue speaks Chinese ------------------------------------------------


def test_every_queue_message_has_a_chinese_translation_with_the_same_placeholders():
    import ast
    import re
    from pathlib import Path

    from weiwai.i18n import _catalog

    src = Path(__file__).parents[2] / "src" / "weiwai"
    modules = [src / "collection" / name for name in (
        "queue_policy.py", "queue_service.py", "assignment.py", "queue_routes.py", "queue_schemas.py")]
    modules += [src / "cli" / "queue_cmd.py", src / "web" / "queue_pages.py"]
    found = []
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_":
                assert isinstance(node.args[0], ast.Constant), f"{path.name}:{node.lineno}: _() of a non-literal"
                found.append(node.args[0].value)
    template = re.compile(r'''\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)''')
    for name in ("queue.html", "_queue_results.html"):
        text = (src / "web" / "templates" / name).read_text(encoding="utf-8")
        found += [m.group(1) if m.group(1) is not None else m.group(2) for m in template.finditer(text)]
    assert len(found) > 60
    catalog = _catalog("zh_CN")
    assert [message for message in found if not catalog.get(message)] == []
    placeholder = re.compile(r"\{(\w+)\}")
    assert [m for m in found if set(placeholder.findall(catalog[m])) != set(placeholder.findall(m))] == []
