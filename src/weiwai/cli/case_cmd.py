"""`weiwai case …`: one case's details, and what happens to cases after placement.

    weiwai case show C20240301-1-000001
    weiwai case recall C20240301-1-000001 … --reason "debtor complaint"
    weiwai case recall --agency HZ-ANXIN --reason "contract suspended"
    weiwai case recall --batch B20240301-1 --reason "strategy change"
    weiwai case extend C20240301-1-000001 --days 30 --reason "promise pending"
    weiwai case return C20240301-1-000001 --reason "debtor unreachable"
    weiwai case reassign C20240301-1-000001 … --agency SZ-XINDA --reason "second placement"
"""

from __future__ import annotations

from datetime import datetime

import typer

from weiwai.i18n import _
from weiwai.placements.render import DATE_FORMATS, console, default_actor, print_outcome

app = typer.Typer(help="Cases (案件): recall, extend, return, reassign.", no_args_is_help=True)

REASON = typer.Option(..., "--reason", help="Why; kept in the case history.")
ACTOR = typer.Option(None, help="Who is acting (default: cli:<login name>).")


@app.command("show")
def show(case_no: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """A case with its status history."""
    from weiwai.db import session_scope
    from weiwai.placements.cases import case_read, get_case
    from weiwai.placements.render import print_case

    with session_scope() as session:
        read = case_read(session=session, case=get_case(session=session, case_no=case_no))
    if as_json:
        typer.echo(read.model_dump_json(indent=2))
    else:
        print_case(console(), read)


@app.command("recall")
def recall(
    case_nos: list[str] | None = typer.Argument(None, help="Case numbers (or use --agency / --batch)."),
    agency: str | None = typer.Option(None, "--agency", help="Every open case of this agency."),
    batch: str | None = typer.Option(None, "--batch", help="Every open case of this batch."),
    reason: str = REASON,
    actor: str | None = ACTOR,
) -> None:
    """Take open cases back from their agency (撤案): recalled, then closed."""
    from weiwai.db import session_scope
    from weiwai.placements.cases import recall_cases

    with session_scope() as session:
        outcome = recall_cases(session=session, reason=reason, actor=actor or default_actor(),
                               case_nos=case_nos or None, agency=agency, batch=batch)
    print_outcome(console(), _("Recalled"), outcome)


@app.command("extend")
def extend(
    case_no: str = typer.Argument(...),
    days: int = typer.Option(..., "--days", min=1, max=365, help="Days to add to the placement period."),
    reason: str = REASON,
    actor: str | None = ACTOR,
) -> None:
    """Keep an open case with its agency longer (留案)."""
    from weiwai.db import session_scope
    from weiwai.placements.cases import extend_case

    with session_scope() as session:
        case = extend_case(session=session, case_no=case_no, days=days, reason=reason, actor=actor or default_actor())
        console().print(_("Case {case_no} now ends on {day} (extended {count} time(s))").format(
            case_no=case.case_no, day=case.period_ends_on.isoformat(), count=case.extended_count))


@app.command("return")
def return_(case_no: str = typer.Argument(...), reason: str = REASON, actor: str | None = ACTOR) -> None:
    """Record that the agency gave an open case back (退案): returned, then closed."""
    from weiwai.db import session_scope
    from weiwai.placements.cases import return_case

    with session_scope() as session:
        outcome = return_case(session=session, case_no=case_no, reason=reason, actor=actor or default_actor())
    print_outcome(console(), _("Returned"), outcome)


@app.command("reassign")
def reassign(
    case_nos: list[str] = typer.Argument(..., help="Returned, recalled or expired cases."),
    agency: str = typer.Option(..., "--agency", help="The agency to place them with."),
    reason: str = REASON,
    as_of: datetime | None = typer.Option(None, "--as-of", formats=DATE_FORMATS, help="Placement day (default today)."),
    actor: str | None = ACTOR,
) -> None:
    """Place ended cases again with another agency, as new cases in a new batch."""
    from weiwai.db import session_scope
    from weiwai.placements.cases import reassign_cases

    with session_scope() as session:
        outcome = reassign_cases(session=session, case_nos=case_nos, agency=agency, reason=reason,
                                 actor=actor or default_actor(), as_of=as_of.date() if as_of else None)
    print_outcome(console(), _("Reassigned"), outcome)
