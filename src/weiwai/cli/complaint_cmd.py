"""`weiwai complaint …`: complaints, placement blocks and lender notices.

    weiwai complaint record --source regulator --case C20240301-1-000017 --category harassment \\
        --summary "called the debtor's employer" --severity severe --hold
    weiwai complaint list --overdue
    weiwai complaint show CP20240305-0001
    weiwai complaint move CP20240305-0001 --to investigating --note "recordings requested"
    weiwai complaint move CP20240305-0001 --to resolved --outcome "upheld; collector retrained"
    weiwai complaint blocks
    weiwai complaint block HZ-ANXIN --reason "audit findings"
    weiwai complaint lift 3 --reason "remediation plan accepted"
    weiwai complaint notices
    weiwai complaint ack 12
    weiwai complaint check-thresholds
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from weiwai.i18n import _
from weiwai.placements.render import console, default_actor

app = typer.Typer(help="Complaints (投诉), placement blocks and notices.", no_args_is_help=True)

ACTOR = typer.Option(None, help="Who is acting (default: cli:<login name>).")


def _received(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise typer.BadParameter(_("give the time with its offset, e.g. 2024-03-05T10:15:00+08:00"))
    return moment


def _print_complaints(rows) -> None:
    from rich.table import Table

    table = Table(_("Complaint"), _("Source"), _("Status"), _("Severity"), _("Case"), _("Agency"), _("Respond by"),
                  _("Overdue"), _("Category"))
    for row in rows:
        table.add_row(row.complaint_no, row.source, row.status, row.severity, row.case_no or "-",
                      row.agency_code or "-", row.respond_by.isoformat() if row.respond_by else "-",
                      "!" if row.overdue else "", row.category)
    console().print(table)


@app.command("record")
def record(
    source: str = typer.Option(..., "--source", help="debtor, lender or regulator."),
    case_no: str | None = typer.Option(None, "--case", help="The case complained about (links agency, collector)."),
    account_no: str | None = typer.Option(None, "--account", help="The account, when no case is named."),
    category: str = typer.Option(..., "--category"),
    summary: str = typer.Option(..., "--summary"),
    severity: str = typer.Option("medium", "--severity", help="low, medium, high or severe."),
    received_at: str | None = typer.Option(None, "--received-at", help="ISO time with offset (default: now)."),
    hold: bool = typer.Option(False, "--hold", help="Hold contact with the debtor while it is open."),
    actor: str | None = ACTOR,
) -> None:
    """Record a complaint; its agency's thresholds are checked at once."""
    from weiwai.compliance.complaint_schemas import ComplaintCreate
    from weiwai.compliance.complaints import record_complaint
    from weiwai.db import session_scope

    data = ComplaintCreate(source=source, case_no=case_no, account_no=account_no, category=category, summary=summary,
                           severity=severity, received_at=_received(received_at), holds_contact=hold)
    with session_scope() as session:
        complaint = record_complaint(session=session, data=data, actor=actor or default_actor())
        number, due = complaint.complaint_no, complaint.respond_by
    console().print(_("Complaint {ref} recorded; respond by {day}").format(ref=number, day=due.isoformat()))


@app.command("list")
def list_(
    overdue: bool = typer.Option(False, "--overdue", help="Only open complaints past their respond-by day."),
    status: list[str] | None = typer.Option(None, "--status"),
    agency: str | None = typer.Option(None, "--agency", help="Agency code."),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000),
) -> None:
    """Complaints, newest received first."""
    from sqlalchemy import select

    from weiwai.agencies.models import Agency
    from weiwai.compliance.complaints import complaint_reads, search_complaints
    from weiwai.compliance.models import ComplaintStatus
    from weiwai.db import session_scope
    from weiwai.errors import NotFound

    with session_scope() as session:
        agency_id = None
        if agency:
            agency_id = session.scalar(select(Agency.id).where(Agency.code == agency.strip().upper()))
            if agency_id is None:
                raise NotFound(_("no agency {ref}").format(ref=agency))
        rows, total = search_complaints(session=session, status=[ComplaintStatus(s) for s in status or []] or None,
                                        agency_id=agency_id, overdue=True if overdue else None, limit=limit)
        reads = complaint_reads(session=session, complaints=rows, staff_names=True)
    _print_complaints(reads)
    console().print(_("{count} complaint(s)").format(count=total))


