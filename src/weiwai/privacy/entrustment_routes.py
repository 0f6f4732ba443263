"""HTTP API of entrustments (PIPL art. 21) and impact assessments (art. 55-56), under /api/v1.

Reading: entrustments.read (lender staff; an agency manager their own agency's, 404 for
any other). Changing an entrustment: entrustments.write, honouring If-Match. Filing,
submitting and deciding assessments: impact_assessments.write (four eyes: the assessor
never decides their own).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from weiwai.errors import NotFound
from weiwai.i18n import _
from weiwai.privacy import assessments, entrustment
from weiwai.privacy.assessments import AssessmentCreate, AssessmentDecision, AssessmentRead
from weiwai.privacy.entrustment import EntrustmentRead, EntrustmentUpdate
from weiwai.privacy.models import AssessmentStatus, EntrustmentStatus
from weiwai.agencies.models import Contract
from weiwai.security.permissions import Permission
from weiwai.security.scope import check_owned, own_agency
from weiwai.web.deps import Allowed, Principal, SessionDep
from weiwai.web.etag import check_if_match, set_etag
from weiwai.web.idempotency import Idempotency
from weiwai.web.pagination import DEFAULT_PAGE_SIZE, Limit, Offset, Page
from weiwai.web.params import OptionalRowId, RowId

router = APIRouter(prefix="/api/v1", tags=["privacy"])


def _read(session, item) -> EntrustmentRead:
    read = EntrustmentRead.model_validate(item)
    return read.model_copy(update={"contract_no": session.get(Contract, item.contract_id).contract_no})


def _visible(session, principal: Principal, entrustment_id: int):
    try:
        item = entrustment.get_entrustment(session=session, entrustment_id=entrustment_id)
    except NotFound:
        raise NotFound(_("no entrustment {ref}").format(ref=entrustment_id)) from None
    check_owned(principal, item.agency_id, ref=entrustment_id, what=_("entrustment"))
    return item


def _visible_assessment(session, principal: Principal, assessment_id: int):
    item = assessments.get_assessment(session=session, assessment_id=assessment_id)
    check_owned(principal, item.agency_id, ref=assessment_id, what=_("impact assessment"))
    return item


@router.get("/entrustments", response_model=Page[EntrustmentRead])
def list_entrustments(
    session: SessionDep, principal: Allowed(Permission.entrustments_read), agency_id: OptionalRowId = None,
    status: EntrustmentStatus | None = None, offset: Offset = 0, limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[EntrustmentRead]:
    """Entrustment records, newest first (an agency's users: their own)."""
    agency = own_agency(principal, agency_id)
    rows, total = entrustment.list_entrustments(session=session, agency_id=agency, status=status, offset=offset,
                                                limit=limit)
    return Page[EntrustmentRead](items=[_read(session, r) for r in rows], total=total, offset=offset, limit=limit)


@router.get("/entrustments/{entrustment_id}", response_model=EntrustmentRead)
def get_entrustment(
    session: SessionDep, principal: Allowed(Permission.entrustments_read), entrustment_id: RowId, response: Response,
) -> EntrustmentRead:
    """One entrustment, with its version as ETag."""
    item = _visible(session, principal, entrustment_id)
    set_etag(response, item.version)
    return _read(session, item)


@router.patch("/entrustments/{entrustment_id}", response_model=EntrustmentRead)
def update_entrustment(
    session: SessionDep, principal: Allowed(Permission.entrustments_write), entrustment_id: RowId,
    data: EntrustmentUpdate, request: Request, response: Response,
) -> EntrustmentRead:
    """Change the terms of an entrustment in force (version bumped, audited). Honours If-Match."""
    item = _visible(session, principal, entrustment_id)
    check_if_match(request, item.version)
    item = entrustment.update_entrustment(session=session, entrustment=item, data=data, actor=principal.actor)
    session.flush()
    set_etag(response, item.version)
    return _read(session, item)


@router.get("/impact-assessments", response_model=Page[AssessmentRead])
def list_assessments(
    session: SessionDep, principal: Allowed(Permission.entrustments_read), agency_id: OptionalRowId = None,
    status: AssessmentStatus | None = None, offset: Offset = 0, limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[AssessmentRead]:
    """Impact assessments, newest first (an agency's users: their own agency's)."""
    agency = own_agency(principal, agency_id)
    rows, total = assessments.list_assessments(session=session, agency_id=agency, status=status, offset=offset,
                                               limit=limit)
    return Page[AssessmentRead](items=[AssessmentRead.model_validate(r) for r in rows], total=total, offset=offset,
                                limit=limit)


@router.post("/impact-assessments", response_model=AssessmentRead, status_code=status.HTTP_201_CREATED)
def create_assessment(
    session: SessionDep, principal: Allowed(Permission.impact_assessments_write), data: AssessmentCreate,
    idempotency: Idempotency,
) -> AssessmentRead:
    """File a draft assessment of an agency (the caller is its assessor)."""

    def work() -> AssessmentRead:
        own_agency(principal, data.agency_id)
        item = assessments.create_assessment(session=session, data=data, actor=principal.actor)
        return AssessmentRead.model_validate(item)

    return idempotency.run(work, body=data, status_code=status.HTTP_201_CREATED)


@router.get("/impact-assessments/{assessment_id}", response_model=AssessmentRead)
def get_assessment(
    session: SessionDep, principal: Allowed(Permission.entrustments_read), assessment_id: RowId,
) -> AssessmentRead:
    """One impact assessment."""
    return AssessmentRead.model_validate(_visible_assessment(session, principal, assessment_id))


@router.post("/impact-assessments/{assessment_id}/submit", response_model=AssessmentRead)
def submit_assessment(
    session: SessionDep, principal: Allowed(Permission.impact_assessments_write), assessment_id: RowId,
) -> AssessmentRead:
    """Send a draft assessment for approval."""
    item = _visible_assessment(session, principal, assessment_id)
    return AssessmentRead.model_validate(
        assessments.submit_assessment(session=session, assessment=item, actor=principal.actor))


@router.post("/impact-assessments/{assessment_id}/decision", response_model=AssessmentRead)
def decide_assessment(
    session: SessionDep, principal: Allowed(Permission.impact_assessments_write), assessment_id: RowId,
    data: AssessmentDecision,
) -> AssessmentRead:
    """Approve or reject a submitted assessment (never its own assessor)."""
    item = _visible_assessment(session, principal, assessment_id)
    return AssessmentRead.model_validate(assessments.decide_assessment(
        session=session, assessment=item, approve=data.approve, note=data.note, actor=principal.actor))
