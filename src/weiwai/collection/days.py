"""Local days: an action's, a promise's or a payment's day is its date where the debtor lives."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo


def default_time_zone() -> str:
    from weiwai.config import get_settings

    return get_settings().default_time_zone


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(moment: datetime, time_zone: str | None = None) -> date:
    """The calendar date of an aware moment in `time_zone` (default: settings.default_time_zone)."""
    return moment.astimezone(zone(time_zone or default_time_zone())).date()
