"""`weiwai statement …`: month-end commission, and the monthly statements per agency.

Each command is one transaction (weiwai.db.session_scope).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from weiwai.cli.payment_cmd import ACTOR_HELP, console, default_actor, local_text
from weiwai.i18n import _

app = typer.Typer(help="Commission: month end, and the statements sent to agencies.", no_args_is_help=True)


def _agency_id(session, code: str | None) -> int | None:
    from sqlalchemy import select

    from weiwai.agencies.models import Agency
    from weiwai.errors import NotFound

    if code is None:
        return None
    agency_id = session.scalar(select(Agency.id).where(Agency.code == code.strip().upper()))
    if agency_id is None:
        raise NotFound(_("no agency {ref}").format(ref=code))
    return agency_id


@app.command("run")
def run(period: str = typer.Option(..., "--period", help="The month, YYYY-MM.")) -> None:
    """Compute the month's commission and draft a statement for every agency; safe to re-run."""
    from weiwai.db import session_scope
    from weiwai.settlement.service import run_period

    with session_scope() as session:
        result = run_period(session=session, period=period)
        commission = result.commission
        drafted = [(s.statement_no, s.total, s.entry_count) for s in result.statements]
    out = console()
    out.print(
        _("{period}: {entries} commission entries ({amount}), {fees} fixed fees ({fee_amount}) added").format(
            period=commission.period, entries=commission.commission_entries, amount=commission.commission_amount,
            fees=commission.fixed_fee_entries, fee_amount=commission.fixed_fee_amount,
        )
    )
    for number, total, count in drafted:
        out.print(_("draft {no}: {count} line(s), total {total}").format(no=number, count=count, total=total))


@app.command("issue")
def issue(
    statement_no: str = typer.Argument(..., help="Statement number (or id)."),
    out: Path = typer.Option(..., "--out", file_okay=False, help="Directory to write the XLSX into."),
    actor: str | None = typer.Option(None, help=ACTOR_HELP),
) -> None:
    """Issue a draft: write its XLSX, keep its SHA-256; it can never change afterwards."""
    from weiwai.db import session_scope
    from weiwai.settlement.statements import get_statement, issue_statement

    with session_scope() as session:
        statement = get_statement(session=session, ref=statement_no)
        issued = issue_statement(session=session, statement_id=statement.id, actor=actor or default_actor(),
                                 out_dir=out)
        digest, total = issued.statement.document_sha256, issued.statement.total
    console().print(_("{no} issued: total {total}, {path} (SHA-256 {sha})").format(
        no=statement_no, total=total, path=issued.path, sha=digest))


@app.command("list")
def list_(
    period: str | None = typer.Option(None, help="Only this month, YYYY-MM."),
    agency: str | None = typer.Option(None, help="Only this agency (code)."),
    status: str | None = typer.Option(None, help="draft or issued."),
) -> None:
    """Statements, newest month first."""
    from weiwai.db import session_scope
    from weiwai.settlement.models import StatementStatus
    from weiwai.settlement.service import list_statements

    with session_scope() as session:
        items, total = list_statements(
            session=session, agency_id=_agency_id(session, agency), period=period,
            status=StatementStatus(status) if status else None, limit=1000,
        )
        table = Table(_("Statement"), _("Period"), _("Status"), _("Lines"), _("Commission"), _("Fixed fees"),
                      _("Clawbacks"), _("Total"), _("Issued at"))
        for s in items:
            table.add_row(s.statement_no, s.period, str(s.status), str(s.entry_count), str(s.commission),
                          str(s.fixed_fees), str(s.clawbacks), str(s.total), local_text(s.issued_at))
    out = console()
    out.print(table)
    out.print(_("{count} statement(s)").format(count=total))


@app.command("show")
def show(statement_no: str = typer.Argument(..., help="Statement number (or id).")) -> None:
    """One statement: its totals, and for an issued one who issued it and the document hash."""
    from weiwai.agencies.models import Agency
    from weiwai.db import session_scope
    from weiwai.settlement.statements import get_statement

    with session_scope() as session:
        s = get_statement(session=session, ref=statement_no)
        agency = session.get(Agency, s.agency_id)
        table = Table(show_header=False)
        rows = [
            (_("Statement"), s.statement_no), (_("Agency"), f"{agency.code} {agency.legal_name}"),
            (_("Period"), s.period), (_("Status"), str(s.status)), (_("Net recovered"), str(s.recovered)),
            (_("Commission"), str(s.commission)), (_("Fixed fees"), str(s.fixed_fees)),
            (_("Clawbacks"), str(s.clawbacks)), (_("Total"), str(s.total)), (_("Lines"), str(s.entry_count)),
            (_("Issued at"), local_text(s.issued_at)), (_("Issued by"), s.issued_by or "—"),
            (_("SHA-256"), s.document_sha256 or "—"),
        ]
        for label, value in rows:
            table.add_row(label, value)
    console().print(table)
