"""HTTP API of agencies and contracts, under /api/v1.

Each route names the one permission it needs (weiwai.security.permissions); which
agency or contract the principal may see is decided by weiwai.security.scope: lender
staff see every agency, agency users only their own and its contracts. Anything else
answers 404, exactly like a row that does not exist.

A single agency or contract is sent with its version as `ETag`; PATCH and status changes
honour `If-Match` (412 when the record changed since it was read).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session

from weiwai.agencies import service
from weiwai.agencies.fields import MAX_PAGE_SIZE
from weiwai.agencies.models import Agency, AgencyStatus, Contract, ContractStatus
from weiwai.agencies.schemas import (
    AdmissionCheckCreate,
    AdmissionCheckRead,
    AgencyCreate,
    AgencyRead,
    AgencyUpdate,
    ContractCreate,
    ContractRead,
    ContractUpdate,
    StatusChangeRead,
    StatusChangeRequest,
)
from weiwai.clock import today_local
from weiwai.i18n import _
from weiwai.security.permissions import Permission
from weiwai.security.scope import check_owned, own_agency
from weiwai.web.deps import Allowed, Principal, SessionDep
from weiwai.web.etag import check_if_match, set_etag
from weiwai.web.pagination import Page
from weiwai.web.params import OptionalRowId, QueryRef, RowId

router = APIRouter(prefix="/api/v1", tags=["agencies"])

Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Rows to return (at most {MAX_PAGE_SIZE}).")]


def _visible_agency(session: Session, principal: Principal, agency_id: int) -> Agency:
    """The agency, if this principal may see it; 404 alike for missing and foreign agencies."""
    check_owned(principal, agency_id, ref=agency_id, what=_("agency"))
    return service.get_agency(session=session, agency=agency_id)


def _visible_contract(session: Session, principal: Principal, contract_id: int) -> Contract:
    """The contract, if this principal may see it; 404 alike for missing and foreign contracts."""
    contract = service.get_contract(session=session, contract=contract_id)
    check_owned(principal, contract.agency_id, ref=contract_id, what=_("contract"))
    return contract


def _contract_read(contract: Contract) -> ContractRead:
    return ContractRead.of(contract, today=today_local())


def _sent_with_etag(session: Session, response: Response, version: int) -> None:
    """Write what the route changed, so that the ETag carries the new version."""
    session.flush()
    set_etag(response, version)


# --- agencies ---------------------------------------------------------------------------


@router.get("/agencies", response_model=Page[AgencyRead])
def list_agencies(
    session: SessionDep,
    principal: Allowed(Permission.agencies_read),
    agency_status: Annotated[AgencyStatus | None, Query(alias="status")] = None,
    region: QueryRef = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[AgencyRead]:
    """Agencies by code; agency users get only their own."""
    if not principal.is_lender and principal.agency_id is None:
        return Page(items=[], total=0, offset=offset, limit=limit)
    page = service.list_agencies(
        session=session, status=agency_status, region=region, agency_id=own_agency(principal, None),
        offset=offset, limit=limit,
    )
    return Page(items=[AgencyRead.of(agency) for agency in page.items], total=page.total, offset=offset, limit=limit)


@router.post("/agencies", response_model=AgencyRead, status_code=status.HTTP_201_CREATED)
def create_agency(
    session: SessionDep, principal: Allowed(Permission.agencies_write), data: AgencyCreate, response: Response
) -> AgencyRead:
    """Register an agency; it starts as applying."""
    agency = service.create_agency(session=session, data=data, actor=principal.actor)
    _sent_with_etag(session, response, agency.version)
    return AgencyRead.of(agency)


@router.get("/agencies/{agency_id}", response_model=AgencyRead)
def get_agency(
    session: SessionDep, principal: Allowed(Permission.agencies_read), agency_id: RowId, response: Response
) -> AgencyRead:
    """One agency, with its version as ETag."""
    agency = _visible_agency(session, principal, agency_id)
    set_etag(response, agency.version)
    return AgencyRead.of(agency)


@router.patch("/agencies/{agency_id}", response_model=AgencyRead)
def update_agency(
    session: SessionDep, principal: Allowed(Permission.agencies_write), agency_id: RowId, data: AgencyUpdate,
    request: Request, response: Response,
) -> AgencyRead:
    """Change details; code and USCC are fixed. Honours If-Match."""
    agency = _visible_agency(session, principal, agency_id)
    check_if_match(request, agency.version)
    agency = service.update_agency(session=session, agency=agency, data=data, actor=principal.actor)
    _sent_with_etag(session, response, agency.version)
    return AgencyRead.of(agency)


@router.post("/agencies/{agency_id}/status", response_model=AgencyRead)
def change_agency_status(
    session: SessionDep, principal: Allowed(Permission.agencies_write), agency_id: RowId,
    data: StatusChangeRequest[AgencyStatus], request: Request, response: Response,
) -> AgencyRead:
    """Move the agency along applying → approved → active ⇄ suspended → terminated. Honours If-Match."""
    agency = _visible_agency(session, principal, agency_id)
    check_if_match(request, agency.version)
    agency = service.change_agency_status(
        session=session, agency=agency, to=data.to, reason=data.reason, actor=principal.actor
    )
    _sent_with_etag(session, response, agency.version)
    return AgencyRead.of(agency)


@router.post(
    "/agencies/{agency_id}/admission-checks", response_model=AdmissionCheckRead, status_code=status.HTTP_201_CREATED
)
def record_admission_check(
    session: SessionDep, principal: Allowed(Permission.agencies_write), agency_id: RowId, data: AdmissionCheckCreate
) -> AdmissionCheckRead:
    """File one completed admission checklist item with its evidence."""
    agency = _visible_agency(session, principal, agency_id)
    check = service.record_admission_check(
        session=session, agency=agency, item=data.item, completed_on=data.completed_on,
        evidence_ref=data.evidence_ref, actor=principal.actor,
    )
    return AdmissionCheckRead.model_validate(check)


@router.get("/agencies/{agency_id}/admission-checks", response_model=list[AdmissionCheckRead])
def list_admission_checks(
    session: SessionDep, principal: Allowed(Permission.agencies_read), agency_id: RowId
) -> list[AdmissionCheckRead]:
    agency = _visible_agency(session, principal, agency_id)
    return [AdmissionCheckRead.model_validate(check) for check in agency.admission_checks]


@router.get("/agencies/{agency_id}/status-history", response_model=list[StatusChangeRead])
def agency_status_history(
    session: SessionDep, principal: Allowed(Permission.agencies_read), agency_id: RowId
) -> list[StatusChangeRead]:
    agency = _visible_agency(session, principal, agency_id)
    return [StatusChangeRead.model_validate(change) for change in agency.status_changes]


# --- contracts --------------------------------------------------------------------------


@router.get("/contracts", response_model=Page[ContractRead])
def list_contracts(
    session: SessionDep,
    principal: Allowed(Permission.contracts_read),
    agency_id: OptionalRowId = None,
    contract_status: Annotated[ContractStatus | None, Query(alias="status")] = None,
    usable_on: date | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[ContractRead]:
    """Contracts by number; agency users get only their own agency's."""
    if not principal.is_lender and principal.agency_id is None:
        return Page(items=[], total=0, offset=offset, limit=limit)
    page = service.list_contracts(
        session=session, agency=own_agency(principal, agency_id, what=_("agency")), status=contract_status,
        usable_on=usable_on, offset=offset, limit=limit,
    )
    return Page(items=[_contract_read(contract) for contract in page.items], total=page.total, offset=offset,
                limit=limit)


