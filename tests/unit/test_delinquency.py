from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weiwai.config import DEFAULT_BUCKETS
from weiwai.portfolio.delinquency import bucket_of, days_past_due

AS_OF = date(2026, 11, 28)


@pytest.mark.parametrize(
    "dpd,bucket",
    [(0, "M0"), (1, "M1"), (30, "M1"), (31, "M2"), (60, "M2"), (90, "M3"), (91, "M4"),
     (150, "M5"), (151, "M6"), (180, "M6"), (181, "M7+"), (3650, "M7+")],
)
def test_bucket_edges(dpd, bucket):
    assert bucket_of(dpd, DEFAULT_BUCKETS) == bucket


def test_days_past_due_counts_from_oldest_unpaid_due_date():
    assert days_past_due(due_date=AS_OF - timedelta(days=31), as_of=AS_OF, outstanding=Decimal("1")) == 31
    assert days_past_due(due_date=AS_OF, as_of=AS_OF, outstanding=Decimal("1")) == 0
    assert days_past_due(due_date=AS_OF + timedelta(days=3), as_of=AS_OF, outstanding=Decimal("1")) == 0
    assert days_past_due(due_date=None, as_of=AS_OF, outstanding=Decimal("1")) == 0


def test_nothing_owed_is_not_past_due():
    assert days_past_due(due_date=AS_OF - timedelta(days=90), as_of=AS_OF, outstanding=Decimal("0")) == 0


@given(st.integers(min_value=0, max_value=5000))
def test_every_dpd_falls_in_exactly_one_band(dpd):
    matching = [b for b in DEFAULT_BUCKETS if dpd >= b.min_dpd and (b.max_dpd is None or dpd <= b.max_dpd)]
    assert len(matching) == (0 if dpd == 0 else 1)
    assert bucket_of(dpd, DEFAULT_BUCKETS) == (matching[0].label if matching else "M0")


def test_dpd_moves_with_the_as_of_date():
    due = date(2026, 1, 31)
    assert days_past_due(due_date=due, as_of=date(2026, 3, 1), outstanding=Decimal("5")) == 29
    assert days_past_due(due_date=due, as_of=date(2024, 3, 1), outstanding=Decimal("5")) == 0


@pytest.mark.parametrize(
    "amount,band",
    [("0", "0-2k"), ("1999.99", "0-2k"), ("2000", "2k-5k"), ("9999.99", "5k-10k"), ("10000", "10k-30k"),
     ("99999.99", "30k-100k"), ("100000", "100k+"), ("5000000", "100k+")],
)
def test_balance_band_edges(amount, band):
    from weiwai.placements.strata import balance_band

    assert balance_band(Decimal(amount)) == band
