"""Housekeeping of the HTTP API, run by weiwai.jobs: forgetting old Idempotency-Keys."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from weiwai.db import utcnow
from weiwai.jobs.registry import register
from weiwai.web.idempotency import RETENTION, purge_idempotency_records


def purge_old_idempotency_records(*, session: Session, run_for: date) -> dict:
    """Delete the Idempotency-Key records older than 48 hours (a retry after that is a new request)."""
    return {"purged": purge_idempotency_records(session=session, before=utcnow() - RETENTION)}


# Housekeeping, after the jobs of the cycle.
register("purge_idempotency_records", purge_old_idempotency_records, order=100)
