"""`weiwai jobs …`: run the scheduled jobs that are due, once per day.

    weiwai jobs run [--for 2024-03-31] [--only expire_cases]
    weiwai jobs list
    weiwai jobs history [--job expire_cases]
"""

from __future__ import annotations

from datetime import datetime

import typer

from weiwai.i18n import _
from weiwai.placements.render import DATE_FORMATS, console, day_or_today

app = typer.Typer(help="Scheduled jobs: expiry, promises, commission, scorecards.", no_args_is_help=True)


@app.command("run")
def run(
    run_for: datetime | None = typer.Option(None, "--for", formats=DATE_FORMATS, help="The day to run for (default today)."),
    only: list[str] | None = typer.Option(None, "--only", help="Run just this job, even if not due (repeatable)."),
) -> None:
    """Run every job due for the day that has not run for it yet (each in its own transaction)."""
    from rich.table import Table

    from weiwai.jobs.runner import run_due_jobs

    outcomes = run_due_jobs(run_for=day_or_today(run_for), only=only or None)
    labels = {"ran": _("ran"), "already_ran": _("already ran"), "not_due": _("not due"), "failed": _("failed")}
    table = Table(_("job"), _("for"), _("outcome"), _("result"))
    for outcome in outcomes:
        table.add_row(outcome.job, outcome.run_for.isoformat(), labels[outcome.status],
                      outcome.error or ", ".join(f"{k}={v}" for k, v in outcome.result.items()))
    console().print(table)
    if any(outcome.status == "failed" for outcome in outcomes):
        raise typer.Exit(1)


@app.command("list")
def list_jobs() -> None:
    """The registered jobs, in the order they run."""
    from rich.table import Table

    from weiwai.jobs.registry import registered_jobs

    table = Table(_("order"), _("job"), _("due today"), _("description"))
    today = day_or_today(None)
    for job in registered_jobs():
        table.add_row(str(job.order), job.name, _("yes") if job.due(today) else _("no"), job.description)
    console().print(table)


@app.command("history")
def history(
    job: str | None = typer.Option(None, "--job", help="Only this job."),
    limit: int = typer.Option(30, min=1, max=1000),
) -> None:
    """The latest job runs, newest first."""
    from rich.table import Table

    from weiwai.db import session_scope
    from weiwai.jobs.runner import job_history

    table = Table(_("job"), _("for"), _("started"), _("finished"), _("result"))
    with session_scope() as session:
        for run_ in job_history(session=session, job=job, limit=limit):
            table.add_row(run_.job, run_.run_for.isoformat(), f"{run_.started_at:%Y-%m-%d %H:%M:%S}",
                          f"{run_.finished_at:%Y-%m-%d %H:%M:%S}" if run_.finished_at else "—",
                          ", ".join(f"{k}={v}" for k, v in (run_.result or {}).items()))
    console().print(table)
