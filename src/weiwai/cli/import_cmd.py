"""`weiwai import …`: load the overdue book and payment records from CSV/XLSX files.

A file is taken whole or not at all. A rejected file prints every error (row, column,
value, reason) and exits with code 2 (see weiwai.cli.main); nothing is written.
"""

from __future__ import annotations

import getpass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Self

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

app = typer.Typer(help="Import the lender's overdue book and payment records.", no_args_is_help=True)
console = Console()


def _default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli"


class _ProgressBar:
    """Shows each stage of an import as a Rich progress bar (on stderr, never in pipes' data)."""

    def __init__(self) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._progress.stop()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage not in self._tasks:
            for task_id in self._tasks.values():
                task = self._progress.tasks[task_id]
                self._progress.update(task_id, completed=task.total or task.completed)
            self._tasks[stage] = self._progress.add_task(stage, total=total)
        self._progress.update(self._tasks[stage], completed=done, total=total)


def _summary(report) -> None:
    from weiwai.i18n import _

    table = Table(title=_("Imported {file}").format(file=report.file), show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row(_("Rows"), str(report.rows))
    if report.kind == "accounts":
        table.add_row(_("New accounts"), str(report.created))
        table.add_row(_("Updated accounts"), str(report.updated))
        table.add_row(_("Unchanged"), str(report.unchanged))
    else:
        table.add_row(_("Payments posted"), str(report.posted))
        table.add_row(_("Duplicates skipped"), str(report.duplicates))
        table.add_row(_("Accounts updated"), str(report.updated))
    console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]{_('Warning')}:[/] {warning}", highlight=False)


FileArgument = Annotated[
    Path, typer.Argument(help="CSV (UTF-8 or GB18030/GBK) or XLSX file; see docs/import-format.md.")
]
ActorOption = Annotated[
    str | None, typer.Option("--actor", help="Who is importing, for the audit trail (default: your login name).")
]
AsOfOption = Annotated[
    datetime | None,
    typer.Option(
        "--as-of", formats=["%Y-%m-%d"], help="Date the file was drawn up; turns dpd into due dates (default: today)."
    ),
]


@app.command("accounts")
def accounts(file: FileArgument, as_of: AsOfOption = None, actor: ActorOption = None) -> None:
    """Import the overdue book: debtors, their phones and contacts, and accounts."""
    from weiwai.db import session_scope
    from weiwai.portfolio.importing import import_accounts

    with _ProgressBar() as progress, session_scope() as session:
        report = import_accounts(
            session=session,
            path=file,
            actor=actor or _default_actor(),
            as_of=as_of.date() if as_of else None,
            progress=progress,
        )
    _summary(report)


@app.command("payments")
def payments(file: FileArgument, actor: ActorOption = None) -> None:
    """Import payment records and apply them to the accounts they pay."""
    from weiwai.db import session_scope
    from weiwai.portfolio.importing import import_payments

    with _ProgressBar() as progress, session_scope() as session:
        report = import_payments(session=session, path=file, actor=actor or _default_actor(), progress=progress)
    _summary(report)
