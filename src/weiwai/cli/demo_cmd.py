"""`weiwai demo`: a generated, lived-in portfolio for trying weiwai out."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console

console = Console()


def demo(
    accounts: int = typer.Option(6000, min=1, help="Number of accounts to generate."),
    seed: int = typer.Option(20261128, help="Random seed: the same seed gives the same portfolio."),
    as_of: str = typer.Option(None, help="Business date of the book (YYYY-MM-DD, default today)."),
    if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing when the database already has accounts."),
    write_files: Path = typer.Option(None, help="Also keep the generated import files (CSV/XLSX) in this folder."),
    files_only: bool = typer.Option(False, "--files-only", help="Only write the files; touch no database."),
) -> None:
    """Generate a synthetic portfolio (zh_CN names, realistic DPD, balances, grades, regions),
    agencies with contracts and demo users, through the same import path a lender uses."""
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
        report = seed_demo(session=session, accounts=accounts, seed=seed, as_of=day, files_dir=write_files,
                           progress=lambda message: console.print(f"· {message}"))
    console.print(
        f"[bold green]demo ready[/]: {report.accounts} accounts, {report.payments} payments, "
        f"{report.agencies} agencies, {report.users} users"
    )
    for path in report.files:
        console.print(f"  file: {path}")
