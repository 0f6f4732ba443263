from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weiwai.money import parse_amount, split_pro_rata, to_fen


def test_to_fen_rounds_half_up():
    assert to_fen(Decimal("1.005")) == Decimal("1.01")
    assert to_fen(Decimal("1.004")) == Decimal("1.00")
    assert to_fen(Decimal("-1.005")) == Decimal("-1.01")


def test_to_fen_refuses_floats():
    with pytest.raises(TypeError):
        to_fen(1.1)


@pytest.mark.parametrize(
    "text,expected",
    [("12", "12.00"), ("12.5", "12.50"), ("1,234.56", "1234.56"), ("¥ 8.01", "8.01"), (" 0 ", "0.00")],
)
def test_parse_amount_accepts(text, expected):
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text,reason",
    [("-1", "negative"), ("1.234", "2 decimal"), ("abc", "not a number"), ("", "not a number"), ("1e5", "2 decimal")],
)
def test_parse_amount_rejects_with_reason(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_amount(text)


@given(
    total=st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False),
    weights=st.lists(st.decimals(min_value=Decimal("0.01"), max_value=10**6, places=2), min_size=1, max_size=20),
)
def test_split_pro_rata_sums_exactly(total, weights):
    parts = split_pro_rata(total, weights)
    assert sum(parts) == to_fen(total)
    assert all(p >= 0 for p in parts)
    assert all(p == to_fen(p) for p in parts)


def test_parse_amount_refuses_non_ascii_digits():
    with pytest.raises(ValueError):
        parse_amount("١٢٣")  # Arabic-Indic digits are not an amount in a lender's file
