"""HTTP API of agencies and contracts, under /api/v1.

Lender roles read everything; admin and operations write (compliance may also change a
contract's status). Agency users (agency_manager, collector) see only their own agency
and its contracts: anything else answers 404, as if it did not exist.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.orm import Session

from weiwai.agencies import service
from weiwai.agencies.fields import MAX_PAGE_SIZE
from weiwai.clock import today_local
from weiwai.agencies.models import Agency, AgencyStatus, Contract, ContractStatus
from weiwai.agencies.schemas import (
    AdmissionCheckCreate,
    AdmissionCheckRead,
    AgencyCreate,
    AgencyPage,
    AgencyRead,
    AgencyUpdate,
    ContractCreate,
    ContractPage,
    ContractRead,
    ContractUpdate,
    StatusChangeRead,
    StatusChangeRequest,
)
from weiwai.errors import NotFound
from weiwai.i18n import _
from weiwai.security.models import Role
from weiwai.web.deps import AGENCY_ROLES, LENDER_ROLES, Principal, SessionDep, require_roles

router = APIRouter(prefix="/api/v1", tags=["agencies"])

Reader = Annotated[Principal, Depends(require_roles(*LENDER_ROLES, *AGENCY_ROLES))]
Writer = Annotated[Principal, Depends(require_roles(Role.admin, Role.operations))]
ContractStatusWriter = Annotated[Principal, Depends(require_roles(Role.admin, Role.operations, Role.compliance))]
Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


def _visible_agency(session: Session, principal: Principal, agency_id: int) -> Agency:
    """The agency, if this principal may see it; 404 alike for missing and foreign agencies."""
    if not principal.is_lender and principal.agency_id != agency_id:
        raise NotFound(_("no agency {ref}").format(ref=agency_id))
    return service.get_agency(session=session, agency=agency_id)


def _visible_contract(session: Session, principal: Principal, contract_id: int) -> Contract:
    """The contract, if this principal may see it; 404 alike for missing and foreign contracts."""
    contract = service.get_contract(session=session, contract=contract_id)
    if not principal.is_lender and principal.agency_id != contract.agency_id:
        raise NotFound(_("no contract {ref}").format(ref=contract_id))
    return contract


def _contract_read(contract: Contract) -> ContractRead:
    return ContractRead.of(contract, today=today_local())


# --- agencies ---------------------------------------------------------------------------


@router.get("/agencies", response_model=AgencyPage)
def list_agencies(
    session: SessionDep,
    principal: Reader,
    agency_status: Annotated[AgencyStatus | None, Query(alias="status")] = None,
    region: str | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> AgencyPage:
    """Agencies by code; agency users get only their own."""
    if not principal.is_lender and principal.agency_id is None:
        return AgencyPage(items=[], total=0)
    own = None if principal.is_lender else principal.agency_id
    page = service.list_agencies(
        session=session, status=agency_status, region=region, agency_id=own, offset=offset, limit=limit
    )
    return AgencyPage(items=[AgencyRead.of(agency) for agency in page.items], total=page.total)


@router.post("/agencies", response_model=AgencyRead, status_code=status.HTTP_201_CREATED)
def create_agency(session: SessionDep, principal: Writer, data: AgencyCreate) -> AgencyRead:
    """Register an agency; it starts as applying."""
    return AgencyRead.of(service.create_agency(session=session, data=data, actor=principal.actor))


@router.get("/agencies/{agency_id}", response_model=AgencyRead)
def get_agency(session: SessionDep, principal: Reader, agency_id: int) -> AgencyRead:
    return AgencyRead.of(_visible_agency(session, principal, agency_id))


@router.patch("/agencies/{agency_id}", response_model=AgencyRead)
def update_agency(session: SessionDep, principal: Writer, agency_id: int, data: AgencyUpdate) -> AgencyRead:
    """Change details; code and USCC are fixed."""
    return AgencyRead.of(service.update_agency(session=session, agency=agency_id, data=data, actor=principal.actor))


@router.post("/agencies/{agency_id}/status", response_model=AgencyRead)
def change_agency_status(
    session: SessionDep, principal: Writer, agency_id: int, data: StatusChangeRequest[AgencyStatus]
) -> AgencyRead:
    """Move the agency along applying → approved → active ⇄ suspended → terminated."""
    agency = service.change_agency_status(
        session=session, agency=agency_id, to=data.to, reason=data.reason, actor=principal.actor
    )
    return AgencyRead.of(agency)


@router.post(
    "/agencies/{agency_id}/admission-checks", response_model=AdmissionCheckRead, status_code=status.HTTP_201_CREATED
)
def record_admission_check(
    session: SessionDep, principal: Writer, agency_id: int, data: AdmissionCheckCreate
) -> AdmissionCheckRead:
    """File one completed admission checklist item with its evidence."""
    check = service.record_admission_check(
        session=session, agency=agency_id, item=data.item, completed_on=data.completed_on,
        evidence_ref=data.evidence_ref, actor=principal.actor,
    )
    return AdmissionCheckRead.model_validate(check)


@router.get("/agencies/{agency_id}/admission-checks", response_model=list[AdmissionCheckRead])
def list_admission_checks(session: SessionDep, principal: Reader, agency_id: int) -> list[AdmissionCheckRead]:
    agency = _visible_agency(session, principal, agency_id)
    return [AdmissionCheckRead.model_validate(check) for check in agency.admission_checks]


@router.get("/agencies/{agency_id}/status-history", response_model=list[StatusChangeRead])
def agency_status_history(session: SessionDep, principal: Reader, agency_id: int) -> list[StatusChangeRead]:
    agency = _visible_agency(session, principal, agency_id)
    return [StatusChangeRead.model_validate(change) for change in agency.status_changes]


# --- contracts --------------------------------------------------------------------------


@router.get("/contracts", response_model=ContractPage)
def list_contracts(
    session: SessionDep,
    principal: Reader,
    agency_id: int | None = None,
    contract_status: Annotated[ContractStatus | None, Query(alias="status")] = None,
    usable_on: date | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> ContractPage:
    """Contracts by number; agency users get only their own agency's."""
    if not principal.is_lender:
        if principal.agency_id is None:
            return ContractPage(items=[], total=0)
        _visible_agency(session, principal, agency_id if agency_id is not None else principal.agency_id)
        agency_id = principal.agency_id
    page = service.list_contracts(
        session=session, agency=agency_id, status=contract_status, usable_on=usable_on, offset=offset, limit=limit
    )
    return ContractPage(items=[_contract_read(contract) for contract in page.items], total=page.total)


