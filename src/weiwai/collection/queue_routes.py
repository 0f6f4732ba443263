"""HTTP API of the work queue and of case assignment, under /api/v1.

A collector's queue is their own cases; a manager (or an agency system's token) sees the
agency's queue and may filter it by collector, unassigned cases, or cases needing
reassignment; lender staff name the agency. Managers (and the lender's administrators)
assign cases; the lender's operations set the queue policy. A case the caller may not
see answers 404, as if it did not exist.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from weiwai.collection import assignment, queue_service
from weiwai.collection.queue_policy import DEFAULT_POLICY
from weiwai.collection.queue_schemas import (
    AssigneeUpdate,
    AssignmentRead,
    AssignmentResult,
    BulkAssignment,
    CaseAssigneeRead,
    CollectorShare,
    DistributeRequest,
    DistributionResult,
    QueuePolicyCreate,
    QueuePolicyRead,
    WorkQueue,
)
from weiwai.collection.queue_service import BUILT_IN_NAME
from weiwai.placements.models import Case
from weiwai.security.permissions import Permission
from weiwai.security.scope import visible_case
from weiwai.web.deps import Allowed, SessionDep
from weiwai.web.etag import check_if_match, set_etag
from weiwai.web.pagination import DEFAULT_PAGE_SIZE, Limit, Offset
from weiwai.web.params import MAX_ID

router = APIRouter(prefix="/api/v1", tags=["work queue"])

QueueReader = Allowed(Permission.queue_read)
CaseReader = Allowed(Permission.cases_read)
Assigner = Allowed(Permission.cases_assign)
PolicyWriter = Allowed(Permission.queue_policy_write)


@router.get("/work-queue", response_model=WorkQueue)
def work_queue(
    session: SessionDep,
    principal: QueueReader,
    agency_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Lender users: the agency whose queue to show.")] = None,
    collector_user_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this collector's cases.")] = None,
    unassigned: Annotated[bool, Query(description="Only cases nobody is assigned.")] = False,
    needs_reassignment: Annotated[
        bool, Query(description="Only cases whose assignee can no longer work them (e.g. deactivated).")] = False,
    as_of: Annotated[date | None, Query(description="The day to rank for (default today).")] = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> WorkQueue:
    """The queue in priority order, each case with its score and the reasons for it."""
    queue = queue_service.work_queue(
        session=session, principal=principal, agency_id=agency_id, collector_user_id=collector_user_id,
        unassigned=unassigned, needs_reassignment=needs_reassignment, today=as_of,
    )
    return queue_service.queue_page(session=session, principal=principal, queue=queue, offset=offset, limit=limit)


@router.post("/work-queue/assignments", response_model=AssignmentResult)
def assign_cases(session: SessionDep, principal: Assigner, data: BulkAssignment) -> AssignmentResult:
    """Give cases to a collector of their agency (or null: unassign them); all or nothing."""
    result = assignment.assign_cases(session=session, principal=principal, case_nos=data.case_nos,
                                     collector_user_id=data.collector_user_id, actor=principal.actor)
    return AssignmentResult(collector_user_id=data.collector_user_id, assigned=len(result.changed),
                            unchanged=len(result.unchanged), changed_case_nos=result.changed)


@router.post("/work-queue/distribute", response_model=DistributionResult)
def distribute(session: SessionDep, principal: Assigner, data: DistributeRequest) -> DistributionResult:
    """Share the unassigned open cases (and those needing reassignment) among collectors, in queue order."""
    result = assignment.distribute(session=session, principal=principal, agency_id=data.agency_id,
                                   collector_user_ids=data.collector_user_ids, actor=principal.actor)
    return DistributionResult(
        agency_id=result.agency_id, assigned=result.assigned,
        collectors=[CollectorShare(user_id=user_id, username=result.users[user_id].username, assigned=given,
                                   open_cases=held) for user_id, (given, held) in result.shares.items()],
    )


@router.get("/cases/{case_no}/assignee", response_model=CaseAssigneeRead)
def get_assignee(session: SessionDep, principal: CaseReader, case_no: str, response: Response) -> CaseAssigneeRead:
    """Who works the case, and its assignment history; the ETag is the case's version."""
    case = visible_case(session=session, principal=principal, case_no=case_no)
    set_etag(response, case.version)
    return _assignee_read(session, case)


@router.put("/cases/{case_no}/assignee", response_model=CaseAssigneeRead)
def put_assignee(
    session: SessionDep, principal: Assigner, case_no: str, data: AssigneeUpdate, request: Request, response: Response
) -> CaseAssigneeRead:
    """Give the case to a collector of its agency, or take it back (null). Honours If-Match."""
    case = assignment.assign_case(
        session=session, principal=principal, case_no=case_no, collector_user_id=data.collector_user_id,
        actor=principal.actor, check_version=lambda version: check_if_match(request, version),
    )
    set_etag(response, case.version)
    return _assignee_read(session, case)


def _assignee_read(session, case: Case) -> CaseAssigneeRead:
    users = queue_service.users_by_id(session=session, user_ids={case.collector_user_id})
    user = users.get(case.collector_user_id) if case.collector_user_id is not None else None
    return CaseAssigneeRead(
        case_no=case.case_no, agency_id=case.agency_id, version=case.version,
        assignee=queue_service.assignee_read(user) if user is not None else None,
        history=[AssignmentRead.model_validate(row)
                 for row in assignment.case_assignments(session=session, case_id=case.id)],
    )


@router.get("/queue-policies", response_model=list[QueuePolicyRead])
def list_policies(session: SessionDep, principal: QueueReader) -> list[QueuePolicyRead]:
    """Every stored version of the queue policy, oldest first (the last is in force)."""
    return [_policy_read(row) for row in queue_service.list_policies(session=session)]


@router.get("/queue-policies/current", response_model=QueuePolicyRead)
def current_policy(session: SessionDep, principal: QueueReader) -> QueuePolicyRead:
    """The policy in force: the latest stored version, or the built-in default (version null)."""
    current = queue_service.current_policy(session=session)
    if current.stored is None:
        return QueuePolicyRead(name=BUILT_IN_NAME, version=None, sha256=DEFAULT_POLICY.sha256(),
                               policy=DEFAULT_POLICY, created_by=None, created_at=None)
    return _policy_read(current.stored)


@router.post("/queue-policies", response_model=QueuePolicyRead, status_code=status.HTTP_201_CREATED)
def create_policy(
    session: SessionDep, principal: PolicyWriter, data: QueuePolicyCreate, response: Response
) -> QueuePolicyRead:
    """Store a new version and put it in force (201); the policy in force again changes nothing (200)."""
    row, created = queue_service.save_policy(session=session, policy=data.policy, name=data.name,
                                             actor=principal.actor)
    if not created:
        response.status_code = status.HTTP_200_OK
    return _policy_read(row)


def _policy_read(row) -> QueuePolicyRead:
    return QueuePolicyRead(name=row.name, version=row.version, sha256=row.sha256, policy=row.rules,
                           created_by=row.created_by, created_at=row.created_at)
