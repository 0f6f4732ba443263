"""Days past due and delinquency buckets, as of a date.

Pure functions for one account, and SQL expressions of the same rules for reports over
the whole book, so that both paths give the same answer (tested against each other).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, Integer, case, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

from weiwai.config import BucketBand

CURRENT = "M0"  # not past due


def days_past_due(*, due_date: date | None, as_of: date, outstanding: Decimal) -> int:
    """Days since the oldest unpaid due date; 0 when nothing is owed or nothing is due yet."""
    if due_date is None or outstanding <= 0 or as_of <= due_date:
        return 0
    return (as_of - due_date).days


def bucket_of(dpd: int, bands: list[BucketBand]) -> str:
    """The label of the band that holds `dpd` (M0 for 0 or below the first band)."""
    for band in bands:
        if dpd >= band.min_dpd and (band.max_dpd is None or dpd <= band.max_dpd):
            return band.label
    return CURRENT


def dpd_sql(due_date_column, as_of: date, dialect_name: str) -> ColumnElement[int]:
    """SQL for days past due (without the zero-balance rule: combine with a status filter)."""
    if dialect_name == "sqlite":
        diff = cast(func.julianday(literal(as_of.isoformat())) - func.julianday(due_date_column), Integer)
    else:
        diff = literal(as_of, Date) - due_date_column
    return case((due_date_column.is_(None), 0), (diff < 0, 0), else_=diff)


def bucket_sql(dpd_expression, bands: list[BucketBand]) -> ColumnElement[str]:
    whens = []
    for band in bands:
        condition = dpd_expression >= band.min_dpd
        if band.max_dpd is not None:
            condition = condition & (dpd_expression <= band.max_dpd)
        whens.append((condition, band.label))
    return case(*whens, else_=CURRENT)
