"""`weiwai action …`: log collection actions one by one or from an agency's file, and read them."""

from __future__ import annotations

import getpass
from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from weiwai.i18n import _

app = typer.Typer(help="The collection log (催款实施): actions, outcomes and promises to pay.", no_args_is_help=True)
console = Console()


def default_actor() -> str:
    return f"cli:{getpass.getuser()}"


def parse_moment(text: str) -> datetime:
    """An ISO time; without an offset it is the lender's local time."""
    from weiwai.collection.days import default_time_zone, zone
    from weiwai.errors import RuleViolation

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RuleViolation(_("{value} is not a time (use e.g. 2024-03-01T10:15 or 2024-03-01T10:15+08:00)")
                            .format(value=repr(text))) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone(default_time_zone()))


@app.command("log")
def log(
    case: str = typer.Option(..., "--case", help="Case number."),
    channel: str = typer.Option(..., "--channel", help="phone, sms, ivr, visit, letter or email."),
    outcome: str = typer.Option(..., "--outcome", help="Outcome code (docs/collection.md)."),
    party: str = typer.Option("debtor", "--party", help="debtor, contact or third_party."),
    at: str | None = typer.Option(None, "--at", help="When it happened (ISO; default now)."),
    contact_id: int | None = typer.Option(None, "--contact-id", help="The debtor's contact reached."),
    relation: str | None = typer.Option(None, "--relation", help="Relation of a third party to the debtor."),
    phone_id: int | None = typer.Option(None, "--phone-id", help="The debtor phone used."),
    phone: str | None = typer.Option(None, "--phone", help="The number used (only its blind index is kept)."),
    phone_bidx: str | None = typer.Option(None, "--phone-bidx", help="Blind index of the number used."),
    number_ref: str | None = typer.Option(None, "--number-ref", help="Reference of the number used (NR…)."),
    promise_amount: str | None = typer.Option(None, "--promise-amount", help="Amount promised."),
    promise_due: str | None = typer.Option(None, "--promise-due", help="Date the promise is due (YYYY-MM-DD)."),
    notes: str | None = typer.Option(None, "--notes"),
    line_ref: str | None = typer.Option(None, "--line-ref", help="Recorded line used."),
    recording_ref: str | None = typer.Option(None, "--recording-ref", help="Recording of the call or visit."),
    credential_ref: str | None = typer.Option(None, "--credential-ref", help="Credentials shown on a visit."),
    idempotency_key: str | None = typer.Option(None, "--idempotency-key", help="Logging the same key twice logs once."),
    agency: str | None = typer.Option(None, "--agency", help="Act as this agency (its cases only)."),
    actor: str | None = typer.Option(None, "--actor", help="Who logs it (default cli:<user>)."),
) -> None:
    """Log one action on a case."""
    from weiwai.collection import service
    from weiwai.db import session_scope, utcnow

    raw = {
        "channel": channel, "outcome": outcome, "party": party,
        "occurred_at": parse_moment(at) if at else utcnow(),
        "contact_id": contact_id, "relation": relation, "phone_id": phone_id, "phone": phone,
        "phone_bidx": phone_bidx, "number_ref": number_ref, "promise_amount": promise_amount, "promise_due_on": promise_due, "notes": notes,
        "line_ref": line_ref, "recording_ref": recording_ref, "credential_ref": credential_ref,
        "idempotency_key": idempotency_key,
    }
    data = _action(raw)
    with session_scope() as session:
        agency_id = _agency_id(session, agency)
        target = service.case_by_no(session=session, case_no=case, agency_id=agency_id)
        logged = service.record_action(
            session=session, case_id=target.id, data=data, actor=actor or default_actor(), agency_id=agency_id
        )
        action_id, status = logged.action.id, target.status
    if logged.created:
        console.print(_("Action {id} logged; case {case} is {status}").format(id=action_id, case=case, status=status),
                      highlight=False)
    else:
        console.print(_("Already logged as action {id} (same idempotency key)").format(id=action_id), highlight=False)


def _action(raw: dict):
    from pydantic import ValidationError

    from weiwai.agencies.input_errors import summary
    from weiwai.collection.schemas import ActionCreate
    from weiwai.errors import RuleViolation

    try:
        return ActionCreate.model_validate({key: value for key, value in raw.items() if value is not None})
    except ValidationError as exc:
        raise RuleViolation(summary(exc)) from None


