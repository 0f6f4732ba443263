"""Jobs of the placement lifecycle, run daily by weiwai.jobs."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from weiwai.jobs.registry import register
from weiwai.placements.cases import expire_due_cases


def expire_cases(*, session: Session, run_for: date) -> dict:
    """Expire open cases whose placement period ended before the day; close finished batches."""
    return expire_due_cases(session=session, run_for=run_for, actor="job:expire_cases")


# First of the day: later jobs (promises, commission, scorecards) see the period ended.
register("expire_cases", expire_cases, order=10)
