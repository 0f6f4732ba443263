"""`weiwai queue …`: an agency's work queue, assigning cases to collectors, the queue policy.

    weiwai queue show --agency CODE [--collector USERNAME] [--unassigned] [--needs-reassignment] [--limit N]
    weiwai queue assign --agency CODE --collector USERNAME CASE_NO...
    weiwai queue assign --agency CODE --unassign CASE_NO...
    weiwai queue distribute --agency CODE [--collector USERNAME]...
    weiwai queue policy show [--version N] | set FILE | list

Assigning acts as the agency's manager: the agency's open cases only, its collectors only.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from weiwai.i18n import _
from weiwai.placements.render import DATE_FORMATS, console, default_actor, money

app = typer.Typer(help="Work queues (作业队列): cases in the lender's order, assigned to collectors.",
                  no_args_is_help=True)
policy_app = typer.Typer(help="The lender's queue policy: how queues are ordered.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")

AGENCY = typer.Option(..., "--agency", help="Code of the agency.")
ACTOR = typer.Option(None, "--actor", help="Who is acting (default: cli:<login name>).")


def _agency(session, code: str):
    from sqlalchemy import select

    from weiwai.agencies.models import Agency
    from weiwai.errors import NotFound

    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise NotFound(_("no agency {ref}").format(ref=code))
    return agency


def _as_manager(agency):
    """The agency's manager, as the CLI acts: sees and assigns the agency's open cases only."""
    from weiwai.security.models import Role
    from weiwai.web.deps import Principal

    return Principal(user_id=None, username=default_actor(), role=Role.agency_manager, agency_id=agency.id)


def _collector_id(session, agency, username: str) -> int:
    from sqlalchemy import select

    from weiwai.errors import NotFound
    from weiwai.security.models import User
    from weiwai.security.service import normalise_username

    user_id = session.scalar(select(User.id).where(User.username == normalise_username(username),
                                                   User.agency_id == agency.id))
    if user_id is None:
        raise NotFound(_("no collector {ref}").format(ref=username))
    return user_id


@app.command("show")
def show(
    agency: str = AGENCY,
    collector: str | None = typer.Option(None, "--collector", help="Only this collector's cases (username)."),
    unassigned: bool = typer.Option(False, "--unassigned", help="Only cases nobody is assigned."),
    needs_reassignment: bool = typer.Option(False, "--needs-reassignment",
                                            help="Only cases whose collector can no longer work them."),
    limit: int = typer.Option(20, "--limit", min=1, max=500, help="How many cases to show."),
    as_of: datetime | None = typer.Option(None, "--as-of", formats=DATE_FORMATS, help="Day to rank for (default today)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The agency's queue in the lender's order, with the reasons for each case's place."""
    from weiwai.collection.queue_service import queue_page, work_queue
    from weiwai.db import session_scope

    with session_scope() as session:
        target = _agency(session, agency)
        principal = _as_manager(target)
        collector_id = _collector_id(session, target, collector) if collector else None
        queue = work_queue(session=session, principal=principal, collector_user_id=collector_id,
                           unassigned=unassigned, needs_reassignment=needs_reassignment,
                           today=as_of.date() if as_of else None)
        page = queue_page(session=session, principal=principal, queue=queue, offset=0, limit=limit)
        session.rollback()  # read only
    if as_json:
        typer.echo(page.model_dump_json(indent=2))
        return
    out = console()
    ref = page.policy
    out.print(_("Queue of {agency} on {day}: {total} open case(s); policy {name} {version}").format(
        agency=agency, day=page.as_of.isoformat(), total=page.total, name=ref.name,
        version=f"v{ref.version}" if ref.version else ""))
    table = Table()
    for heading, justify in (("#", "right"), (_("case"), "left"), (_("status"), "left"), (_("DPD"), "right"),
                             (_("bucket"), "left"), (_("balance"), "right"), (_("period ends"), "left"),
                             (_("collector"), "left"), (_("score"), "right"), (_("reasons"), "left")):
        table.add_column(heading, justify=justify, overflow="fold")
    for item in page.items:
        who = item.assignee.username if item.assignee else "—"
        if item.needs_reassignment:
            who += " (" + _("needs reassignment") + ")"
        table.add_row(str(item.rank), item.case_no, item.status, str(item.dpd), item.bucket, money(item.balance),
                      item.period_ends_on.isoformat(), who, f"{item.score:.2f}",
                      "; ".join(reason.text for reason in item.reasons[:3]))
    out.print(table)


