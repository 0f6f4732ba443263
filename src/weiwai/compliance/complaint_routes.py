"""HTTP API of complaints, placement blocks and lender notices, under /api/v1.

Complaints: complaints.read (lender staff every complaint, an agency manager those about
their own agency; any other answers 404) and complaints.write (intake, transitions).
A complaint is sent with its version as ETag; a transition honours If-Match.
Placement blocks: read with placements.read, lifted with agency_reviews.write (compliance
and admin). Notices: read with placements.read, acknowledged with complaints.write.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from weiwai.compliance import complaints as service
from weiwai.compliance import thresholds
from weiwai.compliance.complaint_schemas import (
    BlockLift,
    BlockRead,
    ComplaintCreate,
    ComplaintRead,
    ComplaintTransition,
    NoticeRead,
)
from weiwai.compliance.models import Complaint, ComplaintSource, ComplaintStatus
from weiwai.security.permissions import Permission
from weiwai.security.scope import agency_condition, own_agency
from weiwai.web.deps import Allowed, Principal, SessionDep
from weiwai.web.etag import check_if_match, set_etag
from weiwai.web.idempotency import Idempotency
from weiwai.web.pagination import DEFAULT_PAGE_SIZE, Limit, Offset, Page
from weiwai.web.params import OptionalRowId, PathRef, QueryRef, RowId

router = APIRouter(prefix="/api/v1", tags=["complaints"])
PROBLEM = {"content": {"application/problem+json": {}}}


def _read(session, principal: Principal, complaint: Complaint, *, events: bool = True) -> ComplaintRead:
    return service.complaint_reads(session=session, complaints=[complaint], staff_names=principal.is_lender,
                                   events=events)[0]


@router.get("/complaints", response_model=Page[ComplaintRead])
def list_complaints(
    session: SessionDep,
    principal: Allowed(Permission.complaints_read),
    complaint_status: Annotated[list[ComplaintStatus] | None, Query(alias="status")] = None,
    source: ComplaintSource | None = None,
    agency_id: OptionalRowId = None,
    case_no: QueryRef = None,
    overdue: bool | None = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[ComplaintRead]:
    """Complaints, newest received first; `overdue=true`: open ones past their respond_by day."""
    agency_id = own_agency(principal, agency_id)
    rows, total = service.search_complaints(
        session=session, condition=agency_condition(principal, Complaint.agency_id), status=complaint_status,
        source=source, agency_id=agency_id, case_no=case_no, overdue=overdue, offset=offset, limit=limit,
    )
    items = service.complaint_reads(session=session, complaints=rows, staff_names=principal.is_lender)
    return Page[ComplaintRead](items=items, total=total, offset=offset, limit=limit)


@router.post("/complaints", response_model=ComplaintRead, status_code=status.HTTP_201_CREATED)
def create_complaint(
    session: SessionDep,
    principal: Allowed(Permission.complaints_write),
    data: ComplaintCreate,
    idempotency: Idempotency,
) -> ComplaintRead:
    """Record a complaint (linked through its case or account); may hold contact with the debtor."""

    def work() -> ComplaintRead:
        complaint = service.record_complaint(session=session, data=data, actor=principal.actor)
        return _read(session, principal, complaint)

    return idempotency.run(work, body=data, status_code=status.HTTP_201_CREATED)


@router.get("/complaints/{complaint_no}", response_model=ComplaintRead)
def get_complaint(
    session: SessionDep, principal: Allowed(Permission.complaints_read), complaint_no: PathRef, response: Response
) -> ComplaintRead:
    """One complaint with its events; its version is the ETag."""
    complaint = service.get_complaint(session=session, complaint_no=complaint_no,
                                      condition=agency_condition(principal, Complaint.agency_id))
    set_etag(response, complaint.version)
    return _read(session, principal, complaint)


@router.post("/complaints/{complaint_no}/transitions", response_model=ComplaintRead, responses={412: PROBLEM})
def transition_complaint(
    request: Request,
    session: SessionDep,
    principal: Allowed(Permission.complaints_write),
    complaint_no: PathRef,
    data: ComplaintTransition,
    response: Response,
) -> ComplaintRead:
    """open → investigating → resolved | rejected; a closed complaint may be reopened (409 otherwise)."""
    complaint = service.get_complaint(session=session, complaint_no=complaint_no,
                                      condition=agency_condition(principal, Complaint.agency_id), lock=True)
    check_if_match(request, complaint.version)
    service.transition_complaint(session=session, complaint=complaint, data=data, actor=principal.actor)
    set_etag(response, complaint.version)
    return _read(session, principal, complaint)


@router.get("/placement-blocks", response_model=Page[BlockRead])
def list_placement_blocks(
    session: SessionDep,
    principal: Allowed(Permission.placements_read),
    agency_id: OptionalRowId = None,
    live: bool | None = True,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[BlockRead]:
    """Placement blocks, newest first (by default the live ones; `live=false` the lifted ones)."""
    agency_id = own_agency(principal, agency_id)
    rows, total = thresholds.list_blocks(session=session, agency_id=agency_id, live=live, offset=offset, limit=limit)
    return Page[BlockRead](items=[BlockRead.model_validate(r) for r in rows], total=total, offset=offset, limit=limit)


@router.post("/placement-blocks/{block_id}/lift", response_model=BlockRead)
def lift_placement_block(
    session: SessionDep, principal: Allowed(Permission.agency_reviews_write), block_id: RowId, data: BlockLift
) -> BlockRead:
    """Lift a live block, with a reason (409 if already lifted)."""
    block = thresholds.lift_block(session=session, block_id=block_id, reason=data.reason, actor=principal.actor)
    return BlockRead.model_validate(block)


@router.get("/notices", response_model=Page[NoticeRead])
def list_notices(
    session: SessionDep,
    principal: Allowed(Permission.placements_read),
    agency_id: OptionalRowId = None,
    unacknowledged: bool | None = None,
    kind: QueryRef = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[NoticeRead]:
    """Notices for the lender's staff (placements stopped, reviews due or failed, overdue complaints), newest first."""
    agency_id = own_agency(principal, agency_id)
    rows, total = thresholds.list_notices(session=session, agency_id=agency_id, unacknowledged=unacknowledged,
                                          kind=kind, offset=offset, limit=limit)
    return Page[NoticeRead](items=[NoticeRead.model_validate(r) for r in rows], total=total, offset=offset,
                            limit=limit)


@router.post("/notices/{notice_id}/acknowledge", response_model=NoticeRead)
def acknowledge_notice(
    session: SessionDep, principal: Allowed(Permission.complaints_write), notice_id: RowId
) -> NoticeRead:
    """Mark a notice as seen (again: unchanged)."""
    return NoticeRead.model_validate(thresholds.acknowledge_notice(session=session, notice_id=notice_id,
                                                                   actor=principal.actor))
