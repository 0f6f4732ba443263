"""Fee schedule arithmetic: bucket rates, recovery tiers, rounding to the fen, fixed fees."""

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from weiwai.agencies.contract_schemas import FeeSchedule
from weiwai.agencies.fees import commission_on, commission_rate, fixed_fees
from weiwai.errors import RuleViolation

D = Decimal

SCHEDULE = FeeSchedule.model_validate(
    {
        "rates_by_bucket": {"M1": "0.08", "M2": "0.12", "M3": "0.18"},
        "recovery_tiers": [
            {"min_recovery_rate": "0.30", "bonus_rate": "0.01"},
            {"min_recovery_rate": "0.60", "bonus_rate": "0.03"},
        ],
        "fixed_fee_per_closed_case": "20.00",
    }
)
PLAIN = FeeSchedule.model_validate({"rates_by_bucket": {"M1": "0.1"}})


@pytest.mark.parametrize(
    "bucket,recovery_rate,expected",
    [
        ("M1", "0", "0.08"),
        ("M1", "0.299999", "0.08"),
        ("M1", "0.30", "0.09"),  # a threshold counts as reached
        ("M1", "0.45", "0.09"),
        ("M2", "0.60", "0.15"),  # only the highest tier reached, not 0.01 + 0.03
        ("M3", "1.50", "0.21"),
    ],
)
def test_rate_is_bucket_rate_plus_bonus_of_highest_tier_reached(bucket, recovery_rate, expected):
    assert commission_rate(SCHEDULE, bucket=bucket, recovery_rate=D(recovery_rate)) == D(expected)


def test_without_tiers_the_rate_is_the_bucket_rate():
    assert commission_rate(PLAIN, bucket="M1", recovery_rate=D("0.99")) == D("0.1")


def test_commission_is_rounded_half_up_to_the_fen():
    assert commission_on(PLAIN, bucket="M1", recovered=D("10.05"), recovery_rate=D(0)) == D("1.01")  # 1.005
    assert commission_on(PLAIN, bucket="M1", recovered=D("10.04"), recovery_rate=D(0)) == D("1.00")  # 1.004
    assert commission_on(SCHEDULE, bucket="M1", recovered=D("1234.56"), recovery_rate=D("0.1")) == D("98.76")
    assert commission_on(SCHEDULE, bucket="M2", recovered=D("1000"), recovery_rate=D("0.7")) == D("150.00")


def test_reversal_gives_the_exact_negative_commission():
    assert commission_on(PLAIN, bucket="M1", recovered=D("-10.05"), recovery_rate=D(0)) == D("-1.01")


def test_unknown_bucket_is_a_rule_violation_naming_the_bucket():
    with pytest.raises(RuleViolation, match="M7"):
        commission_rate(SCHEDULE, bucket="M7", recovery_rate=D(0))
    with pytest.raises(RuleViolation):
        commission_on(SCHEDULE, bucket="M4", recovered=D(1), recovery_rate=D(0))


def test_negative_recovery_rate_and_floats_are_refused():
    with pytest.raises(RuleViolation):
        commission_rate(SCHEDULE, bucket="M1", recovery_rate=D("-0.01"))
    with pytest.raises(TypeError):
        commission_rate(SCHEDULE, bucket="M1", recovery_rate=0.5)
    with pytest.raises(TypeError):
        commission_on(SCHEDULE, bucket="M1", recovered=10.0, recovery_rate=D(0))


def test_fixed_fees():
    assert fixed_fees(SCHEDULE, closed_cases=3) == D("60.00")
    assert fixed_fees(SCHEDULE, closed_cases=0) == D("0.00")
    assert fixed_fees(PLAIN, closed_cases=7) == D("0.00")
    with pytest.raises(RuleViolation):
        fixed_fees(SCHEDULE, closed_cases=-1)
    with pytest.raises(TypeError):
        fixed_fees(SCHEDULE, closed_cases=1.0)


# --- properties -------------------------------------------------------------------------