def _agency_id(session, code: str | None) -> int | None:
    if code is None:
        return None
    from sqlalchemy import select

    from weiwai.agencies.models import Agency
    from weiwai.errors import NotFound

    agency_id = session.scalar(select(Agency.id).where(Agency.code == code))
    if agency_id is None:
        raise NotFound(_("no agency {ref}").format(ref=code))
    return agency_id


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The agency's action log (.csv or .xlsx)."),
    agency: str = typer.Option(..., "--agency", help="Code of the agency whose log it is."),
    actor: str | None = typer.Option(None, "--actor", help="Who imports it (default cli:<user>)."),
) -> None:
    """Import an agency's action log: every row, or nothing if any row is wrong."""
    from weiwai.collection.action_import import import_actions
    from weiwai.db import session_scope

    with session_scope() as session:
        result = import_actions(session=session, path=file, agency_code=agency, actor=actor or default_actor())
    console.print(_("{file}: {rows} row(s), {created} logged, {replayed} already logged, {promises} promise(s)").format(
        file=result.file, rows=result.rows, created=result.created, replayed=result.already_logged,
        promises=result.promises), highlight=False)


@app.command("list")
def list_(case: str = typer.Option(..., "--case", help="Case number.")) -> None:
    """A case's actions in the order they happened."""
    from weiwai.collection import service
    from weiwai.collection.days import default_time_zone, zone
    from weiwai.db import session_scope

    with session_scope() as session:
        target = service.case_by_no(session=session, case_no=case)
        actions = service.list_actions(session=session, case_id=target.id)
        promises = service.promises_by_action(session=session, action_ids=[a.id for a in actions])
        numbers = service.masked_numbers(session=session, case=target)
        local = zone(default_time_zone())
        table = Table(_("id"), _("when"), _("channel"), _("party"), _("number"), _("outcome"), _("promise"),
                      _("by"))
        for action in actions:
            promise = promises.get(action.id)
            table.add_row(
                str(action.id), action.occurred_at.astimezone(local).isoformat(sep=" ", timespec="minutes"),
                action.channel, action.party + (f" ({action.relation})" if action.relation else ""),
                numbers.get(action.phone_bidx, "") if action.phone_bidx else "", action.outcome,
                f"{promise.amount} / {promise.due_on} / {promise.status}" if promise else "", action.recorded_by,
            )
    console.print(table)
    console.print(_("{count} action(s); case {case} is {status}").format(
        count=len(actions), case=case, status=target.status), highlight=False)


@app.command("promises")
def promises(case: str = typer.Option(..., "--case", help="Case number.")) -> None:
    """A case's promises to pay and whether they were kept."""
    from weiwai.collection import service
    from weiwai.db import session_scope

    with session_scope() as session:
        target = service.case_by_no(session=session, case_no=case)
        table = Table(_("id"), _("made on"), _("amount"), _("due on"), _("status"), _("paid"))
        for promise in service.list_promises(session=session, case_id=target.id):
            table.add_row(str(promise.id), promise.promised_on.isoformat(), str(promise.amount),
                          promise.due_on.isoformat(), promise.status, str(promise.paid_amount))
    console.print(table)


@app.command("evaluate-promises")
def evaluate_promises(
    as_of: str | None = typer.Option(None, "--as-of", help="Judge promises due before this day (default today)."),
) -> None:
    """Judge the promises that fell due (kept, partly kept, broken); the daily job does the same."""
    from weiwai.collection.days import local_day
    from weiwai.collection.promise_service import evaluate_due_promises
    from weiwai.db import session_scope, utcnow
    from weiwai.errors import RuleViolation

    try:
        day = date.fromisoformat(as_of) if as_of else local_day(utcnow())
    except ValueError:
        raise RuleViolation(_("{value} is not a date (use YYYY-MM-DD)").format(value=repr(as_of))) from None
    with session_scope() as session:
        counts = evaluate_due_promises(session=session, as_of=day)
    console.print(", ".join(f"{name}: {count}" for name, count in counts.items()), highlight=False)

