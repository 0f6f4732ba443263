"""The scheduled jobs of weiwai, registered by the domains that own them.

A domain registers its jobs in a module listed in JOB_MODULES (conventionally
`weiwai.<domain>.jobs`), at import time:

    from weiwai.jobs.registry import register, month_start

    def expire_cases(*, session, run_for):  # -> dict, JSON-serialisable
        ...

    register("expire_cases", expire_cases, order=10)
    register("month_end_commission", run_commission, order=30, due=month_start)

A job runs at most once per day (`run_for`), inside one transaction together with its
JobRun record; `order` decides the sequence (lower first) when several are due, so that,
e.g., expiry runs before the scorecards that count expired cases.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlalchemy.orm import Session

# Modules that register jobs.
JOB_MODULES = (
    "weiwai.placements.jobs",
    "weiwai.collection.jobs",
    "weiwai.payments.jobs",
    "weiwai.settlement.jobs",
    "weiwai.reports.jobs",
    "weiwai.web.jobs",
    "weiwai.security.jobs",
    "weiwai.compliance.jobs",
    "weiwai.privacy.deletion_jobs",
    "weiwai.privacy.infosec_jobs",
)


class JobFunction(Protocol):
    def __call__(self, *, session: Session, run_for: date) -> dict[str, Any]: ...


def every_day(_run_for: date) -> bool:
    return True


def month_start(run_for: date) -> bool:
    """Due on the first day of a month: for work on the month that just ended."""
    return run_for.day == 1


@dataclass(frozen=True)
class Job:
    name: str
    func: JobFunction
    order: int
    due: Callable[[date], bool]
    description: str


_JOBS: dict[str, Job] = {}


def register(
    name: str,
    func: JobFunction,
    *,
    order: int,
    due: Callable[[date], bool] = every_day,
    description: str = "",
) -> Job:
    """Add a job. Registering the same function again (a module imported twice) is harmless;
    another function under a name already taken is an error."""
    if not name or len(name) > 64:
        raise ValueError("a job name has 1 to 64 characters")
    existing = _JOBS.get(name)
    if existing is not None and _identity(existing.func) != _identity(func):
        raise ValueError(f"job {name!r} is already registered by {existing.func.__module__}")
    job = Job(name=name, func=func, order=order, due=due, description=description or (func.__doc__ or "").strip())
    _JOBS[name] = job
    return job


def unregister(name: str) -> None:
    _JOBS.pop(name, None)


def registered_jobs() -> list[Job]:
    """Every job, in the order they run."""
    load_job_modules()
    return sorted(_JOBS.values(), key=lambda job: (job.order, job.name))


def get_job(name: str) -> Job:
    load_job_modules()
    try:
        return _JOBS[name]
    except KeyError:
        from weiwai.errors import NotFound
        from weiwai.i18n import _

        raise NotFound(_("no job {name}; known: {known}").format(name=name, known=", ".join(sorted(_JOBS)))) from None


def load_job_modules() -> None:
    for module_name in JOB_MODULES:
        importlib.import_module(module_name)


def _identity(func: Callable) -> tuple[str, str]:
    return (func.__module__, func.__qualname__)
