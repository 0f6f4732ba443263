"""Contracts: drafting, the status lifecycle, and which contracts are usable on a day."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from weiwai.agencies.agency_service import AgencyRef, get_agency
from weiwai.agencies.contract_schemas import (
    ENTRUSTMENT_COLUMNS,
    ContractCreate,
    ContractUpdate,
    FeeSchedule,
    entrustment_of,
)
from weiwai.agencies.input_errors import summary
from weiwai.agencies.lifecycle import ContractFacts, check_contract_transition
from weiwai.clock import today_local
from weiwai.agencies.models import Agency, AgencyStatus, Contract, ContractStatus, ContractStatusChange
from weiwai.agencies.records import Page, check_paging, flush, record_contract_change, require_reason, usable_on
from weiwai.errors import Conflict, NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.privacy import entrustment
from weiwai.security import audit

ContractRef = Contract | int | str  # the contract itself, its id, or its contract number

# ContractCreate fields stored in a column of the same name.
PLAIN_TERM_FIELDS = (
    "starts_on", "ends_on", "signed_on", "confidentiality_signed_on", "permitted_buckets",
    "permitted_regions", "placement_days", "post_recall_grace_days", "retention_days", "handover_fields",
    "compliance_terms", "masking_policy",
)


def get_contract(*, session: Session, contract: ContractRef) -> Contract:
    """The contract with this id or contract number, or NotFound."""
    if isinstance(contract, Contract):
        return contract
    if isinstance(contract, int):
        found = session.get(Contract, contract)
    else:
        found = session.scalar(select(Contract).where(Contract.contract_no == contract.strip()))
    if found is None:
        raise NotFound(_("no contract {ref}").format(ref=contract))
    return found


def create_contract(*, session: Session, data: ContractCreate, actor: str) -> Contract:
    """Draft a contract with an agency that is not terminated; the number must be new."""
    agency = get_agency(session=session, agency=data.agency_id if data.agency_id is not None else data.agency_code)
    if agency.status == AgencyStatus.terminated:
        raise RuleViolation(_("agency {code} is terminated").format(code=agency.code))
    if session.scalar(select(Contract.id).where(Contract.contract_no == data.contract_no)) is not None:
        raise Conflict(_("a contract numbered {contract_no} already exists").format(contract_no=data.contract_no))
    _check_regions_served(agency, data.permitted_regions)
    contract = Contract(contract_no=data.contract_no, agency=agency, **_term_columns(data))
    session.add(contract)
    flush(session, on_duplicate=_("a contract numbered {contract_no} already exists").format(
        contract_no=data.contract_no))
    record_contract_change(
        session=session, contract=contract, to=ContractStatus.draft, reason=_("contract drafted"), actor=actor,
        initial=True,
    )
    entrustment.record_for_contract(session=session, contract=contract, actor=actor)  # PIPL art. 21 record
    return contract


def update_contract(*, session: Session, contract: ContractRef, data: ContractUpdate, actor: str) -> Contract:
    """Change the terms of a draft; signed contracts are not edited, only suspended or terminated."""
    contract = get_contract(session=session, contract=contract)
    if contract.status != ContractStatus.draft:
        raise Conflict(
            _("contract {contract_no} is {status}: only draft contracts can be edited. "
              "Suspend it, or terminate it and sign a new contract.").format(
                contract_no=contract.contract_no, status=contract.status
            )
        )
    changes = data.model_dump(exclude_unset=True)
    # Re-validate the whole contract, so that checks across fields (term, priced buckets)
    # also hold between a changed field and one that was kept.
    merged = {**_terms_of(contract), **changes, "contract_no": contract.contract_no, "agency_id": contract.agency_id}
    try:
        terms = ContractCreate.model_validate(merged)
    except ValidationError as exc:
        raise RuleViolation(summary(exc)) from None
    _check_regions_served(contract.agency, terms.permitted_regions)
    for column, value in _term_columns(terms).items():
        setattr(contract, column, value)
    flush(session, on_duplicate=_("the contract changed while you were working; reload and try again"))
    audit.record(
        session=session, actor=actor, action="contract.updated", entity="contract", entity_id=contract.id,
        details={"contract_no": contract.contract_no, "fields": sorted(changes)},
    )
    entrustment.record_for_contract(session=session, contract=contract, actor=actor)  # draft: re-recorded
    return contract


def change_contract_status(
    *,
    session: Session,
    contract: ContractRef,
    to: ContractStatus,
    reason: str,
    actor: str,
    on: date | None = None,
) -> Contract:
    """Move the contract along its lifecycle; activation is judged on `on` (default today)."""
    contract = get_contract(session=session, contract=contract)
    reason = require_reason(reason)
    to = ContractStatus(to)
    facts = ContractFacts(
        signed_on=contract.signed_on,
        confidentiality_signed_on=contract.confidentiality_signed_on,
        ends_on=contract.ends_on,
        agency_status=AgencyStatus(contract.agency.status),
        on=on or today_local(),
    )
    check_contract_transition(ContractStatus(contract.status), to, facts)
    record_contract_change(session=session, contract=contract, to=to, reason=reason, actor=actor)
    if to == ContractStatus.terminated:
        entrustment.end_for_contract(session=session, contract=contract, reason=reason, actor=actor)
    return contract


def contract_status_history(*, session: Session, contract: ContractRef) -> list[ContractStatusChange]:
    """Every status the contract has had, oldest first, with reason and who changed it."""
    return list(get_contract(session=session, contract=contract).status_changes)


def list_contracts(
    *,
    session: Session,
    agency: AgencyRef | None = None,
    status: ContractStatus | None = None,
    usable_on: date | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[Contract]:
    """Contracts by number, filtered by agency, status, or usability on a day."""
    check_paging(offset, limit)
    conditions = _filters(session, agency=agency, status=status, usable_day=usable_on)
    total = session.scalar(select(func.count()).select_from(Contract).where(*conditions))
    items = session.scalars(
        select(Contract).where(*conditions).options(selectinload(Contract.agency))
        .order_by(Contract.contract_no).offset(offset).limit(limit)
    ).all()
    return Page(items=list(items), total=total or 0)


def usable_contracts(*, session: Session, on: date, agency: AgencyRef | None = None) -> list[Contract]:
    """Contracts under which cases may go out on `on`: active, in term and signed."""
    conditions = _filters(session, agency=agency, status=None, usable_day=on)
    return list(
        session.scalars(
            select(Contract).where(*conditions).options(selectinload(Contract.agency)).order_by(Contract.contract_no)
        ).all()
    )


def _filters(session: Session, *, agency: AgencyRef | None, status: ContractStatus | None, usable_day: date | None):
    conditions = []
    if agency is not None:
        conditions.append(Contract.agency_id == get_agency(session=session, agency=agency).id)
    if status is not None:
        conditions.append(Contract.status == ContractStatus(status).value)
    if usable_day is not None:
        conditions.append(usable_on(usable_day))
    return conditions


def _check_regions_served(agency: Agency, regions: list[str]) -> None:
    outside = [region for region in regions if region not in agency.regions_served]
    if outside:
        raise RuleViolation(
            _("permitted region(s) {regions} are not served by agency {code} (it serves: {served})").format(
                regions=", ".join(outside), code=agency.code, served=", ".join(agency.regions_served)
            )
        )


def _term_columns(terms: ContractCreate) -> dict[str, Any]:
    """Column values for the terms of a validated contract."""
    columns = {name: getattr(terms, name) for name in PLAIN_TERM_FIELDS}
    columns["fee_schedule"] = terms.fee_schedule.model_dump(mode="json")  # Decimals kept exact, as strings
    columns["permitted_channels"] = [channel.value for channel in terms.permitted_channels]
    columns["reporting_cadence"] = terms.reporting_cadence.value
    for name, column in ENTRUSTMENT_COLUMNS.items():
        columns[column] = getattr(terms.entrustment, name)
    return columns


def _terms_of(contract: Contract) -> dict[str, Any]:
    """The stored terms in ContractCreate's shape."""
    terms = {name: getattr(contract, name) for name in PLAIN_TERM_FIELDS}
    terms["fee_schedule"] = FeeSchedule.model_validate(contract.fee_schedule)
    terms["permitted_channels"] = list(contract.permitted_channels)
    terms["reporting_cadence"] = contract.reporting_cadence
    terms["entrustment"] = entrustment_of(contract)
    return terms
