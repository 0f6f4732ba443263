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


# (module, command name). Each module defines a Typer sub-app `app`, in the order of
# the process: set-up, portfolio, agencies, the cycle, money, evaluation, operations.
SUB_APPS = (
    ("weiwai.cli.db_cmd", "db"),
    ("weiwai.cli.config_cmd", "config"),
    ("weiwai.cli.user_cmd", "user"),
    ("weiwai.cli.token_cmd", "tokens"),
    ("weiwai.cli.import_cmd", "import"),
    ("weiwai.cli.portfolio_cmd", "portfolio"),
    ("weiwai.cli.agency_cmd", "agency"),
    ("weiwai.cli.contract_cmd", "contract"),
    ("weiwai.cli.screen_cmd", "screen"),
    ("weiwai.cli.placement_cmd", "place"),
    ("weiwai.cli.case_cmd", "case"),
    ("weiwai.cli.handover_cmd", "handover"),
    ("weiwai.cli.action_cmd", "action"),
    ("weiwai.cli.queue_cmd", "queue"),
    ("weiwai.cli.payment_cmd", "payment"),
    ("weiwai.cli.statement_cmd", "statement"),
    ("weiwai.cli.evaluate_cmd", "evaluate"),
    ("weiwai.cli.complaint_cmd", "complaint"),
    ("weiwai.cli.review_cmd", "review"),
    ("weiwai.cli.template_cmd", "template"),
    ("weiwai.cli.jobs_cmd", "jobs"),
    ("weiwai.cli.compliance_cmd", "compliance"),
    ("weiwai.cli.keys_cmd", "keys"),
    ("weiwai.cli.audit_cmd", "audit"),
    ("weiwai.cli.numbers_cmd", "numbers"),
    ("weiwai.cli.entrustment_cmd", "entrustment"),
    ("weiwai.cli.deletion_cmd", "deletion"),
    ("weiwai.cli.leaks_cmd", "leaks"),
    ("weiwai.cli.infosec_cmd", "infosec"),
)
_registered = False


def _register() -> None:
    """Attach every sub-app (once). Imported lazily so that `weiwai --help` stays fast."""
    global _registered
    if _registered:
        return
    import importlib

    from weiwai.cli import demo_cmd, serve_cmd

    for module_name, name in SUB_APPS:
        app.add_typer(importlib.import_module(module_name).app, name=name)
    app.command("serve")(serve_cmd.serve)
    app.command("demo")(demo_cmd.demo)
    _registered = True


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
