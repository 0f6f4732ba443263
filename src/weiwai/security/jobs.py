"""Housekeeping of sign-in records and the daily audit-chain seal, run by weiwai.jobs."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from weiwai.jobs.registry import register
from weiwai.security.login_limits import prune_attempts


def prune_login_attempts(*, session: Session, run_for: date) -> dict:
    """Delete password sign-in attempts older than 30 days (the rate limit looks back minutes)."""
    return {"pruned": prune_attempts(session=session)}


register("prune_login_attempts", prune_login_attempts, order=101)


def seal_audit_chain(*, session: Session, run_for: date) -> dict:
    """Seal every audit event the per-request and periodic sealers left (a full scan, once a day)."""
    from weiwai.security.audit_chain import seal

    return {"sealed": seal(session=session, full=True)}


register("seal_audit_chain", seal_audit_chain, order=102)
