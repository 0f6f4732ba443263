"""HTTP API of agency reviews (CN-11) and collector qualifications (CN-10), under /api/v1.

Reviews: agency_reviews.read (lender staff; an agency manager their own agency's, without
staff names) and agency_reviews.write (compliance, admin). Qualifications:
collectors.qualify (compliance and admin for every collector, an agency manager for the
collectors of their own agency); anyone else's answers 404.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from weiwai.agencies.models import Agency
from weiwai.compliance import qualifications, reviews
from weiwai.compliance.qualifications import QualificationCreate, QualificationStatus
from weiwai.compliance.reviews import ReviewCreate, ReviewRead
from weiwai.errors import NotFound
from weiwai.i18n import _
from weiwai.security.permissions import Permission
from weiwai.security.scope import check_owned
from weiwai.security.service import visible_user
from weiwai.web.deps import Allowed, Principal, SessionDep
from weiwai.web.pagination import DEFAULT_PAGE_SIZE, Limit, Offset, Page
from weiwai.web.params import RowId

router = APIRouter(prefix="/api/v1", tags=["compliance"])


def _agency(session, principal: Principal, agency_id: int) -> Agency:
    check_owned(principal, agency_id, ref=agency_id, what=_("agency"))
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise NotFound(_("no agency {ref}").format(ref=agency_id))
    return agency


def _review_read(review, principal: Principal) -> ReviewRead:
    read = ReviewRead.model_validate(review)
    return read if principal.is_lender else read.model_copy(update={"evaluated_by": None})


@router.get("/agencies/{agency_id}/reviews", response_model=Page[ReviewRead])
def list_reviews(
    session: SessionDep,
    principal: Allowed(Permission.agency_reviews_read),
    agency_id: RowId,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[ReviewRead]:
    """The agency's reviews, newest first."""
    agency = _agency(session, principal, agency_id)
    rows, total = reviews.list_reviews(session=session, agency_id=agency.id, offset=offset, limit=limit)
    return Page[ReviewRead](items=[_review_read(r, principal) for r in rows], total=total, offset=offset,
                            limit=limit)


@router.post("/agencies/{agency_id}/reviews", response_model=ReviewRead, status_code=status.HTTP_201_CREATED)
def create_review(
    session: SessionDep, principal: Allowed(Permission.agency_reviews_write), agency_id: RowId, data: ReviewCreate
) -> ReviewRead:
    """Record a review (annual, pre_expiry, ad_hoc; three scores 0-100; pass, conditional or fail)."""
    agency = _agency(session, principal, agency_id)
    review = reviews.record_review(session=session, agency_id=agency.id, data=data, actor=principal.actor)
    return _review_read(review, principal)


@router.get("/users/{user_id}/qualifications", response_model=QualificationStatus)
def get_qualifications(
    session: SessionDep, principal: Allowed(Permission.collectors_qualify), user_id: RowId
) -> QualificationStatus:
    """The collector's qualification items, when each lapses, and whether they may work today."""
    user = visible_user(session=session, principal=principal, user_id=user_id)
    return qualifications.qualification_status(session=session, user_id=user.id)


@router.post("/users/{user_id}/qualifications", response_model=QualificationStatus,
             status_code=status.HTTP_201_CREATED)
def record_qualification(
    session: SessionDep, principal: Allowed(Permission.collectors_qualify), user_id: RowId, data: QualificationCreate
) -> QualificationStatus:
    """Record (or renew) a background check, training or confidentiality agreement of a collector."""
    user = visible_user(session=session, principal=principal, user_id=user_id)
    qualifications.record_qualification(session=session, user=user, data=data, actor=principal.actor)
    return qualifications.qualification_status(session=session, user_id=user.id)
