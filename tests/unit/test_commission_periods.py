"""Commission periods (lender's local months), statement numbers, and the month-end job's
due rule: pure logic, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from weiwai.errors import RuleViolation
from weiwai.settlement.periods import next_period, parse_period, period_bounds, period_of, previous_period
from weiwai.settlement.service import month_end_commission
from weiwai.settlement.statements import statement_no_for

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("text", ["2024-1", "2024-13", "2024-00", "24-01", "2024/01", "", "2024-01-01"])
def test_malformed_periods_are_refused(text):
    with pytest.raises(RuleViolation, match="YYYY-MM"):
        parse_period(text)


def test_next_and_previous_period_cross_the_year():
    assert next_period("2024-12") == "2025-01"
    assert next_period("2024-01") == "2024-02"
    assert previous_period("2024-01") == "2023-12"
    assert previous_period("2024-03") == "2024-02"


def test_period_bounds_are_local_midnights_in_utc():
    start, end = period_bounds("2024-02", SHANGHAI)
    assert start == datetime(2024, 1, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2024, 2, 29, 16, 0, tzinfo=UTC)  # leap year


def test_period_of_an_instant_is_its_local_month():
    assert period_of(datetime(2024, 1, 31, 16, 10, tzinfo=UTC), SHANGHAI) == "2024-02"
    assert period_of(datetime(2024, 1, 31, 15, 59, tzinfo=UTC), SHANGHAI) == "2024-01"


def test_statement_numbers_fit_and_never_collide_with_codes():
    short = SimpleNamespace(code="HZ-ANXIN", id=7)
    assert statement_no_for(short, "2024-03") == "CS-202403-HZ-ANXIN"
    long = SimpleNamespace(code="A" * 32, id=12)
    number = statement_no_for(long, "2024-03")
    assert number == "CS-202403-#12" and len(number) <= 40


def test_month_end_job_is_due_on_the_first_and_runs_after_attribution():
    from weiwai.jobs.registry import get_job

    month_end, attribution = get_job("month_end_commission"), get_job("attribute_payments")
    assert month_end.func is month_end_commission
    assert month_end.due(date(2024, 3, 1)) and not month_end.due(date(2024, 3, 2))
    assert attribution.due(date(2024, 3, 2))
    assert get_job("expire_cases").order < attribution.order < month_end.order