@router.post("/contracts", response_model=ContractRead, status_code=status.HTTP_201_CREATED)
def create_contract(session: SessionDep, principal: Writer, data: ContractCreate) -> ContractRead:
    """Draft a contract; activate it once signed."""
    return _contract_read(service.create_contract(session=session, data=data, actor=principal.actor))


@router.get("/contracts/{contract_id}", response_model=ContractRead)
def get_contract(session: SessionDep, principal: Reader, contract_id: int) -> ContractRead:
    return _contract_read(_visible_contract(session, principal, contract_id))


@router.patch("/contracts/{contract_id}", response_model=ContractRead)
def update_contract(session: SessionDep, principal: Writer, contract_id: int, data: ContractUpdate) -> ContractRead:
    """Change a draft's terms (signed contracts are suspended or terminated, not edited)."""
    contract = service.update_contract(session=session, contract=contract_id, data=data, actor=principal.actor)
    return _contract_read(contract)


@router.post("/contracts/{contract_id}/status", response_model=ContractRead)
def change_contract_status(
    session: SessionDep, principal: ContractStatusWriter, contract_id: int, data: StatusChangeRequest[ContractStatus]
) -> ContractRead:
    """Move the contract along draft → active ⇄ suspended → terminated."""
    contract = service.change_contract_status(
        session=session, contract=contract_id, to=data.to, reason=data.reason, actor=principal.actor
    )
    return _contract_read(contract)


@router.get("/contracts/{contract_id}/status-history", response_model=list[StatusChangeRead])
def contract_status_history(session: SessionDep, principal: Reader, contract_id: int) -> list[StatusChangeRead]:
    contract = _visible_contract(session, principal, contract_id)
    return [StatusChangeRead.model_validate(change) for change in contract.status_changes]
