"""HTTP API of agency information-security reviews, under /api/v1/infosec.

infosec_reviews.read: lender staff every agency's; an agency manager only their own
agency's reviews and findings (weiwai.security.scope.own_agency / check_owned; another's
answers 404 like a missing one). infosec_reviews.write: the lender's infosec team.
"""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict

from weiwai.clock import today_local
from weiwai.i18n import _
from weiwai.privacy import infosec
from weiwai.privacy.infosec import (
    Checklist,
    FindingCreate,
    FindingStatus,
    FindingTransition,
    ReviewComplete,
    ReviewCreate,
    Severity,
)
from weiwai.security.permissions import Permission
from weiwai.security.scope import check_owned, own_agency
from weiwai.web.deps import Allowed, Principal, SessionDep
from weiwai.web.pagination import DEFAULT_PAGE_SIZE, Limit, Offset, Page
from weiwai.web.params import OptionalRowId, PathRef, RowId

router = APIRouter(prefix="/api/v1/infosec", tags=["privacy"])


class ReviewRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agency_id: int
    checklist_code: str
    checklist_version: int
    reviewed_on: date
    reviewer: str
    period_start: date | None
    period_end: date | None
    status: str
    outcome: str | None
    results: dict
    evidence_refs: list
    notes: str | None
    next_review_due: date | None
    completed_at: datetime | None


class FindingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    review_id: int
    agency_id: int
    item_code: str
    severity: str
    description: str
    remediation_due_on: date
    status: str
    evidence_ref: str | None
    remediated_at: datetime | None
    verified_at: datetime | None
    accepted_at: datetime | None
    note: str | None
    overdue: bool = False


class ReviewDueRead(BaseModel):
    agency_id: int
    agency_code: str
    due_on: date | None
    last_reviewed_on: date | None


def _finding_read(finding) -> FindingRead:
    read = FindingRead.model_validate(finding)
    read.overdue = finding.status in infosec.UNRESOLVED and finding.remediation_due_on < today_local()
    return read


def _review(session, principal: Principal, review_id: int):
    review = infosec.get_review(session=session, review_id=review_id)
    check_owned(principal, review.agency_id, ref=review_id, what=_("infosec review"))
    return review


def _finding(session, principal: Principal, finding_id: int):
    finding = infosec.get_finding(session=session, finding_id=finding_id)
    check_owned(principal, finding.agency_id, ref=finding_id, what=_("infosec finding"))
    return finding


@router.get("/checklists", response_model=list[Checklist])
def list_checklists(principal: Allowed(Permission.infosec_reviews_read)) -> list[Checklist]:
    """The checklist templates (every version)."""
    return [infosec.checklists()[key] for key in sorted(infosec.checklists())]


@router.get("/checklists/{checklist_code}", response_model=Checklist)
def get_checklist(principal: Allowed(Permission.infosec_reviews_read), checklist_code: PathRef) -> Checklist:
    """A checklist template, its latest version."""
    return infosec.get_checklist(checklist_code)


@router.get("/reviews", response_model=Page[ReviewRead])
def list_reviews(
    session: SessionDep, principal: Allowed(Permission.infosec_reviews_read), agency_id: OptionalRowId = None,
    offset: Offset = 0, limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[ReviewRead]:
    """Reviews, newest first (an agency manager: their own agency's)."""
    agency_id = own_agency(principal, agency_id)
    rows, total = infosec.list_reviews(session=session, agency_id=agency_id, offset=offset, limit=limit)
    return Page[ReviewRead](items=[ReviewRead.model_validate(r) for r in rows], total=total, offset=offset,
                            limit=limit)


@router.post("/reviews", response_model=ReviewRead, status_code=status.HTTP_201_CREATED)
def create_review(session: SessionDep, principal: Allowed(Permission.infosec_reviews_write),
                  data: ReviewCreate) -> ReviewRead:
    """Open a draft review of an agency against a checklist."""
    return ReviewRead.model_validate(infosec.create_review(session=session, data=data, actor=principal.actor))


@router.get("/reviews/{review_id}", response_model=ReviewRead)
def get_review(session: SessionDep, principal: Allowed(Permission.infosec_reviews_read),
               review_id: RowId) -> ReviewRead:
    """One review."""
    return ReviewRead.model_validate(_review(session, principal, review_id))


@router.post("/reviews/{review_id}/complete", response_model=ReviewRead)
def complete_review(session: SessionDep, principal: Allowed(Permission.infosec_reviews_write), review_id: RowId,
                    data: ReviewComplete) -> ReviewRead:
    """Complete a draft review: every item pass / fail / n/a; failed items without a finding get one."""
    review = _review(session, principal, review_id)
    return ReviewRead.model_validate(infosec.complete_review(session=session, review=review, data=data,
                                                             actor=principal.actor))


@router.post("/reviews/{review_id}/findings", response_model=FindingRead, status_code=status.HTTP_201_CREATED)
def add_finding(session: SessionDep, principal: Allowed(Permission.infosec_reviews_write), review_id: RowId,
                data: FindingCreate) -> FindingRead:
    """Record a finding of a draft review (severity and deadline default from the checklist item)."""
    review = _review(session, principal, review_id)
    return _finding_read(infosec.add_finding(session=session, review=review, data=data, actor=principal.actor))


@router.get("/findings", response_model=Page[FindingRead])
def list_findings(
    session: SessionDep, principal: Allowed(Permission.infosec_reviews_read), agency_id: OptionalRowId = None,
    review_id: OptionalRowId = None, status: FindingStatus | None = None, severity: Severity | None = None,
    offset: Offset = 0, limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[FindingRead]:
    """Findings by remediation deadline (an agency manager: their own agency's)."""
    agency_id = own_agency(principal, agency_id)
    rows, total = infosec.list_findings(session=session, agency_id=agency_id, review_id=review_id,
                                        status=status.value if status else None,
                                        severity=severity.value if severity else None, offset=offset, limit=limit)
    return Page[FindingRead](items=[_finding_read(r) for r in rows], total=total, offset=offset, limit=limit)


@router.get("/findings/{finding_id}", response_model=FindingRead)
def get_finding(session: SessionDep, principal: Allowed(Permission.infosec_reviews_read),
                finding_id: RowId) -> FindingRead:
    """One finding."""
    return _finding_read(_finding(session, principal, finding_id))


@router.post("/findings/{finding_id}/transitions", response_model=FindingRead)
def transition_finding(session: SessionDep, principal: Allowed(Permission.infosec_reviews_write), finding_id: RowId,
                       data: FindingTransition) -> FindingRead:
    """Move a finding: open -> remediated (with evidence) -> verified; open -> risk_accepted (not by its reporter)."""
    finding = _finding(session, principal, finding_id)
    return _finding_read(infosec.transition_finding(session=session, finding=finding, data=data,
                                                    actor=principal.actor))


@router.get("/reviews-due", response_model=list[ReviewDueRead])
def reviews_due(session: SessionDep, principal: Allowed(Permission.infosec_reviews_read)) -> list[ReviewDueRead]:
    """Active agencies whose next information-security review is due (or that were never reviewed)."""
    agency_id = own_agency(principal, None)
    rows = infosec.reviews_due(session=session, as_of=today_local())
    return [ReviewDueRead(**vars(r)) for r in rows if agency_id is None or r.agency_id == agency_id]
