"""`weiwai compliance …`: pre-contact checks, contact holds and compliance violations."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from weiwai.cli.action_cmd import _agency_id, default_actor, parse_moment
from weiwai.i18n import _, get_locale

app = typer.Typer(help="Contact compliance: checks before contact, holds, violations.", no_args_is_help=True)
hold_app = typer.Typer(help="Contact holds on a debtor (dispute, cease contact, …).", no_args_is_help=True)
app.add_typer(hold_app, name="hold")
console = Console()


@app.command("check")
def check(
    case: str = typer.Option(..., "--case", help="Case number."),
    channel: str = typer.Option(..., "--channel", help="phone, sms, ivr, visit, letter or email."),
    party: str = typer.Option("debtor", "--party", help="debtor, contact or third_party."),
    phone_id: int | None = typer.Option(None, "--phone-id", help="The debtor phone to use."),
    phone: str | None = typer.Option(None, "--phone", help="The number to use."),
    number_ref: str | None = typer.Option(None, "--number-ref", help="The number to use, by its reference (NR…)."),
    contact_id: int | None = typer.Option(None, "--contact-id", help="The debtor's contact to reach."),
    at: str | None = typer.Option(None, "--at", help="When (ISO; default now)."),
    reserve: bool = typer.Option(False, "--reserve", help="Take the slot if allowed."),
    agency: str | None = typer.Option(None, "--agency", help="Ask as this agency (its cases only)."),
) -> None:
    """May this contact happen? Prints allowed or denied, the rules, the reasons and the earliest time."""
    from weiwai.collection.service import acting_as
    from weiwai.compliance.checks import check_contact
    from weiwai.db import session_scope

    with session_scope() as session:
        principal = acting_as(_agency_id(session, agency))
        result = check_contact(session=session, principal=principal, case_no=case, channel=channel, party=party,
                               at=parse_moment(at) if at else None, phone_id=phone_id, phone=phone,
                               number_ref=number_ref, contact_id=contact_id, reserve=reserve)
    decision = result.decision
    console.print(f"{_('allowed') if decision.allowed else _('denied')} ({decision.pack})", highlight=False)
    chinese = get_locale() == "zh_CN"
    for denial in decision.denials:
        console.print(f"  {denial.rule_id}: {denial.reason_zh if chinese else denial.reason_en}", highlight=False)
    if decision.earliest_allowed_at is not None:
        console.print(_("earliest allowed at {at}").format(at=decision.earliest_allowed_at.isoformat()),
                      highlight=False)
    if result.reservation_token:
        console.print(_("reserved: {token} (until {at})").format(token=result.reservation_token,
                                                                 at=result.expires_at.isoformat()), highlight=False)
    if not decision.allowed:
        raise typer.Exit(code=3)


@hold_app.command("set")
def hold_set(
    debtor: int = typer.Option(..., "--debtor", help="Debtor id."),
    kind: str = typer.Option(..., "--kind", help="dispute, cease_contact, complaint, hardship, deceased, …"),
    reason: str = typer.Option(..., "--reason"),
    channel: list[str] = typer.Option([], "--channel", help="Blocked channel (repeat); none: every channel."),
    account: str | None = typer.Option(None, "--account", help="Only this account of the debtor."),
    evidence_ref: str | None = typer.Option(None, "--evidence-ref"),
    actor: str | None = typer.Option(None, "--actor"),
) -> None:
    """Put a hold on a debtor."""
    from weiwai.compliance import holds
    from weiwai.db import session_scope

    with session_scope() as session:
        hold = holds.set_hold(session=session, debtor_id=debtor, kind=kind, reason=reason,
                              actor=actor or default_actor(), channels=channel, account_no=account,
                              evidence_ref=evidence_ref)
        hold_id = hold.id
    console.print(_("Hold {id} set on debtor {debtor}").format(id=hold_id, debtor=debtor), highlight=False)


@hold_app.command("lift")
def hold_lift(
    hold_id: int = typer.Argument(..., help="Hold id."),
    reason: str = typer.Option(..., "--reason"),
    actor: str | None = typer.Option(None, "--actor"),
) -> None:
    """Lift a hold."""
    from weiwai.compliance import holds
    from weiwai.db import session_scope

    with session_scope() as session:
        holds.lift_hold(session=session, hold_id=hold_id, reason=reason, actor=actor or default_actor())
    console.print(_("Hold {id} lifted").format(id=hold_id), highlight=False)


@hold_app.command("list")
def hold_list(
    debtor: int = typer.Option(..., "--debtor", help="Debtor id."),
    all_: bool = typer.Option(False, "--all", help="Lifted holds too."),
) -> None:
    """A debtor's holds."""
    from weiwai.compliance import holds
    from weiwai.db import session_scope

    table = Table("id", _("kind"), _("channels"), _("reason"), _("set"), _("lifted"))
    with session_scope() as session:
        rows, _total = holds.list_holds(session=session, debtor_id=debtor, include_lifted=all_)
        for hold in rows:
            table.add_row(str(hold.id), hold.kind, ",".join(hold.channels) or "*", hold.reason,
                          f"{hold.set_at:%Y-%m-%d %H:%M} {hold.set_by}",
                          f"{hold.lifted_at:%Y-%m-%d %H:%M}" if hold.lifted_at else "-")
    console.print(table)


@app.command("violations")
def violations(
    agency: str | None = typer.Option(None, "--agency", help="Only this agency's."),
    rule: str | None = typer.Option(None, "--rule", help="Only this rule id (e.g. CN-01)."),
    severity: str | None = typer.Option(None, "--severity", help="low, medium, high or severe."),
    limit: int = typer.Option(50, "--limit"),
) -> None:
    """Compliance violations, newest first."""
    from weiwai.collection.service import acting_as
    from weiwai.compliance import holds
    from weiwai.db import session_scope

    table = Table("id", _("when"), _("rule"), _("severity"), _("disposition"), _("case"), _("agency"))
    with session_scope() as session:
        agency_id = _agency_id(session, agency)
        rows, total = holds.list_violations(session=session, principal=acting_as(None), agency_id=agency_id,
                                            rule_id=rule, severity=severity, limit=limit)
        for row in rows:
            table.add_row(str(row.id), f"{row.occurred_at:%Y-%m-%d %H:%M}", row.rule_id, row.severity,
                          row.disposition, str(row.case_id), str(row.agency_id or "-"))
    console.print(table)
    console.print(_("{count} violation(s)").format(count=total), highlight=False)
