"""HTTP API of payments, under /api/v1: the lender's view of payments, their attribution
and reversals. Agencies see their recoveries on their statements, not here."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from weiwai.payments.models import AttributionKind
from weiwai.payments.queries import list_payments, payment_detail
from weiwai.payments.schemas import PaymentDetail, PaymentFilters, PaymentPage, ReversalCreate
from weiwai.payments.service import reverse_payment
from weiwai.portfolio.models import PaymentStatus
from weiwai.security.models import Role
from weiwai.web.deps import Principal, SessionDep, require_roles

router = APIRouter(prefix="/api/v1", tags=["payments"])

MAX_PAGE_SIZE = 200
Reader = Annotated[
    Principal, Depends(require_roles(Role.finance, Role.operations, Role.auditor, Role.admin))
]
Reverser = Annotated[Principal, Depends(require_roles(Role.finance, Role.admin))]


@router.get("/payments", response_model=PaymentPage)
def get_payments(
    session: SessionDep,
    _principal: Reader,
    account_no: str | None = None,
    payment_status: Annotated[PaymentStatus | None, Query(alias="status")] = None,
    kind: AttributionKind | None = None,
    unattributed: bool = False,
    agency_id: int | None = None,
    paid_from: date | None = None,
    paid_to: date | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> PaymentPage:
    """Payments, newest first, with their applied split, attribution and any reversal."""
    filters = PaymentFilters(account_no=account_no, status=payment_status, kind=kind, unattributed=unattributed,
                             agency_id=agency_id, paid_from=paid_from, paid_to=paid_to)
    return list_payments(session=session, filters=filters, offset=offset, limit=limit)


@router.get("/payments/{txn_id}", response_model=PaymentDetail)
def get_payment(session: SessionDep, _principal: Reader, txn_id: str) -> PaymentDetail:
    """One payment, with the ledger entries it caused."""
    return payment_detail(session=session, txn_id=txn_id)


@router.post("/payments/{txn_id}/reversal", response_model=PaymentDetail, status_code=status.HTTP_201_CREATED)
def post_reversal(session: SessionDep, principal: Reverser, txn_id: str, data: ReversalCreate) -> PaymentDetail:
    """Reverse a bounced payment: balances restored, attribution undone, commission clawed back."""
    reverse_payment(session=session, txn_id=txn_id, reason=data.reason, actor=principal.actor,
                    at=data.reversed_at, reference=data.reference)
    return payment_detail(session=session, txn_id=txn_id)
