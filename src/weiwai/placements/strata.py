"""Strata of comparable cases: bucket × balance band × region.

Agencies are only compared on cases of the same stratum (shared/domain/kpis.md).
"""

from __future__ import annotations

from decimal import Decimal

# (upper bound exclusive, label); the last band is open-ended.
BALANCE_BANDS: tuple[tuple[Decimal | None, str], ...] = (
    (Decimal("2000"), "0-2k"),
    (Decimal("5000"), "2k-5k"),
    (Decimal("10000"), "5k-10k"),
    (Decimal("30000"), "10k-30k"),
    (Decimal("100000"), "30k-100k"),
    (None, "100k+"),
)
BAND_LABELS = tuple(label for _, label in BALANCE_BANDS)


def balance_band(amount: Decimal) -> str:
    """The balance band label of a total outstanding amount."""
    for upper, label in BALANCE_BANDS:
        if upper is None or amount < upper:
            return label
    raise AssertionError("unreachable: the last band is open-ended")


def stratum_key(bucket: str, band: str, region: str) -> tuple[str, str, str]:
    return (bucket, band, region)
