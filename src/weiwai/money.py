"""Money: Decimal amounts rounded explicitly to the fen (0.01), never floats."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import Numeric

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
# NUMERIC(18,2): up to 9,999,999,999,999,999.99, far beyond any consumer balance.
MoneyColumn = Numeric(18, 2, asdecimal=True)
RateColumn = Numeric(9, 6, asdecimal=True)

_AMOUNT_RE = re.compile(r"^[0-9]{1,16}(\.[0-9]{1,2})?$")  # ASCII digits only


def to_fen(value: Decimal | int | str) -> Decimal:
    """Round half up to the fen; the one rounding rule for money in weiwai."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def parse_amount(text: str) -> Decimal:
    """Parse a non-negative amount with at most two decimals; thousands separators allowed.

    Raises ValueError with a reason a person can act on.
    """
    cleaned = text.strip().replace(",", "").replace("，", "")
    if cleaned.startswith(("¥", "￥")):
        cleaned = cleaned[1:].strip()
    if cleaned.startswith("-"):
        raise ValueError("amount must not be negative")
    if not _AMOUNT_RE.match(cleaned):
        try:
            Decimal(cleaned)
        except InvalidOperation:
            raise ValueError("not a number") from None
        raise ValueError("at most 2 decimal places are allowed")
    return Decimal(cleaned).quantize(FEN)


def split_pro_rata(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `total` in proportion to `weights`, to the fen, summing exactly to `total`.

    The remainder fen go to the largest fractional parts (largest-remainder method),
    so nothing is created or lost by rounding.
    """
    total = to_fen(total)
    weight_sum = sum(weights, Decimal(0))
    if weight_sum <= 0:
        raise ValueError("weights must sum to more than zero")
    exact = [total * w / weight_sum for w in weights]
    floors = [e.quantize(FEN, rounding="ROUND_FLOOR") for e in exact]
    leftover = int((total - sum(floors, Decimal(0))) / FEN)
    order = sorted(range(len(exact)), key=lambda i: exact[i] - floors[i], reverse=True)
    for i in order[:leftover]:
        floors[i] += FEN
    return floors
