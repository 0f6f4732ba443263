"""`weiwai numbers …`: a case's debtor with number references, and resolving a reference.

Both act as the lender: `show` applies the lender's default masking (names in full,
national ID, numbers and address masked) and is recorded as a view; `resolve` prints the
whole number behind a reference of an open case, needs --reason, and is recorded with the
actor "cli:<login name>".
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from weiwai.cli.portfolio_cmd import cli_actor
from weiwai.i18n import _

app = typer.Typer(help="Masked numbers: a case's debtor with number references, and resolving one.",
                  no_args_is_help=True)
console = Console()
notes = Console(stderr=True)  # so that `$(weiwai numbers resolve …)` is the number alone


def _lender():
    from weiwai.collection.service import acting_as

    return acting_as(None)


@app.command("show")
def show(case_no: Annotated[str, typer.Argument(help="Case number.")]) -> None:
    """The case's debtor as the lender's default policy shows it, each number with its reference."""
    from weiwai.db import session_scope
    from weiwai.portfolio.number_refs import case_debtor

    with session_scope() as session:
        view = case_debtor(session=session, principal=_lender(), case_no=case_no, actor=cli_actor())
    table = Table(title=_("Debtor of case {case}").format(case=view.case_no), title_justify="left", show_header=False)
    table.add_column(style="dim")
    table.add_column()
    for label, value in (
        (_("Name"), view.name),
        (_("National ID"), view.national_id),
        (_("Address"), view.address),
        (_("Region"), view.region),
    ):
        table.add_row(label, value or "—")
    console.print(table)
    numbers = Table(title=_("Numbers"), title_justify="left")
    for header in (_("Reference"), _("Party"), _("Name"), _("Relation"), _("Number")):
        numbers.add_column(header)
    for item in [*view.phones, *view.contacts]:
        party = _("debtor (primary)") if item.is_primary else (_("debtor") if item.party == "debtor" else _("contact"))
        numbers.add_row(item.number_ref, party, item.name or "—", item.relation or "—",
                        item.number or item.display or "—")
    console.print(numbers)


@app.command("resolve")
def resolve(
    number_ref: Annotated[str, typer.Argument(help="The number reference (NR…).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the number is needed (recorded).")],
) -> None:
    """Print the whole number behind a reference of an open case (recorded in the audit log)."""
    from weiwai.db import session_scope
    from weiwai.portfolio.number_refs import resolve_ref

    with session_scope() as session:
        resolved = resolve_ref(session=session, principal=_lender(), number_ref=number_ref.strip(), purpose=reason,
                               actor=cli_actor())
    console.print(resolved.number, highlight=False)
    notes.print(_("Number of case {case} ({party}) resolved; this was recorded in the audit log.").format(
        case=resolved.case_no, party=resolved.party), style="yellow")