@app.command("show")
def show(complaint_no: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """One complaint with its events."""
    from weiwai.compliance.complaints import complaint_reads, get_complaint
    from weiwai.db import session_scope

    with session_scope() as session:
        complaint = get_complaint(session=session, complaint_no=complaint_no)
        read = complaint_reads(session=session, complaints=[complaint], staff_names=True, events=True)[0]
    if as_json:
        typer.echo(read.model_dump_json(indent=2))
        return
    _print_complaints([read])
    out = console()
    out.print(read.summary)
    for event in read.events or []:
        out.print(f"{event.changed_at:%Y-%m-%d %H:%M} {event.from_status or '-'} → {event.to_status} "
                  f"{event.changed_by}: {event.note or ''}")


@app.command("move")
def move(
    complaint_no: str = typer.Argument(...),
    to: str = typer.Option(..., "--to", help="investigating, resolved, rejected or open (reopen)."),
    note: str | None = typer.Option(None, "--note"),
    outcome: str | None = typer.Option(None, "--outcome", help="Needed to resolve or reject."),
    hold: bool | None = typer.Option(None, "--hold/--no-hold", help="Hold contact during the investigation."),
    actor: str | None = ACTOR,
) -> None:
    """Move a complaint along its lifecycle."""
    from weiwai.compliance.complaint_schemas import ComplaintTransition
    from weiwai.compliance.complaints import get_complaint, transition_complaint
    from weiwai.db import session_scope

    data = ComplaintTransition(to=to, note=note, outcome=outcome, hold_contact=hold)
    with session_scope() as session:
        complaint = get_complaint(session=session, complaint_no=complaint_no, lock=True)
        transition_complaint(session=session, complaint=complaint, data=data, actor=actor or default_actor())
        number, status = complaint.complaint_no, complaint.status
    console().print(_("Complaint {ref} is now {status}").format(ref=number, status=status))


@app.command("blocks")
def blocks(all_: bool = typer.Option(False, "--all", help="Lifted blocks too.")) -> None:
    """Placement blocks (live ones unless --all)."""
    from rich.table import Table
    from sqlalchemy import select

    from weiwai.agencies.models import Agency
    from weiwai.compliance.thresholds import block_label, list_blocks
    from weiwai.db import session_scope

    with session_scope() as session:
        rows, _total = list_blocks(session=session, live=None if all_ else True, limit=10_000)
        codes = dict(session.execute(select(Agency.id, Agency.code)).all())
        table = Table(_("Block"), _("Agency"), _("Reason"), _("Since"), _("Lifted"))
        for block in rows:
            table.add_row(str(block.id), codes.get(block.agency_id, "?"), block_label(block.reason),
                          f"{block.created_at:%Y-%m-%d}", f"{block.lifted_at:%Y-%m-%d}" if block.lifted_at else "")
    console().print(table)


@app.command("block")
def block(agency: str = typer.Argument(..., help="Agency code."), reason: str = typer.Option(..., "--reason"),
          actor: str | None = ACTOR) -> None:
    """Stop new placements to an agency by hand."""
    from sqlalchemy import select

    from weiwai.agencies.models import Agency
    from weiwai.compliance.thresholds import block_agency
    from weiwai.db import session_scope
    from weiwai.errors import NotFound

    with session_scope() as session:
        agency_id = session.scalar(select(Agency.id).where(Agency.code == agency.strip().upper()))
        if agency_id is None:
            raise NotFound(_("no agency {ref}").format(ref=agency))
        made = block_agency(session=session, agency_id=agency_id, note=reason, actor=actor or default_actor())
        block_id = made.id
    console().print(_("Placements to {code} are blocked (block {ref})").format(code=agency.upper(), ref=block_id))


@app.command("lift")
def lift(block_id: int = typer.Argument(..., min=1), reason: str = typer.Option(..., "--reason"),
         actor: str | None = ACTOR) -> None:
    """Lift a placement block."""
    from weiwai.compliance.thresholds import lift_block
    from weiwai.db import session_scope

    with session_scope() as session:
        lift_block(session=session, block_id=block_id, reason=reason, actor=actor or default_actor())
    console().print(_("Block {ref} lifted").format(ref=block_id))


@app.command("notices")
def notices(all_: bool = typer.Option(False, "--all", help="Acknowledged ones too.")) -> None:
    """Notices for the lender's staff, newest first."""
    from weiwai.compliance.thresholds import list_notices
    from weiwai.db import session_scope

    with session_scope() as session:
        rows, total = list_notices(session=session, unacknowledged=None if all_ else True, limit=10_000)
        lines = [f"#{n.id} {n.created_at:%Y-%m-%d} [{n.kind}] {n.message}" + (" ✓" if n.acknowledged_at else "")
                 for n in rows]
    out = console()
    for line in lines:
        out.print(line, markup=False)
    out.print(_("{count} notice(s)").format(count=total))


@app.command("ack")
def ack(notice_id: int = typer.Argument(..., min=1), actor: str | None = ACTOR) -> None:
    """Acknowledge a notice."""
    from weiwai.compliance.thresholds import acknowledge_notice
    from weiwai.db import session_scope

    with session_scope() as session:
        acknowledge_notice(session=session, notice_id=notice_id, actor=actor or default_actor())
    console().print(_("Notice {ref} acknowledged").format(ref=notice_id))


@app.command("check-thresholds")
def check_thresholds(as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD (default today)."),
                     actor: str | None = ACTOR) -> None:
    """Check every agency against its contracts' thresholds now (the daily job does it too)."""
    from datetime import date

    from weiwai.clock import today_local
    from weiwai.compliance.thresholds import evaluate_all_thresholds
    from weiwai.db import session_scope

    day = date.fromisoformat(as_of) if as_of else today_local()
    with session_scope() as session:
        created = evaluate_all_thresholds(session=session, as_of=day, actor=actor or default_actor())
        count = len(created)
    console().print(_("{count} new placement block(s)").format(count=count))
