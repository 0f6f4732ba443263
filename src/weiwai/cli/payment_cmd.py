"""`weiwai payment …`: attribute payments to agencies, reverse bounced ones, look one up.

Each command is one transaction (weiwai.db.session_scope); domain errors are shown by
weiwai.cli.main as one line with a non-zero exit.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from weiwai.i18n import _

app = typer.Typer(help="Payments: attribution to agencies, reversals of bounced payments.", no_args_is_help=True)

ACTOR_HELP = "Who is acting, for history and audit (default: cli:<login name>)."


def console() -> Console:
    return Console(highlight=False)


def default_actor() -> str:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment (containers)
        login = "unknown"
    return f"cli:{login}"


def parse_moment(text: str) -> datetime:
    """'YYYY-MM-DD HH:MM[:SS]' in the lender's time zone, or ISO 8601 with an offset."""
    from weiwai.errors import RuleViolation
    from weiwai.settlement.periods import lender_tz

    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RuleViolation(
            _("not a date-time: {value} (use YYYY-MM-DD HH:MM, in the lender's time zone)").format(value=text)
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=lender_tz())
    return moment.astimezone(UTC)


def local_text(moment: datetime | None) -> str:
    from weiwai.settlement.periods import lender_tz

    return moment.astimezone(lender_tz()).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


@app.command("attribute")
def attribute() -> None:
    """Attribute every posted payment not yet attributed (case, grace or direct)."""
    from weiwai.db import session_scope
    from weiwai.payments.service import attribute_payments

    with session_scope() as session:
        summary = attribute_payments(session=session)
    console().print(
        _("{count} payment(s) attributed: {case} to open cases, {grace} in grace days, {direct} direct; "
          "{paid} case(s) paid in full").format(
            count=summary.attributed, case=summary.by_kind["case"], grace=summary.by_kind["grace"],
            direct=summary.by_kind["direct"], paid=len(summary.cases_paid),
        )
    )


@app.command("reverse")
def reverse(
    txn_id: str = typer.Argument(..., help="Transaction id of the payment."),
    reason: str = typer.Option(..., "--reason", help="Why it is reversed (e.g. bounced, 退票)."),
    at: str | None = typer.Option(None, "--at", help="When it was reversed: YYYY-MM-DD HH:MM (default now)."),
    reference: str | None = typer.Option(None, help="The bank's reference of the reversal."),
    actor: str | None = typer.Option(None, help=ACTOR_HELP),
) -> None:
    """Reverse one payment: balances restored, attribution undone, commission clawed back."""
    from weiwai.db import session_scope
    from weiwai.payments.service import reverse_payment

    moment = parse_moment(at) if at else None
    with session_scope() as session:
        reversal = reverse_payment(session=session, txn_id=txn_id, reason=reason, actor=actor or default_actor(),
                                   at=moment, reference=reference)
        when = local_text(reversal.reversed_at)
    console().print(_("payment {txn} reversed at {when}").format(txn=txn_id, when=when))


@app.command("reverse-file")
def reverse_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX: txn_id, reversed_at, reason."),
    actor: str | None = typer.Option(None, help=ACTOR_HELP),
) -> None:
    """Reverse every payment in the bank's file, or none if any row is wrong; re-running is harmless."""
    from weiwai.db import session_scope
    from weiwai.payments.reversal_file import reverse_file as reverse_all

    with session_scope() as session:
        result = reverse_all(session=session, path=file, actor=actor or default_actor())
    console().print(
        _("{file}: {rows} row(s), {reversed} reversed, {already} already reversed").format(
            file=result.file, rows=result.rows, reversed=result.reversed, already=result.already_reversed
        )
    )


@app.command("show")
def show(txn_id: str = typer.Argument(..., help="Transaction id of the payment.")) -> None:
    """One payment: how it was applied, whose it is, any reversal and what it earned."""
    from weiwai.db import session_scope
    from weiwai.payments.queries import payment_detail

    with session_scope() as session:
        detail = payment_detail(session=session, txn_id=txn_id)
    out = console()
    table = Table(show_header=False)
    table.add_row(_("Transaction"), detail.txn_id)
    table.add_row(_("Account"), detail.account_no)
    table.add_row(_("Amount"), str(detail.amount))
    table.add_row(_("Paid at"), local_text(detail.paid_at))
    table.add_row(_("Status"), str(detail.status))
    applied = detail.applied
    table.add_row(_("Applied"), _("fee {fee}, penalty {penalty}, interest {interest}, principal {principal}, "
                                  "credit {credit}").format(**applied.model_dump()))
    if detail.attribution is None:
        table.add_row(_("Attribution"), _("not attributed yet"))
    else:
        a = detail.attribution
        whose = " ".join(part for part in (str(a.kind), a.agency_code or "", a.case_no or "") if part)
        table.add_row(_("Attribution"), whose)
        table.add_row(_("Recovered"), str(a.amount))
    if detail.reversal is not None:
        r = detail.reversal
        table.add_row(_("Reversed"), f"{local_text(r.reversed_at)} — {r.reason} ({r.recorded_by})")
    for line in detail.commission:
        table.add_row(_("Ledger"), f"{line.kind} {line.period} {line.amount} {line.statement_no or ''}".rstrip())
    out.print(table)