rates = st.decimals(min_value=0, max_value=D("0.5"), places=6)
amounts = st.decimals(min_value=D("-10000000"), max_value=D("10000000"), places=2)
recovery_rates = st.decimals(min_value=0, max_value=2, places=6)


@st.composite
def schedules(draw):
    thresholds = sorted(draw(st.sets(st.decimals(min_value=0, max_value=1, places=6), max_size=4)))
    tiers = [{"min_recovery_rate": t, "bonus_rate": draw(rates)} for t in thresholds]
    buckets = draw(st.lists(st.sampled_from(["M1", "M2", "M3", "M4"]), min_size=1, max_size=4, unique=True))
    return FeeSchedule.model_validate({"rates_by_bucket": {b: draw(rates) for b in buckets}, "recovery_tiers": tiers})


def _half_up_to_fen(value: Fraction) -> Decimal:
    # Independent of Decimal.quantize: round |value| * 100 half up, restore the sign.
    hundredths = abs(value) * 100
    whole = int(hundredths)
    if hundredths - whole >= Fraction(1, 2):
        whole += 1
    return (D(whole) / 100).copy_sign(D(value.numerator)).quantize(D("0.01"), rounding=ROUND_HALF_UP)


@given(schedules(), amounts, recovery_rates, st.data())
def test_commission_is_exact_product_rounded_once(schedule, recovered, recovery_rate, data):
    bucket = data.draw(st.sampled_from(sorted(schedule.rates_by_bucket)))
    reached = [t for t in schedule.recovery_tiers if recovery_rate >= t.min_recovery_rate]
    expected_rate = schedule.rates_by_bucket[bucket] + (reached[-1].bonus_rate if reached else 0)
    assert commission_rate(schedule, bucket=bucket, recovery_rate=recovery_rate) == expected_rate
    commission = commission_on(schedule, bucket=bucket, recovered=recovered, recovery_rate=recovery_rate)
    assert commission == _half_up_to_fen(Fraction(recovered) * Fraction(expected_rate))
    assert commission.as_tuple().exponent == -2


@given(schedules(), st.decimals(min_value=0, max_value=D("10000000"), places=2), recovery_rates, st.data())
def test_commission_never_exceeds_the_amount_and_mirrors_reversals(schedule, recovered, recovery_rate, data):
    bucket = data.draw(st.sampled_from(sorted(schedule.rates_by_bucket)))
    commission = commission_on(schedule, bucket=bucket, recovered=recovered, recovery_rate=recovery_rate)
    assert D(0) <= commission <= recovered
    assert commission_on(schedule, bucket=bucket, recovered=-recovered, recovery_rate=recovery_rate) == -commission


@given(st.decimals(min_value=0, max_value=D("100000"), places=2), st.integers(min_value=0, max_value=100000))
def test_fixed_fees_are_fee_times_cases(fee, cases):
    schedule = FeeSchedule.model_validate({"rates_by_bucket": {"M1": "0.1"}, "fixed_fee_per_closed_case": fee})
    assert fixed_fees(schedule, closed_cases=cases) == fee * cases


def test_the_worked_example_of_the_guide():
    example = Path(__file__).parents[2] / "docs" / "examples" / "contract.yaml"
    schedule = FeeSchedule.model_validate(yaml.safe_load(example.read_text(encoding="utf-8"))["fee_schedule"])
    case_a = commission_on(schedule, bucket="M2", recovered=D("6500.00"), recovery_rate=D("0.65"))
    case_b = commission_on(schedule, bucket="M1", recovered=D("1111.11"), recovery_rate=D("0.333333"))
    case_c = commission_on(schedule, bucket="M3", recovered=D("0.00"), recovery_rate=D(0))
    assert (case_a, case_b, case_c) == (D("975.00"), D("100.00"), D("0.00"))
    assert case_a + case_b + case_c + fixed_fees(schedule, closed_cases=2) == D("1115.00")
    assert commission_on(schedule, bucket="M2", recovered=D("3.50"), recovery_rate=D("0.60")) == D("0.53")
