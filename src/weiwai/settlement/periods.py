"""Commission periods: calendar months ('YYYY-MM') in the lender's time zone.

A period is the lender's accounting month, so it is read in settings.default_time_zone
whatever the debtor's own time zone: a payment at 2024-01-31 23:30 Beijing time belongs
to 2024-01 even though it is still January 31 in UTC only until 16:00.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from weiwai.errors import RuleViolation
from weiwai.i18n import _

_PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def lender_tz() -> ZoneInfo:
    from weiwai.config import get_settings

    return ZoneInfo(get_settings().default_time_zone)


def parse_period(text: str) -> str:
    """Validate 'YYYY-MM' and return it unchanged."""
    if not isinstance(text, str) or not _PERIOD_RE.match(text.strip()):
        raise RuleViolation(_("a period is written YYYY-MM, e.g. 2024-03 (got {value})").format(value=text))
    return text.strip()


def _first_day(period: str) -> date:
    year, month = (int(part) for part in parse_period(period).split("-"))
    return date(year, month, 1)


def next_period(period: str) -> str:
    first = _first_day(period)
    return f"{first.year + first.month // 12:04d}-{first.month % 12 + 1:02d}"


def previous_period(period: str) -> str:
    first = _first_day(period)
    return f"{first.year - (first.month == 1):04d}-{(first.month - 2) % 12 + 1:02d}"


def period_bounds(period: str, tz: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """[start, end) of the period as UTC instants."""
    tz = tz or lender_tz()
    start = _first_day(period)
    end = _first_day(next_period(period))
    return (
        datetime(start.year, start.month, 1, tzinfo=tz).astimezone(UTC),
        datetime(end.year, end.month, 1, tzinfo=tz).astimezone(UTC),
    )


def period_of(moment: datetime, tz: ZoneInfo | None = None) -> str:
    """The period an instant falls in."""
    local = moment.astimezone(tz or lender_tz())
    return f"{local.year:04d}-{local.month:02d}"


def period_of_day(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"
