"""`weiwai contract …`: draft contracts from files, list and show them, move their status."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from weiwai.agencies.models import Contract, ContractStatus
from weiwai.cli.agency_cmd import ACTOR_HELP, DATE_FORMATS, console, day_of, default_actor, history_table, show_value
from weiwai.i18n import _

app = typer.Typer(help="Contracts with agencies: fee schedule, permitted channels, PIPL entrustment.",
                  no_args_is_help=True)


@app.command("create")
def create(
    file: Path = typer.Option(..., "--file", "-f", help="YAML or JSON; several YAML documents make several contracts."),
    actor: str | None = typer.Option(None, help=ACTOR_HELP),
) -> None:
    """Draft contracts from a file (see docs/examples/contract.yaml)."""
    from weiwai.agencies.input_errors import load_documents, validate_documents
    from weiwai.agencies.schemas import ContractCreate
    from weiwai.agencies.service import create_contract
    from weiwai.db import session_scope

    records = validate_documents(ContractCreate, load_documents(file), file=str(file))
    out = console()
    with session_scope() as session:
        for data in records:
            contract = create_contract(session=session, data=data, actor=actor or default_actor())
            out.print(_("Drafted contract {contract_no} (id {id}) with agency {code}").format(
                contract_no=contract.contract_no, id=contract.id, code=contract.agency.code))


@app.command("list")
def list_(
    agency: str | None = typer.Option(None, "--agency", help="Only this agency's contracts (agency code)."),
    status: ContractStatus | None = typer.Option(None, "--status", help="Only contracts in this status."),
    usable_on: datetime | None = typer.Option(None, "--usable-on", formats=DATE_FORMATS,
                                              help="Only contracts usable on this day (active, in term, signed)."),
    limit: int = typer.Option(200, min=1, max=200),
    offset: int = typer.Option(0, min=0),
) -> None:
    """Contracts by number."""
    from weiwai.clock import today_local
    from weiwai.agencies.service import list_contracts
    from weiwai.db import session_scope

    with session_scope() as session:
        page = list_contracts(session=session, agency=agency, status=status, usable_on=day_of(usable_on),
                              offset=offset, limit=limit)
        table = Table(title=_("Contracts ({shown} of {total})").format(shown=len(page.items), total=page.total))
        table.add_column(_("Contract no."), no_wrap=True)
        table.add_column(_("Agency"), no_wrap=True)
        for header in (_("Status"), _("Term"), _("Buckets"), _("Channels"), _("Usable today")):
            table.add_column(header)
        today = today_local()
        for contract in page.items:
            table.add_row(contract.contract_no, contract.agency.code, contract.status,
                          f"{contract.starts_on} – {contract.ends_on}", show_value(contract.permitted_buckets),
                          show_value(contract.permitted_channels), _("yes") if contract.is_usable(today) else _("no"))
        console().print(table)


@app.command("show")
def show(contract_no: str = typer.Argument(..., help="Contract number.")) -> None:
    """Terms, fee schedule, entrustment terms and status history of one contract."""
    from weiwai.agencies.service import get_contract
    from weiwai.db import session_scope

    out = console()
    with session_scope() as session:
        contract = get_contract(session=session, contract=contract_no)
        out.print(_terms_table(contract))
        out.print(_fee_table(contract))
        out.print(_entrustment_table(contract))
        out.print(history_table(contract.status_changes))


def _two_columns(title: str) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column(_("Field"))
    table.add_column(_("Value"))
    return table


def _terms_table(contract: Contract) -> Table:
    from weiwai.clock import today_local

    table = _two_columns(f"{contract.contract_no} · {contract.agency.code}")
    for label, value in (
        (_("Status"), contract.status),
        (_("Usable today"), _("yes") if contract.is_usable(today_local()) else _("no")),
        (_("Term"), f"{contract.starts_on} – {contract.ends_on}"),
        (_("Signed on"), contract.signed_on),
        (_("Confidentiality agreement signed on"), contract.confidentiality_signed_on),
        (_("Channels"), contract.permitted_channels),
        (_("Buckets"), contract.permitted_buckets),
        (_("Regions"), contract.permitted_regions or _("every region the agency serves")),
        (_("Placement days"), contract.placement_days),
        (_("Post-recall grace days"), contract.post_recall_grace_days),
        (_("Retention days"), contract.retention_days),
        (_("Reporting cadence"), contract.reporting_cadence),
        (_("Masking policy"), _masking_summary(contract.masking_policy) or _("role defaults (docs/masking.md)")),
    ):
        table.add_row(label, show_value(value))
    return table


def _masking_summary(policy: dict | None) -> str:
    """{"mobile": "full", "national_id": {"mode": "masked", "keep_start": 0, "keep_end": 4}} -> one line."""
    parts = []
    for field, rule in (policy or {}).items():
        if isinstance(rule, dict):
            rule = f"{rule.get('mode')} ({rule.get('keep_start', 0)}+{rule.get('keep_end', 0)})"
        parts.append(f"{field}: {rule}")
    return "; ".join(parts)


def _fee_table(contract: Contract) -> Table:
    from weiwai.agencies.schemas import FeeSchedule

    schedule = FeeSchedule.model_validate(contract.fee_schedule)
    table = _two_columns(_("Fee schedule ({currency})").format(currency=schedule.currency))
    for bucket, rate in schedule.rates_by_bucket.items():
        table.add_row(_("Commission rate {bucket}").format(bucket=bucket), str(rate))
    for tier in schedule.recovery_tiers:
        table.add_row(_("Bonus from recovery rate {min_rate}").format(min_rate=tier.min_recovery_rate),
                      f"+{tier.bonus_rate}")
    table.add_row(_("Fixed fee per closed case"), show_value(schedule.fixed_fee_per_closed_case))
    return table


def _entrustment_table(contract: Contract) -> Table:
    from weiwai.agencies.contract_schemas import entrustment_of

    terms = entrustment_of(contract)
    table = _two_columns(_("PIPL entrustment terms"))
    for label, value in (
        (_("Purpose"), terms.purpose), (_("Duration"), terms.duration),
        (_("Processing method"), terms.processing_method), (_("Personal data categories"), terms.data_categories),
        (_("Protection measures"), terms.protection_measures),
    ):
        table.add_row(label, show_value(value))
    return table


@app.command("status")
def change_status(
    contract_no: str = typer.Argument(..., help="Contract number."),
    new_status: ContractStatus = typer.Argument(..., help="The status to move to."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the status history)."),
    actor: str | None = typer.Option(None, help=ACTOR_HELP),
) -> None:
    """Move a contract along draft → active ⇄ suspended → terminated."""
    from weiwai.agencies.service import change_contract_status
    from weiwai.db import session_scope

    with session_scope() as session:
        contract = change_contract_status(session=session, contract=contract_no, to=new_status, reason=reason,
                                          actor=actor or default_actor())
        message = _("Contract {contract_no} is now {status}").format(contract_no=contract.contract_no,
                                                                      status=contract.status)
    console().print(message)
