"""Running jobs once per day.

`run_job` runs one job inside the caller's transaction and records it in JobRun, unique
per (job, run_for): a second run for the same day finds the record and does nothing, and a
concurrent one (another process) fails to insert it and backs off. Because the record and
the job's work commit together, a job that fails leaves no record and runs again next time.

`run_due_jobs` is what `weiwai jobs run` and the background scheduler call: every due job,
in order, each in its own transaction, so that one failing job does not undo the others.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weiwai.db import session_scope, utcnow
from weiwai.jobs.models import JobRun
from weiwai.jobs.registry import Job, get_job, registered_jobs

log = logging.getLogger(__name__)

Status = Literal["ran", "already_ran", "not_due", "failed"]


@dataclass(frozen=True)
class JobOutcome:
    job: str
    run_for: date
    status: Status
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def run_job(*, session: Session, job: Job, run_for: date, force_due: bool = False) -> JobOutcome:
    """Run `job` for `run_for` unless it is not due or already ran for that day; never commits."""
    if not force_due and not job.due(run_for):
        return JobOutcome(job.name, run_for, "not_due")
    if _already_ran(session, job.name, run_for):
        return JobOutcome(job.name, run_for, "already_ran")
    run = JobRun(job=job.name, run_for=run_for, started_at=utcnow(), result={})
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        # Another runner claimed this day between our check and our insert.
        return JobOutcome(job.name, run_for, "already_ran")
    result = _jsonable(job.func(session=session, run_for=run_for) or {})
    run.result = result
    run.finished_at = utcnow()
    session.flush()
    return JobOutcome(job.name, run_for, "ran", result)


def run_due_jobs(
    *,
    run_for: date,
    only: Sequence[str] | None = None,
    scope: Callable[[], AbstractContextManager[Session]] = session_scope,
) -> list[JobOutcome]:
    """Every due job (or the named ones, due or not) for `run_for`, each in its own transaction."""
    jobs = [get_job(name) for name in only] if only else registered_jobs()
    outcomes = []
    for job in jobs:
        try:
            with scope() as session:
                outcome = run_job(session=session, job=job, run_for=run_for, force_due=bool(only))
        except Exception as exc:  # one job's failure must not stop the others
            log.exception("job %s for %s failed", job.name, run_for)
            outcome = JobOutcome(job.name, run_for, "failed", error=f"{type(exc).__name__}: {exc}")
        outcomes.append(outcome)
    return outcomes


def job_history(*, session: Session, job: str | None = None, limit: int = 50) -> list[JobRun]:
    """The latest runs, newest first."""
    query = select(JobRun).order_by(JobRun.run_for.desc(), JobRun.id.desc()).limit(limit)
    if job:
        query = query.where(JobRun.job == job)
    return list(session.scalars(query))


def _already_ran(session: Session, name: str, run_for: date) -> bool:
    return session.scalar(select(JobRun.id).where(JobRun.job == name, JobRun.run_for == run_for)) is not None


def _jsonable(result: dict[str, Any]) -> dict[str, Any]:
    """Dates and decimals as strings, so that any job's summary can be stored as JSON."""
    return json.loads(json.dumps(result, default=str))
