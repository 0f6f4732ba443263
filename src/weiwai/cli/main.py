"""The `weiwai` command. One sub-app per domain; each command owns one transaction.

Every DomainError becomes a one-line message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from weiwai.errors import DomainError, InputRejected

app = typer.Typer(
    name="weiwai",
    help="委外 weiwai — outsourced debt collection run by the lender.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


def _register() -> None:
    # Imported here so that `weiwai --help` stays fast and import cycles stay impossible.
    from weiwai.cli import config_cmd, db_cmd, serve_cmd

    app.add_typer(db_cmd.app, name="db")
    app.add_typer(config_cmd.app, name="config")
    app.command("serve")(serve_cmd.serve)
    for module_name, name in (
        ("weiwai.cli.import_cmd", "import"),
        ("weiwai.cli.agency_cmd", "agency"),
        ("weiwai.cli.contract_cmd", "contract"),
        ("weiwai.cli.portfolio_cmd", "portfolio"),
    ):
        try:
            module = __import__(module_name, fromlist=["app"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        app.add_typer(module.app, name=name)
    try:
        from weiwai.cli import demo_cmd
    except ModuleNotFoundError as exc:
        if exc.name != "weiwai.cli.demo_cmd":
            raise
    else:
        app.command("demo")(demo_cmd.demo)


def report_input_rejected(exc: InputRejected, limit: int = 200) -> None:
    from weiwai.i18n import _

    err_console.print(f"[bold red]{_('Rejected')}:[/] {exc.message}", highlight=False)
    for error in exc.errors[:limit]:
        err_console.print(f"  {error}", highlight=False, soft_wrap=True, markup=False)
    if len(exc.errors) > limit:
        err_console.print("  " + _("… and {count} more").format(count=len(exc.errors) - limit), highlight=False)


def main() -> None:
    from weiwai.i18n import _

    _register()
    try:
        app()
    except InputRejected as exc:
        report_input_rejected(exc)
        sys.exit(2)
    except DomainError as exc:
        err_console.print(f"[bold red]{_('Error')}:[/] {exc.message}", highlight=False, markup=True)
        sys.exit(2 if exc.http_status < 500 else 1)
    except ValueError as exc:
        # Settings validation and similar configuration problems.
        err_console.print(f"[bold red]{_('Error')}:[/] {exc}", highlight=False)
        sys.exit(2)
