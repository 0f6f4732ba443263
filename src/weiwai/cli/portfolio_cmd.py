"""`weiwai portfolio …`: the portfolio summary, one account, and finding debtors.

Each command is one transaction. Revealing personal data needs --reason and is audited
with the actor "cli:<login name>".
"""

from __future__ import annotations

import getpass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from weiwai.i18n import _, format_money, format_number

app = typer.Typer(help="Read the portfolio: summary, accounts, debtors.", no_args_is_help=True)
console = Console()

AsOfOption = Annotated[
    datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], help="Date (YYYY-MM-DD); default today.")
]


class Breakdown(StrEnum):
    bucket = "bucket"
    grade = "grade"
    region = "region"
    all = "all"


def cli_actor() -> str:
    """How the person at the terminal is named in the audit log."""
    try:
        login = getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment (some containers)
        login = "unknown"
    return f"cli:{login}"


def _as_of(value: datetime | None) -> date:
    from weiwai.portfolio.service import today

    return value.date() if value else today()


@app.command("summary")
def summary(
    as_of: AsOfOption = None,
    by: Annotated[Breakdown, typer.Option("--by", help="Which breakdown to show.")] = Breakdown.all,
) -> None:
    """Counts and balances of the open book by bucket, credit grade and region."""
    from weiwai.db import session_scope
    from weiwai.reports.portfolio_summary import portfolio_summary

    day = _as_of(as_of)
    with session_scope() as session:
        report = portfolio_summary(session=session, as_of=day)
    breakdowns = {
        Breakdown.bucket: (_("By delinquency bucket"), _("Bucket"), report.by_bucket),
        Breakdown.grade: (_("By credit grade"), _("Credit grade"), report.by_grade),
        Breakdown.region: (_("By region"), _("Region"), report.by_region),
    }
    chosen = list(breakdowns) if by == Breakdown.all else [Breakdown(by)]
    console.print(
        _("Portfolio as of {day}: {accounts} open accounts, {outstanding} outstanding").format(
            day=day.isoformat(),
            accounts=format_number(report.totals.accounts),
            outstanding=format_money(report.totals.total_outstanding),
        ),
        highlight=False,
    )
    for key in chosen:
        title, header, lines = breakdowns[key]
        console.print(_summary_table(title, header, lines, report.totals))


def _summary_table(title: str, header: str, lines, totals) -> Table:
    table = Table(title=title, title_justify="left", show_footer=True)
    table.add_column(header, footer=_("Total"))
    table.add_column(_("Accounts"), justify="right", footer=format_number(totals.accounts))
    table.add_column(_("Outstanding"), justify="right", footer=format_money(totals.total_outstanding))
    table.add_column(_("Principal"), justify="right", footer=format_money(totals.principal_outstanding))
    for line in lines:
        table.add_row(
            line.key,
            format_number(line.accounts),
            format_money(line.total_outstanding),
            format_money(line.principal_outstanding),
        )
    return table


@app.command("account")
def account(
    account_no: Annotated[str, typer.Argument(help="Account number.")],
    as_of: AsOfOption = None,
    reveal: Annotated[bool, typer.Option("--reveal", help="Show personal data unmasked (audited).")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why you reveal (required with --reveal).")] = None,
) -> None:
    """One account: balances, days past due and bucket, and its debtor (masked unless --reveal)."""
    from weiwai.db import session_scope
    from weiwai.portfolio import service

    day = _as_of(as_of)
    with session_scope() as session:
        read = service.get_account(session=session, account_no=account_no, as_of=day)
        debtor = service.get_debtor(
            session=session, debtor_id=read.debtor_id, reveal=reveal, actor=cli_actor(), reason=reason
        )
    table = Table(title=_("Account {account_no}").format(account_no=read.account_no), title_justify="left",
                  show_header=False)
    table.add_column(style="dim")
    table.add_column()

    def money(amount) -> str:
        return format_money(amount, read.currency)

    for name, value in (
        (_("Status"), read.status.value),
        (_("Product"), read.product),
        (_("As of"), read.as_of.isoformat()),
        (_("Days past due"), str(read.days_past_due)),
        (_("Bucket"), read.bucket),
        (_("Oldest unpaid due date"), read.due_date.isoformat() if read.due_date else "—"),
        (_("Principal"), money(read.principal_outstanding)),
        (_("Interest"), money(read.interest_outstanding)),
        (_("Fees"), money(read.fee_outstanding)),
        (_("Penalty interest"), money(read.penalty_outstanding)),
        (_("Total outstanding"), money(read.total_outstanding)),
        (_("Debtor"), f"{debtor.name} (#{debtor.id})"),
        (_("National ID"), debtor.national_id),
        (_("Address"), debtor.address or "—"),
        (_("Region"), debtor.region),
        (_("Credit grade"), debtor.credit_grade),
        (_("Phones"), ", ".join(phone.number for phone in debtor.phones) or "—"),
        (_("Contacts"), ", ".join(f"{c.name} ({c.relation}) {c.phone}" for c in debtor.contacts) or "—"),
    ):
        table.add_row(name, value)
    console.print(table)
    if debtor.revealed:
        console.print(_("Personal data revealed; this was recorded in the audit log."), style="yellow")


@app.command("find")
def find(
    national_id: Annotated[str | None, typer.Option("--national-id", help="Exact national ID.")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="Exact mobile number (own or a contact's).")] = None,
) -> None:
    """Find debtors by national ID or phone number (exact match on the blind index)."""
    from weiwai.db import session_scope
    from weiwai.portfolio import service

    if (national_id is None) == (phone is None):
        raise typer.BadParameter(_("give exactly one of --national-id or --phone"))
    with session_scope() as session:
        if national_id is not None:
            found = service.find_debtor_by_national_id(session=session, national_id=national_id)
            debtors = [found] if found else []
        else:
            debtors = service.find_debtors_by_phone(session=session, phone=phone)
    if not debtors:
        console.print(_("No debtor found."))
        return
    table = Table(title=_("Debtors"), title_justify="left")
    for header in (_("ID"), _("Name"), _("National ID"), _("Region"), _("Phones"), _("Accounts")):
        table.add_column(header)
    for debtor in debtors:
        table.add_row(
            str(debtor.id),
            debtor.name,
            debtor.national_id,
            debtor.region,
            ", ".join(phone.number for phone in debtor.phones),
            ", ".join(debtor.account_nos),
        )
    console.print(table)
