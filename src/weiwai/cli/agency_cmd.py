"""`weiwai agency …`: register agencies, file their admission checklist, move their status.

Each command is one transaction. Domain errors are raised and shown by weiwai.cli.main
as one line with exit code 2.
"""

from __future__ import annotations

import getpass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from weiwai.agencies.models import AdmissionItem, Agency, AgencyStatus
from weiwai.i18n import _

app = typer.Typer(help="Collection agencies: admission checklist, details, status.", no_args_is_help=True)

DATE_FORMATS = ["%Y-%m-%d"]
ACTOR_HELP = "Who is acting, for history and audit (default: cli:<login name>)."


def console() -> Console:
    # Built per command so that COLUMNS and the terminal of this invocation apply.
    return Console(highlight=False)


def default_actor() -> str:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment (containers)
        login = "unknown"
    return f"cli:{login}"


def day_of(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def show_value(value: Any) -> str:
    if value is None or value == []:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


@app.command("create")
def create(
    file: Path | None = typer.Option(
        None, "--file", "-f", help="YAML or JSON; several YAML documents make several agencies."
    ),
    code: str | None = typer.Option(None, help="Short unique code, e.g. HZ-ANXIN."),
    legal_name: str | None = typer.Option(None, help="Registered legal name."),
    uscc: str | None = typer.Option(None, help="Unified social credit code (18 characters)."),
    region: list[str] | None = typer.Option(None, "--region", help="A region served (repeat for several)."),
    capacity_cases: int | None = typer.Option(None, help="Most open cases at once."),
    capacity_balance: str | None = typer.Option(None, help="Most outstanding balance at once, e.g. 5000000.00."),
    licence_no: str | None = typer.Option(None, help="Business licence number."),
    licence_expires_on: datetime | None = typer.Option(None, formats=DATE_FORMATS, help="YYYY-MM-DD."),
    contact_person: str | None = typer.Option(None),
    contact_email: str | None = typer.Option(None),
    actor: str | None = typer.Option(None, help=ACTOR_HELP),
) -> None:
    """Register agencies (status applying) from a file and/or options; options override the file."""
    from weiwai.agencies.input_errors import load_documents, validate_documents
    from weiwai.agencies.schemas import AgencyCreate
    from weiwai.agencies.service import create_agency
    from weiwai.db import session_scope
    from weiwai.errors import RuleViolation

    options = {
        "code": code, "legal_name": legal_name, "uscc": uscc, "regions_served": region or None,
        "capacity_cases": capacity_cases, "capacity_balance": capacity_balance, "licence_no": licence_no,
        "licence_expires_on": day_of(licence_expires_on), "contact_person": contact_person,
        "contact_email": contact_email,
    }
    options = {name: value for name, value in options.items() if value is not None}
    documents = load_documents(file) if file else [{}]
    if options and len(documents) > 1:
        raise RuleViolation(_("options can only be combined with a file that describes one agency"))
    records = validate_documents(AgencyCreate, [{**doc, **options} for doc in documents],
                                 file=str(file) if file else "--options")
    out = console()
    with session_scope() as session:
        for data in records:
            agency = create_agency(session=session, data=data, actor=actor or default_actor())
            out.print(_("Registered agency {code} (id {id}), status {status}").format(
                code=agency.code, id=agency.id, status=agency.status))


@app.command("list")
def list_(
    status: AgencyStatus | None = typer.Option(None, "--status", help="Only agencies in this status."),
    region: str | None = typer.Option(None, "--region", help="Only agencies serving this region."),
    limit: int = typer.Option(200, min=1, max=200),
    offset: int = typer.Option(0, min=0),
) -> None:
    """Agencies by code."""
    from weiwai.agencies.service import list_agencies
    from weiwai.db import session_scope

    with session_scope() as session:
        page = list_agencies(session=session, status=status, region=region, offset=offset, limit=limit)
        table = Table(title=_("Agencies ({shown} of {total})").format(shown=len(page.items), total=page.total))
        table.add_column(_("Code"), no_wrap=True)
        table.add_column(_("Legal name"))
        table.add_column(_("USCC"), no_wrap=True)
        for header in (_("Status"), _("Regions"), _("Capacity (cases)"), _("Capacity (balance)"), _("Admission")):
            table.add_column(header)
        for agency in page.items:
            table.add_row(agency.code, agency.legal_name, agency.uscc, agency.status, show_value(agency.regions_served),
                          str(agency.capacity_cases), str(agency.capacity_balance), _admission_summary(agency))
        console().print(table)


def _admission_summary(agency: Agency) -> str:
    return f"{len(agency.admission_checks)}/{len(AdmissionItem)}"


@app.command("show")
def show(code: str = typer.Argument(..., help="Agency code.")) -> None:
    """Details, admission checklist, status history and contracts of one agency."""
    from weiwai.clock import today_local
    from weiwai.agencies.service import get_agency
    from weiwai.db import session_scope

    out = console()
    with session_scope() as session:
        agency = get_agency(session=session, agency=code)
        details = Table(title=f"{agency.code} · {agency.legal_name}", show_header=False)
        details.add_column(_("Field"))
        details.add_column(_("Value"))
        for label, value in (
            (_("Status"), agency.status), (_("USCC"), agency.uscc), (_("Licence"), agency.licence_no),
            (_("Licence expires"), agency.licence_expires_on), (_("Regions"), agency.regions_served),
            (_("Capacity (cases)"), agency.capacity_cases), (_("Capacity (balance)"), agency.capacity_balance),
            (_("Contact"), agency.contact_person), (_("E-mail"), agency.contact_email),
        ):
            details.add_row(label, show_value(value))
        out.print(details)

        checklist = Table(title=_("Admission checklist"))
        for header in (_("Item"), _("Done"), _("Completed on"), _("Evidence"), _("Recorded by")):
            checklist.add_column(header)
        on_file = {check.item: check for check in agency.admission_checks}
        for item in AdmissionItem:
            check = on_file.get(item.value)
            if check is None:
                checklist.add_row(item.value, "✗", "—", "—", "—")
            else:
                checklist.add_row(item.value, "✓", str(check.completed_on), check.evidence_ref, check.recorded_by)
        out.print(checklist)
        out.print(history_table(agency.status_changes))

        contracts = Table(title=_("Contracts"))
        for header in (_("Contract no."), _("Status"), _("Term"), _("Usable today")):
            contracts.add_column(header)
        today = today_local()
        for contract in agency.contracts:
            contracts.add_row(contract.contract_no, contract.status, f"{contract.starts_on} – {contract.ends_on}",
                              _("yes") if contract.is_usable(today) else _("no"))
        out.print(contracts)


def history_table(changes) -> Table:
    """Status changes, oldest first (shared with `weiwai contract show`)."""
    table = Table(title=_("Status history"))
    for header in (_("When (UTC)"), _("From"), _("To"), _("Reason"), _("By")):
        table.add_column(header)
    for change in changes:
        table.add_row(change.changed_at.strftime("%Y-%m-%d %H:%M"), change.from_status or "—", change.to_status,
                      change.reason, change.changed_by)
    return table


@app.command("check")
def check(
    code: str = typer.Argument(..., help="Agency code."),
    item: AdmissionItem = typer.Argument(..., help="Checklist item."),
    on: datetime | None = typer.Option(None, "--on", formats=DATE_FORMATS, help="Completed on (default today)."),
    evidence: str = typer.Option(..., "--evidence", help="Where the evidence is kept (document no., path)."),
    actor: str | None = typer.Option(None, help=ACTOR_HELP),
) -> None:
    """File one completed admission checklist item."""
    from weiwai.clock import today_local
    from weiwai.agencies.service import record_admission_check
    from weiwai.db import session_scope

    with session_scope() as session:
        record_admission_check(session=session, agency=code, item=item, completed_on=day_of(on) or today_local(),
                               evidence_ref=evidence, actor=actor or default_actor())
    console().print(_("Filed {item} for agency {code}").format(item=item.value, code=code.upper()))


@app.command("status")
def change_status(
    code: str = typer.Argument(..., help="Agency code."),
    new_status: AgencyStatus = typer.Argument(..., help="The status to move to."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the status history)."),
    actor: str | None = typer.Option(None, help=ACTOR_HELP),
) -> None:
    """Move an agency along applying → approved → active ⇄ suspended → terminated."""
    from weiwai.agencies.service import change_agency_status
    from weiwai.db import session_scope

    with session_scope() as session:
        agency = change_agency_status(session=session, agency=code, to=new_status, reason=reason,
                                      actor=actor or default_actor())
        message = _("Agency {code} is now {status}").format(code=agency.code, status=agency.status)
    console().print(message)