@app.command("assign")
def assign(
    case_nos: list[str] = typer.Argument(..., help="Case numbers."),
    agency: str = AGENCY,
    collector: str | None = typer.Option(None, "--collector", help="The collector (username) to give them to."),
    unassign: bool = typer.Option(False, "--unassign", help="Take the cases back from whoever has them."),
    actor: str | None = ACTOR,
) -> None:
    """Give cases to a collector of the agency (or take them back); all or nothing."""
    from weiwai.collection.assignment import assign_cases
    from weiwai.db import session_scope

    if (collector is None) == (not unassign):
        raise typer.BadParameter(_("give --collector USERNAME or --unassign"))
    with session_scope() as session:
        target = _agency(session, agency)
        collector_id = _collector_id(session, target, collector) if collector else None
        result = assign_cases(session=session, principal=_as_manager(target), case_nos=case_nos,
                              collector_user_id=collector_id, actor=actor or default_actor())
    console().print(_("{changed} case(s) assigned, {unchanged} already were").format(
        changed=len(result.changed), unchanged=len(result.unchanged)))


@app.command("distribute")
def distribute(
    agency: str = AGENCY,
    collector: list[str] | None = typer.Option(None, "--collector",
                                               help="Only these collectors (repeat; default: every active one)."),
    actor: str | None = ACTOR,
) -> None:
    """Share the unassigned open cases (and those needing reassignment) among the collectors, in queue order."""
    from weiwai.collection.assignment import distribute as service_distribute
    from weiwai.db import session_scope

    with session_scope() as session:
        target = _agency(session, agency)
        ids = [_collector_id(session, target, name) for name in collector] if collector else None
        result = service_distribute(session=session, principal=_as_manager(target), collector_user_ids=ids,
                                    actor=actor or default_actor())
        rows = [(result.users[user_id].username, given, held) for user_id, (given, held) in result.shares.items()]
    out = console()
    out.print(_("{count} case(s) distributed").format(count=result.assigned))
    table = Table(_("collector"), _("given now"), _("open cases"))
    for username, given, held in rows:
        table.add_row(username, str(given), str(held))
    out.print(table)


@policy_app.command("show")
def policy_show(
    version: int | None = typer.Option(None, "--version", help="A stored version (default: the one in force)."),
    name: str = typer.Option("default", "--name", help="Name of the policy (with --version)."),
) -> None:
    """Print the policy in force (or a stored version) as JSON, and its weights."""
    from weiwai.collection.queue_policy import QueuePolicy, policy_summary
    from weiwai.collection.queue_service import BUILT_IN_NAME, current_policy, get_policy
    from weiwai.db import session_scope

    with session_scope() as session:
        if version is None:
            current = current_policy(session=session)
            ref, policy = current.ref, current.policy
            header = {"name": ref.name, "version": ref.version, "sha256": ref.sha256}
        else:
            row = get_policy(session=session, name=name, version=version)
            policy = QueuePolicy.model_validate(row.rules)
            header = {"name": row.name, "version": row.version, "sha256": row.sha256}
    typer.echo(json.dumps({**header, "policy": policy.canonical()}, ensure_ascii=False, indent=2))
    if header["name"] == BUILT_IN_NAME:
        console().print(_("No policy stored: the built-in default is in force."))
    table = Table(_("factor"), _("points"))
    for code, text in policy_summary(policy).items():
        table.add_row(code, text)
    console().print(table)


@policy_app.command("set")
def policy_set(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The policy, JSON or YAML."),
    name: str = typer.Option("default", "--name", help="Name of the policy."),
    actor: str | None = ACTOR,
) -> None:
    """Store the policy in FILE as a new version and put it in force (the policy in force again changes nothing)."""
    from weiwai.collection.queue_policy import QueuePolicy
    from weiwai.collection.queue_service import save_policy
    from weiwai.db import session_scope
    from weiwai.placements.rules_file import load_model

    parsed = load_model(QueuePolicy, file)
    with session_scope() as session:
        row, created = save_policy(session=session, policy=parsed, name=name, actor=actor or default_actor())
        message = _("Saved {name} version {version}") if created else _("Unchanged: {name} version {version}")
        console().print(message.format(name=row.name, version=row.version) + f"  sha256 {row.sha256}")


@policy_app.command("list")
def policy_list() -> None:
    """Every stored version, oldest first (the last is in force)."""
    from weiwai.collection.queue_service import list_policies
    from weiwai.db import session_scope

    table = Table(_("name"), _("version"), _("sha256"), _("saved by"), _("saved at"))
    with session_scope() as session:
        rows = list_policies(session=session)
        for row in rows:
            table.add_row(row.name, str(row.version), row.sha256[:12], row.created_by,
                          f"{row.created_at:%Y-%m-%d %H:%M}")
    if not rows:
        console().print(_("No policy stored: the built-in default is in force."))
    console().print(table)
