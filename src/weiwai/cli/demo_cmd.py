"""`weiwai demo`: a generated, lived-in portfolio for trying weiwai out."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import typer
from rich.console import Console

console = Console()


def demo(
    accounts: int = typer.Option(4000, min=1, help="Number of accounts to generate."),
    seed: int = typer.Option(20261128, help="Random seed: the same seed gives the same portfolio."),
    as_of: str = typer.Option(None, help="Business date of the book (YYYY-MM-DD, default today)."),
    if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing when the database already has accounts."),
    write_files: Path = typer.Option(None, help="Also keep the generated import files (CSV/XLSX) in this folder."),
    files_only: bool = typer.Option(False, "--files-only", help="Only write the files; touch no database."),
    cycle_days: int = typer.Option(
        45, min=0, help="Days of a simulated outsourcing cycle up to today (0: seed the book only)."),
    out: Path = typer.Option(Path("var/demo"), help="Where the cycle writes handover packages and statements."),
) -> None:
    """Generate a synthetic portfolio (zh_CN names, realistic DPD, balances, grades, regions),
    agencies with contracts and demo users, through the same import path a lender uses; then
    run a simulated outsourcing cycle: placement, handover, collection, payments, month end,
    scorecards."""
    from weiwai.db import session_scope
    from weiwai.demo.seed import portfolio_is_empty, seed_demo, write_demo_files
    from weiwai.clock import today_local

    day = date.fromisoformat(as_of) if as_of else today_local()
    if files_only:
        folder = write_files or Path("var/demo-files")
        for path in write_demo_files(directory=folder, accounts=accounts, seed=seed, as_of=day):
            console.print(f"wrote {path}")
        return
    with session_scope() as session:
        if if_empty and not portfolio_is_empty(session=session):
            console.print("demo data already present; nothing to do")
            return
        say = lambda message: console.print(f"· {message}")  # noqa: E731
        history_end = day - timedelta(days=cycle_days + 1) if cycle_days else day
        report = seed_demo(session=session, accounts=accounts, seed=seed, as_of=day, files_dir=write_files,
                           payments_until=history_end, progress=say)
        cycle = None
        if cycle_days:
            from weiwai.demo.cycle import run_cycle

            cycle = run_cycle(session=session, today=day, days=cycle_days, seed=seed, work_dir=out, say=say)
    console.print(
        f"[bold green]demo ready[/]: {report.accounts} accounts, {report.payments} payments, "
        f"{report.agencies} agencies, {report.users} users"
    )
    if cycle is not None:
        console.print(
            f"  cycle {cycle.batch_no}: {cycle.cases} cases, {cycle.actions} actions, {cycle.promises} promises, "
            f"{cycle.payments} payments, {cycle.recalled} recalled, statements {', '.join(cycle.statements_issued) or '—'}, "
            f"{cycle.scorecards} scorecards"
        )
    for path in report.files:
        console.print(f"  file: {path}")
