"""The daily attribution job, run by weiwai.jobs: a safety net for payments imported
without being attributed, so that month end never misses one."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from weiwai.jobs.registry import register
from weiwai.payments.service import attribute_payments


def attribute_new_payments(*, session: Session, run_for: date) -> dict:
    """Attribute every posted payment not yet attributed (idempotent; usually nothing to do)."""
    return attribute_payments(session=session, actor="job:attribute_payments").as_dict()


# After expiry (10): a payment made after a case expired is grace, not case. Before
# month-end commission (30), which charges only attributed payments.
register("attribute_payments", attribute_new_payments, order=20)