@router.post("/contracts", response_model=ContractRead, status_code=status.HTTP_201_CREATED)
def create_contract(
    session: SessionDep, principal: Allowed(Permission.contracts_write), data: ContractCreate, response: Response
) -> ContractRead:
    """Draft a contract; activate it once signed."""
    contract = service.create_contract(session=session, data=data, actor=principal.actor)
    _sent_with_etag(session, response, contract.version)
    return _contract_read(contract)


@router.get("/contracts/{contract_id}", response_model=ContractRead)
def get_contract(
    session: SessionDep, principal: Allowed(Permission.contracts_read), contract_id: RowId, response: Response
) -> ContractRead:
    """One contract, with its version as ETag."""
    contract = _visible_contract(session, principal, contract_id)
    set_etag(response, contract.version)
    return _contract_read(contract)


@router.patch("/contracts/{contract_id}", response_model=ContractRead)
def update_contract(
    session: SessionDep, principal: Allowed(Permission.contracts_write), contract_id: RowId, data: ContractUpdate,
    request: Request, response: Response,
) -> ContractRead:
    """Change a draft's terms (signed contracts are suspended or terminated, not edited). Honours If-Match."""
    contract = _visible_contract(session, principal, contract_id)
    check_if_match(request, contract.version)
    contract = service.update_contract(session=session, contract=contract, data=data, actor=principal.actor)
    _sent_with_etag(session, response, contract.version)
    return _contract_read(contract)


@router.post("/contracts/{contract_id}/status", response_model=ContractRead)
def change_contract_status(
    session: SessionDep, principal: Allowed(Permission.contracts_approve), contract_id: RowId,
    data: StatusChangeRequest[ContractStatus], request: Request, response: Response,
) -> ContractRead:
    """Move the contract along draft → active ⇄ suspended → terminated. Honours If-Match."""
    contract = _visible_contract(session, principal, contract_id)
    check_if_match(request, contract.version)
    contract = service.change_contract_status(
        session=session, contract=contract, to=data.to, reason=data.reason, actor=principal.actor
    )
    _sent_with_etag(session, response, contract.version)
    return _contract_read(contract)


@router.get("/contracts/{contract_id}/status-history", response_model=list[StatusChangeRead])
def contract_status_history(
    session: SessionDep, principal: Allowed(Permission.contracts_read), contract_id: RowId
) -> list[StatusChangeRead]:
    contract = _visible_contract(session, principal, contract_id)
    return [StatusChangeRead.model_validate(change) for change in contract.status_changes]
