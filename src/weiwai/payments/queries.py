"""Reading payments with their attribution, reversal and commission, for the API and CLI."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from weiwai.agencies.models import Agency
from weiwai.errors import NotFound
from weiwai.i18n import _
from weiwai.payments.models import PaymentAttribution, PaymentReversal
from weiwai.payments.schemas import (
    AppliedSplit,
    AttributionRead,
    CommissionLineRead,
    PaymentDetail,
    PaymentFilters,
    PaymentPage,
    PaymentRead,
    ReversalRead,
)
from weiwai.placements.models import Case
from weiwai.portfolio.models import Account, Payment
from weiwai.settlement.models import CommissionEntry, CommissionStatement
from weiwai.settlement.periods import lender_tz

_AttributedCase = aliased(Case)


def _joined() -> Select:
    return (
        select(Payment, Account.account_no, PaymentAttribution, _AttributedCase.case_no, Agency.code, PaymentReversal)
        .join(Account, Account.id == Payment.account_id)
        .outerjoin(PaymentAttribution, PaymentAttribution.payment_id == Payment.id)
        .outerjoin(_AttributedCase, _AttributedCase.id == PaymentAttribution.case_id)
        .outerjoin(Agency, Agency.id == PaymentAttribution.agency_id)
        .outerjoin(PaymentReversal, PaymentReversal.payment_id == Payment.id)
    )


def _filtered(query: Select, filters: PaymentFilters) -> Select:
    if filters.account_no:
        query = query.where(Account.account_no == filters.account_no)
    if filters.status is not None:
        query = query.where(Payment.status == filters.status.value)
    if filters.unattributed:
        query = query.where(PaymentAttribution.id.is_(None))
    elif filters.kind is not None:
        query = query.where(PaymentAttribution.kind == filters.kind.value)
    if filters.agency_id is not None:
        query = query.where(PaymentAttribution.agency_id == filters.agency_id)
    tz = lender_tz()
    if filters.paid_from is not None:
        query = query.where(Payment.paid_at >= datetime.combine(filters.paid_from, time(), tz).astimezone(UTC))
    if filters.paid_to is not None:
        after = datetime.combine(filters.paid_to + timedelta(days=1), time(), tz).astimezone(UTC)
        query = query.where(Payment.paid_at < after)
    return query


def _read(row) -> PaymentRead:
    payment, account_no, attribution, case_no, agency_code, reversal = row
    return PaymentRead(
        txn_id=payment.txn_id,
        account_no=account_no,
        amount=payment.amount,
        paid_at=payment.paid_at,
        channel=payment.channel,
        status=payment.status,
        applied=AppliedSplit(
            fee=payment.applied_fee, penalty=payment.applied_penalty, interest=payment.applied_interest,
            principal=payment.applied_principal, credit=payment.applied_credit,
        ),
        attribution=None if attribution is None else AttributionRead(
            kind=attribution.kind, case_no=case_no, agency_id=attribution.agency_id, agency_code=agency_code,
            amount=attribution.amount, attributed_at=attribution.attributed_at, reversed_at=attribution.reversed_at,
        ),
        reversal=None if reversal is None else ReversalRead.model_validate(reversal),
    )


def list_payments(*, session: Session, filters: PaymentFilters, offset: int = 0, limit: int = 50) -> PaymentPage:
    """A page of payments, newest first."""
    query = _filtered(_joined(), filters)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.execute(query.order_by(Payment.paid_at.desc(), Payment.id.desc()).offset(offset).limit(limit))
    return PaymentPage(items=[_read(row) for row in rows], total=total or 0, offset=offset, limit=limit)


def payment_detail(*, session: Session, txn_id: str) -> PaymentDetail:
    """One payment: applied split, attribution, reversal and the ledger entries it caused."""
    row = session.execute(_joined().where(Payment.txn_id == txn_id)).one_or_none()
    if row is None:
        raise NotFound(_("no payment with transaction id {txn}").format(txn=txn_id))
    entries = session.execute(
        select(CommissionEntry, CommissionStatement.statement_no)
        .outerjoin(CommissionStatement, CommissionStatement.id == CommissionEntry.statement_id)
        .where(CommissionEntry.payment_id == row[0].id)
        .order_by(CommissionEntry.id)
    ).all()
    lines = [
        CommissionLineRead(source_key=entry.source_key, kind=str(entry.kind), period=entry.period,
                           amount=entry.amount, statement_no=statement_no)
        for entry, statement_no in entries
    ]
    return PaymentDetail(**_read(row).model_dump(), commission=lines)

