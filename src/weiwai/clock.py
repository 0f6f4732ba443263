"""The business calendar: today's date and local days in the lender's or debtor's zone.

Times are stored in UTC; "which day" questions (due dates, contact days, statement
months) are answered in a local time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def default_zone() -> ZoneInfo:
    from weiwai.config import get_settings

    return ZoneInfo(get_settings().default_time_zone)


def today_local(tz_name: str | None = None) -> date:
    """Today in `tz_name` (default: the lender's zone, settings.default_time_zone)."""
    zone = ZoneInfo(tz_name) if tz_name else default_zone()
    return datetime.now(UTC).astimezone(zone).date()


def local_day(moment: datetime, tz_name: str | None = None) -> date:
    """The calendar day of an aware timestamp in `tz_name` (default: the lender's zone)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: weiwai only handles aware timestamps")
    zone = ZoneInfo(tz_name) if tz_name else default_zone()
    return moment.astimezone(zone).date()
