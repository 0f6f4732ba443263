"""`weiwai screen …`: preview who may be placed, explain one account, save rule sets.

    weiwai screen --rules rules.yaml [--as-of 2024-03-01] [--explain ACCOUNT_NO] [--json]
    weiwai screen save --rules rules.yaml --name standard-m2
    weiwai screen list
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from weiwai.i18n import _
from weiwai.placements.render import DATE_FORMATS, console, day_or_today, default_actor

app = typer.Typer(help="Screening (确定催收对象): which accounts may be placed, and why not.")

RULES_HELP = "Screening rules, YAML or JSON (see docs/examples/screening-rules.yaml)."


@app.callback(invoke_without_command=True)
def preview(
    ctx: typer.Context,
    rules: Path | None = typer.Option(None, "--rules", help=RULES_HELP),
    as_of: datetime | None = typer.Option(None, "--as-of", formats=DATE_FORMATS, help="Day to screen on (default today)."),
    explain: str | None = typer.Option(None, "--explain", help="Explain one account: every criterion it passes or fails."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Preview counts and balances by bucket, grade and region, and why accounts are excluded. Writes nothing."""
    if ctx.invoked_subcommand is not None:
        return
    if rules is None:
        console().print(ctx.get_help())
        raise typer.Exit(2)
    from weiwai.db import session_scope
    from weiwai.placements.render import print_explanation, print_screening
    from weiwai.placements.rules_file import load_model
    from weiwai.placements.screening import ScreeningRules
    from weiwai.placements.screening_service import explain_account, preview_screening

    parsed = load_model(ScreeningRules, rules)
    day = day_or_today(as_of)
    with session_scope() as session:
        if explain:
            result = explain_account(session=session, rules=parsed, account_no=explain, as_of=day)
        else:
            result = preview_screening(session=session, rules=parsed, as_of=day)
        # Screening only reads; nothing is left to commit.
        session.rollback()
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    elif explain:
        print_explanation(console(), result)
    else:
        print_screening(console(), result)


@app.command("save")
def save(
    rules: Path = typer.Option(..., "--rules", help=RULES_HELP),
    name: str = typer.Option(..., "--name", help="Name of the rule set; saving changed rules makes a new version."),
    actor: str | None = typer.Option(None, help="Who is acting (default: cli:<login name>)."),
) -> None:
    """Save the rules as a new version of NAME (identical rules return the existing version)."""
    from weiwai.db import session_scope
    from weiwai.placements.rules_file import load_model
    from weiwai.placements.screening import ScreeningRules
    from weiwai.placements.screening_service import save_rule_set

    parsed = load_model(ScreeningRules, rules)
    with session_scope() as session:
        rule_set, created = save_rule_set(session=session, rules=parsed, name=name, actor=actor or default_actor())
        message = _("Saved {name} version {version}") if created else _("Unchanged: {name} version {version}")
        console().print(message.format(name=rule_set.name, version=rule_set.version) + f"  sha256 {rule_set.sha256}")


@app.command("list")
def list_rule_sets() -> None:
    """Every saved rule set version."""
    from rich.table import Table

    from weiwai.db import session_scope
    from weiwai.placements.screening_service import list_rule_sets as service_list

    table = Table(_("name"), _("version"), _("sha256"), _("saved by"), _("saved at"))
    with session_scope() as session:
        for rule_set in service_list(session=session):
            table.add_row(rule_set.name, str(rule_set.version), rule_set.sha256[:12], rule_set.created_by,
                          f"{rule_set.created_at:%Y-%m-%d %H:%M}")
    console().print(table)


@app.command("show")
def show(
    name: str = typer.Argument(..., help="Rule set name, optionally NAME@VERSION."),
) -> None:
    """Print a saved rule set as JSON."""
    import json

    from weiwai.db import session_scope
    from weiwai.placements.screening_service import get_rule_set

    base, version = split_rule_set_ref(name)
    with session_scope() as session:
        rule_set = get_rule_set(session=session, name=base, version=version)
        typer.echo(json.dumps({"name": rule_set.name, "version": rule_set.version, "sha256": rule_set.sha256,
                               "rules": rule_set.rules}, ensure_ascii=False, indent=2))


def split_rule_set_ref(ref: str) -> tuple[str, int | None]:
    """NAME or NAME@VERSION."""
    base, _sep, version = ref.partition("@")
    if version and not version.isdigit():
        raise typer.BadParameter(_("the version after @ must be a number"))
    return base, int(version) if version else None
