"""`weiwai handover …`: build handover packages for an agency, list them, verify their files."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from weiwai.i18n import _

app = typer.Typer(help="Handover packages (提供客户信息): the data an agency receives.", no_args_is_help=True)
console = Console()


def default_actor() -> str:
    return f"cli:{getpass.getuser()}"


@app.command("create")
def create(
    contract: str = typer.Option(..., "--contract", help="Contract number."),
    out: Path = typer.Option(..., "--out", help="Directory to write the files into."),
    batch: str | None = typer.Option(None, "--batch", help="Only this placement batch's cases."),
    actor: str | None = typer.Option(None, "--actor", help="Who creates the package (default cli:<user>)."),
) -> None:
    """Write the open cases of a contract (or of one batch) as XLSX, CSV and manifest, and record it."""
    from weiwai.db import session_scope
    from weiwai.handover import service
    from weiwai.handover.package import file_names

    made: list[Path] = []
    try:
        with session_scope() as session:
            package = service.create_package(
                session=session, contract_no=contract, batch_no=batch, out_dir=out, actor=actor or default_actor()
            )
            made = [Path(package.directory) / name for name in file_names(package.package_no)]
            package_no, row_count, fields = package.package_no, package.row_count, dict(package.fields)
    except BaseException:
        # Not recorded after all (the commit failed): the files must not stay behind.
        for path in made:
            path.unlink(missing_ok=True)
        raise
    console.print(_("Package {package}: {rows} case(s)").format(package=package_no, rows=row_count), highlight=False)
    console.print(_("Fields: {fields}").format(
        fields=", ".join(f"{field} ({mode})" for field, mode in fields.items())), highlight=False)
    for path in made:
        console.print(f"  {path}", highlight=False)


@app.command("list")
def list_(
    contract: str | None = typer.Option(None, "--contract", help="Only this contract's packages."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
) -> None:
    """Packages made, newest first."""
    from weiwai.agencies.models import Agency, Contract
    from weiwai.db import session_scope
    from weiwai.handover import service

    with session_scope() as session:
        page = service.list_packages(session=session, contract_no=contract, limit=limit)
        table = Table(_("package"), _("agency"), _("contract"), _("cases"), _("created at"), _("created by"))
        for package in page.items:
            table.add_row(
                package.package_no, session.get(Agency, package.agency_id).code,
                session.get(Contract, package.contract_id).contract_no, str(package.row_count),
                package.created_at.isoformat(timespec="seconds"), package.created_by,
            )
    console.print(table)
    console.print(_("{shown} of {total}").format(shown=len(page.items), total=page.total), highlight=False)


@app.command("verify")
def verify(
    manifest: Path = typer.Argument(..., exists=True, dir_okay=False, help="The package's .manifest.json."),
    no_record: bool = typer.Option(False, "--no-record", help="Check the files against the manifest only."),
) -> None:
    """Recompute the files' SHA-256 and compare them with the manifest (and with the recorded package)."""
    from weiwai.errors import RuleViolation
    from weiwai.handover.package import verify_manifest

    try:
        checks = verify_manifest(manifest)
    except ValueError as exc:
        raise RuleViolation(str(exc)) from None
    failed = _show(_("against the manifest"), checks)
    if not no_record:
        from weiwai.db import session_scope
        from weiwai.handover import service

        with session_scope() as session:
            failed += _show(_("against the record"), service.verify_against_record(session=session, manifest=manifest))
    if failed:
        console.print(_("{count} file(s) do not match").format(count=failed), style="bold red", highlight=False)
        raise typer.Exit(1)
    console.print(_("All files match"), style="green", highlight=False)


def _show(title: str, checks) -> int:
    console.print(title, style="bold", highlight=False)
    for check in checks:
        if check.ok:
            state = _("ok")
        elif check.actual is None:
            state = _("missing")
        else:
            state = _("changed")
        console.print(f"  {check.name}: {state}", highlight=False)
    return sum(1 for check in checks if not check.ok)
