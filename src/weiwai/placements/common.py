"""Small helpers shared by screening, allocation, batches and cases: local days and
conversions between money and whole fen."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from weiwai.money import FEN, to_fen


def lender_zone() -> ZoneInfo:
    from weiwai.config import get_settings

    return ZoneInfo(get_settings().default_time_zone)


def local_today() -> date:
    """Today where the lender works: placement days, periods and job days are local dates."""
    return datetime.now(lender_zone()).date()


def start_of_local_day(day: date) -> datetime:
    """The UTC instant at which `day` begins in the lender's time zone."""
    return datetime.combine(day, time.min, tzinfo=lender_zone()).astimezone(UTC)


def local_day_of(moment: datetime) -> date:
    return moment.astimezone(lender_zone()).date()


def fen_of(amount: Decimal) -> int:
    """A money amount as whole fen (exact: amounts have at most two decimals)."""
    return int(to_fen(amount) / FEN)


def money_of(fen: int) -> Decimal:
    return to_fen(Decimal(int(fen)) * FEN)
