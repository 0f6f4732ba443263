"""Agencies: admission, details, status lifecycle. Services never commit (see docs/development.md)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from weiwai.agencies.lifecycle import OPEN_CONTRACT_STATUSES, AgencyFacts, check_agency_transition
from weiwai.clock import today_local
from weiwai.agencies.models import (
    AdmissionItem,
    Agency,
    AgencyAdmissionCheck,
    AgencyStatus,
    AgencyStatusChange,
    ContractStatus,
)
from weiwai.agencies.records import (
    Page,
    check_paging,
    flush,
    json_list_contains,
    record_agency_change,
    record_contract_change,
    require_reason,
)
from weiwai.agencies.schemas import AgencyCreate, AgencyUpdate
from weiwai.errors import Conflict, NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.privacy.assessments import has_valid_assessment
from weiwai.privacy.entrustment import end_for_contract
from weiwai.security import audit

AgencyRef = Agency | int | str  # the agency itself, its id, or its code


def get_agency(*, session: Session, agency: AgencyRef) -> Agency:
    """The agency with this id or code, or NotFound."""
    if isinstance(agency, Agency):
        return agency
    if isinstance(agency, int):
        found = session.get(Agency, agency)
    else:
        found = session.scalar(select(Agency).where(Agency.code == agency.strip().upper()))
    if found is None:
        raise NotFound(_("no agency {ref}").format(ref=agency))
    return found


def create_agency(*, session: Session, data: AgencyCreate, actor: str) -> Agency:
    """Register an applying agency; its code and USCC must be new."""
    if session.scalar(select(Agency.id).where(Agency.code == data.code)) is not None:
        raise Conflict(_("an agency with code {code} already exists").format(code=data.code))
    if session.scalar(select(Agency.id).where(Agency.uscc == data.uscc)) is not None:
        raise Conflict(_("an agency with unified social credit code {uscc} already exists").format(uscc=data.uscc))
    agency = Agency(**data.model_dump())
    session.add(agency)
    flush(session, on_duplicate=_("an agency with this code or unified social credit code already exists"))
    record_agency_change(
        session=session, agency=agency, to=AgencyStatus.applying, reason=_("application registered"),
        actor=actor, initial=True,
    )
    return agency


def update_agency(*, session: Session, agency: AgencyRef, data: AgencyUpdate, actor: str) -> Agency:
    """Change an agency's details (not its code or USCC); terminated agencies are read-only."""
    agency = get_agency(session=session, agency=agency)
    if agency.status == AgencyStatus.terminated:
        raise Conflict(_("agency {code} is terminated and can no longer be changed").format(code=agency.code))
    changes = data.model_dump(exclude_unset=True)
    if "regions_served" in changes:
        _check_contracts_stay_within(agency, changes["regions_served"])
    for name, value in changes.items():
        setattr(agency, name, value)
    flush(session, on_duplicate=_("an agency with this code or unified social credit code already exists"))
    audit.record(
        session=session, actor=actor, action="agency.updated", entity="agency", entity_id=agency.id,
        details={"code": agency.code, "fields": sorted(changes)},
    )
    return agency


def _check_contracts_stay_within(agency: Agency, regions: list[str]) -> None:
    for contract in agency.contracts:
        if contract.status not in OPEN_CONTRACT_STATUSES:
            continue
        dropped = [region for region in contract.permitted_regions if region not in regions]
        if dropped:
            raise RuleViolation(
                _("contract {contract_no} permits region(s) {regions}, which the agency would no longer serve").format(
                    contract_no=contract.contract_no, regions=", ".join(dropped)
                )
            )


def list_agencies(
    *,
    session: Session,
    status: AgencyStatus | None = None,
    region: str | None = None,
    agency_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[Agency]:
    """Agencies by code, filtered by status, a region served, or one id (an agency user's own)."""
    check_paging(offset, limit)
    conditions = []
    if status is not None:
        conditions.append(Agency.status == AgencyStatus(status).value)
    if region:
        conditions.append(json_list_contains(session, Agency.regions_served, region.strip()))
    if agency_id is not None:
        conditions.append(Agency.id == agency_id)
    total = session.scalar(select(func.count()).select_from(Agency).where(*conditions))
    items = session.scalars(
        select(Agency).where(*conditions).options(selectinload(Agency.admission_checks))
        .order_by(Agency.code).offset(offset).limit(limit)
    ).all()
    return Page(items=list(items), total=total or 0)


def record_admission_check(
    *,
    session: Session,
    agency: AgencyRef,
    item: AdmissionItem,
    completed_on: date,
    evidence_ref: str,
    actor: str,
) -> AgencyAdmissionCheck:
    """File one completed admission item with its evidence (once per item)."""
    agency = get_agency(session=session, agency=agency)
    item = AdmissionItem(item)
    if agency.status == AgencyStatus.terminated:
        raise RuleViolation(_("agency {code} is terminated").format(code=agency.code))
    if completed_on > today_local():
        raise RuleViolation(_("completed_on {day} is in the future").format(day=completed_on.isoformat()))
    evidence_ref = (evidence_ref or "").strip()
    if not evidence_ref:
        raise RuleViolation(_("evidence reference is required"))
    if any(check.item == item for check in agency.admission_checks):
        raise Conflict(_("{item} is already on file for agency {code}").format(item=item.value, code=agency.code))
    check = AgencyAdmissionCheck(item=item.value, completed_on=completed_on, evidence_ref=evidence_ref,
                                 recorded_by=actor)
    agency.admission_checks.append(check)
    flush(session, on_duplicate=_("{item} is already on file for agency {code}").format(
        item=item.value, code=agency.code))
    audit.record(
        session=session, actor=actor, action="agency.admission_checked", entity="agency", entity_id=agency.id,
        details={"code": agency.code, "item": item.value, "completed_on": completed_on.isoformat(),
                 "evidence_ref": evidence_ref},
    )
    return check


def change_agency_status(
    *,
    session: Session,
    agency: AgencyRef,
    to: AgencyStatus,
    reason: str,
    actor: str,
    on: date | None = None,
) -> Agency:
    """Move the agency along its lifecycle (guards judged on `on`, default today); terminating ends its contracts."""
    agency = get_agency(session=session, agency=agency)
    reason = require_reason(reason)
    to = AgencyStatus(to)
    on = on or today_local()
    facts = AgencyFacts(
        admission_on_file=frozenset(AdmissionItem(check.item) for check in agency.admission_checks),
        has_usable_contract=any(contract.is_usable(on) for contract in agency.contracts),
        impact_assessment_on_file=has_valid_assessment(session=session, agency_id=agency.id, on=on),
    )
    check_agency_transition(AgencyStatus(agency.status), to, facts)
    record_agency_change(session=session, agency=agency, to=to, reason=reason, actor=actor)
    if to == AgencyStatus.terminated:
        contract_reason = _("agency {code} terminated: {reason}").format(code=agency.code, reason=reason)
        for contract in agency.contracts:
            if contract.status in OPEN_CONTRACT_STATUSES:
                record_contract_change(
                    session=session, contract=contract, to=ContractStatus.terminated, reason=contract_reason,
                    actor=actor,
                )
                end_for_contract(session=session, contract=contract, reason=contract_reason, actor=actor)
    return agency


def agency_status_history(*, session: Session, agency: AgencyRef) -> list[AgencyStatusChange]:
    """Every status the agency has had, oldest first, with reason and who changed it."""
    return list(get_agency(session=session, agency=agency).status_changes)
