"""HTTP API of the end of entrustment: deletion dues and deletion certificates, under /api/v1.

deletion.read: lender staff see every agency's dues and certificates, an agency manager
their own agency's only. deletion.certify: an agency manager certifies for their own
agency; an admin may record a certificate on an agency's behalf, with the evidence.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from weiwai.clock import today_local
from weiwai.errors import RuleViolation
from weiwai.i18n import _
from weiwai.privacy import deletion
from weiwai.privacy.deletion import CertificateCreate, CertificateRead, DueRead
from weiwai.security.permissions import Permission
from weiwai.security.scope import check_owned, own_agency
from weiwai.web.deps import Allowed, SessionDep
from weiwai.web.idempotency import Idempotency
from weiwai.web.pagination import DEFAULT_PAGE_SIZE, Limit, Offset, Page
from weiwai.web.params import OptionalRowId, RowId

router = APIRouter(prefix="/api/v1", tags=["privacy"])


@router.get("/deletion-dues", response_model=Page[DueRead])
def list_dues(
    session: SessionDep, principal: Allowed(Permission.deletion_read), agency_id: OptionalRowId = None,
    package_id: OptionalRowId = None, overdue: bool | None = None, certified: bool | None = None,
    offset: Offset = 0, limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[DueRead]:
    """Handover copies due for deletion, earliest due first (filters: agency, package, overdue, certified)."""
    agency = own_agency(principal, agency_id)
    rows, total = deletion.list_dues(session=session, today=today_local(), agency_id=agency, package_id=package_id,
                                     overdue=overdue, certified=certified, offset=offset, limit=limit)
    return Page[DueRead](items=rows, total=total, offset=offset, limit=limit)


@router.get("/deletion-certificates", response_model=Page[CertificateRead])
def list_certificates(
    session: SessionDep, principal: Allowed(Permission.deletion_read), agency_id: OptionalRowId = None,
    offset: Offset = 0, limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[CertificateRead]:
    """Deletion certificates, newest first."""
    agency = own_agency(principal, agency_id)
    rows, total = deletion.list_certificates(session=session, agency_id=agency, offset=offset, limit=limit)
    return Page[CertificateRead](items=[CertificateRead.model_validate(r) for r in rows], total=total,
                                 offset=offset, limit=limit)


@router.get("/deletion-certificates/{certificate_id}", response_model=CertificateRead)
def get_certificate(
    session: SessionDep, principal: Allowed(Permission.deletion_read), certificate_id: RowId,
) -> CertificateRead:
    """One deletion certificate."""
    certificate = deletion.get_certificate(session=session, certificate_id=certificate_id)
    check_owned(principal, certificate.agency_id, ref=certificate_id, what=_("deletion certificate"))
    return CertificateRead.model_validate(certificate)


@router.post("/deletion-certificates", response_model=CertificateRead, status_code=status.HTTP_201_CREATED)
def submit_certificate(
    session: SessionDep, principal: Allowed(Permission.deletion_certify), data: CertificateCreate,
    idempotency: Idempotency,
) -> CertificateRead:
    """Certify the deletion of the agency's copies of some packages (cases ended by `deleted_on`)."""

    def work() -> CertificateRead:
        agency = own_agency(principal, data.agency_id)
        if agency is None:
            raise RuleViolation(_("say which agency the certificate is for (agency_id)"))
        certificate = deletion.submit_certificate(session=session, data=data, agency_id=agency,
                                                  actor=principal.actor, on_behalf=principal.is_lender)
        return CertificateRead.model_validate(certificate)

    return idempotency.run(work, body=data, status_code=status.HTTP_201_CREATED)
