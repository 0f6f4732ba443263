"""HTTP API of payments, under /api/v1: the lender's view of payments, their attribution
and reversals, and recording one repayment. Reading needs payments.read, recording and
reversing payments.write (docs/roles.md); agency users hold neither: they see their
recoveries on their statements."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from weiwai.payments.models import AttributionKind
from weiwai.payments.queries import list_payments, payment_detail
from weiwai.payments.recording import record_payment
from weiwai.payments.schemas import PaymentCreate, PaymentDetail, PaymentFilters, PaymentPage, ReversalCreate
from weiwai.payments.service import reverse_payment
from weiwai.portfolio.models import PaymentStatus
from weiwai.security.permissions import Permission
from weiwai.web.deps import Allowed, SessionDep
from weiwai.web.idempotency import Idempotency
from weiwai.web.pagination import DEFAULT_PAGE_SIZE, Limit, Offset
from weiwai.web.params import OptionalRowId, PathRef, QueryRef

router = APIRouter(prefix="/api/v1", tags=["payments"])

# A local day that still is one in UTC (a day of year 1 or 9999 would leave the calendar).
Day = Annotated[date | None, Query(ge=date(1900, 1, 1), le=date(9998, 12, 31), description="A local day.")]


@router.get("/payments", response_model=PaymentPage)
def get_payments(
    session: SessionDep,
    _principal: Allowed(Permission.payments_read),
    account_no: QueryRef = None,
    payment_status: Annotated[PaymentStatus | None, Query(alias="status")] = None,
    kind: AttributionKind | None = None,
    unattributed: bool = False,
    agency_id: OptionalRowId = None,
    paid_from: Day = None,
    paid_to: Day = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> PaymentPage:
    """Payments, newest first, with their applied split, attribution and any reversal."""
    filters = PaymentFilters(account_no=account_no, status=payment_status, kind=kind, unattributed=unattributed,
                             agency_id=agency_id, paid_from=paid_from, paid_to=paid_to)
    return list_payments(session=session, filters=filters, offset=offset, limit=limit)


@router.post("/payments", response_model=PaymentDetail, status_code=status.HTTP_201_CREATED)
def post_payment(
    session: SessionDep,
    principal: Allowed(Permission.payments_write),
    data: PaymentCreate,
    response: Response,
    idempotency: Idempotency,
) -> PaymentDetail:
    """Record one repayment, posted as the payments import posts it: 201; 200 when the same
    txn_id was recorded with the same details; 409 txn_id_conflict with other details."""

    def work() -> PaymentDetail:
        _payment, created = record_payment(session=session, data=data, actor=principal.actor)
        if not created:
            response.status_code = status.HTTP_200_OK
        return payment_detail(session=session, txn_id=data.txn_id)

    return idempotency.run(work, body=data, status_code=status.HTTP_201_CREATED)


@router.get("/payments/{txn_id}", response_model=PaymentDetail)
def get_payment(
    session: SessionDep, _principal: Allowed(Permission.payments_read), txn_id: PathRef
) -> PaymentDetail:
    """One payment, with the ledger entries it caused."""
    return payment_detail(session=session, txn_id=txn_id)


@router.post("/payments/{txn_id}/reversal", response_model=PaymentDetail, status_code=status.HTTP_201_CREATED)
def post_reversal(
    session: SessionDep, principal: Allowed(Permission.payments_write), txn_id: PathRef, data: ReversalCreate
) -> PaymentDetail:
    """Reverse a bounced payment: balances restored, attribution undone, commission clawed back."""
    reverse_payment(session=session, txn_id=txn_id, reason=data.reason, actor=principal.actor,
                    at=data.reversed_at, reference=data.reference)
    return payment_detail(session=session, txn_id=txn_id)
