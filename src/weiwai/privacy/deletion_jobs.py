"""Daily end-of-entrustment jobs (weiwai.jobs): entrustments that lapsed, deletion dues and
overdue blocks, and the lender's retention purge."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from weiwai.jobs.registry import register
from weiwai.privacy import deletion, entrustment, retention

ACTOR = "job:end_of_entrustment"
PURGE_ACTOR = "job:retention_purge"


def end_of_entrustment(*, session: Session, run_for: date) -> dict:
    """End lapsed entrustments; record deletion dues of ended cases; block or unblock agencies overdue."""
    ended = entrustment.end_lapsed(session=session, on=run_for, actor=ACTOR)
    dues = deletion.create_due_rows(session=session, on=run_for)
    blocks = deletion.refresh_overdue_blocks(session=session, today=run_for, actor=deletion.SYSTEM)
    return {"entrustments_ended": ended, "dues_created": dues, **blocks}


def retention_purge(*, session: Session, run_for: date) -> dict:
    """Erase the personal data of debtors whose relationship ended longer ago than the pack's period."""
    result = retention.purge(session=session, run_for=run_for, actor=PURGE_ACTOR)
    return {"retention_years": result.retention_years, "cutoff": result.cutoff.isoformat(),
            "debtors_purged": result.purged}


# After expiry and closing (which end cases), before compliance_watch (27) reads the blocks.
register("end_of_entrustment", end_of_entrustment, order=26)
register("retention_purge", retention_purge, order=95)
