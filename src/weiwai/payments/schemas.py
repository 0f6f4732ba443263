"""Shapes of payments as the API and CLI show them: the applied split, the attribution,
the reversal and what the payment earned. Amounts are Decimal (JSON strings)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from weiwai.payments.models import AttributionKind
from weiwai.portfolio.models import PaymentStatus

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class AppliedSplit(BaseModel):
    """How the payment was applied to the balance; a reversal undoes exactly this."""

    fee: Decimal
    penalty: Decimal
    interest: Decimal
    principal: Decimal
    credit: Decimal = Field(description="Over-payment kept as credit on the account.")


class AttributionRead(BaseModel):
    kind: AttributionKind
    case_no: str | None
    agency_id: int | None
    agency_code: str | None
    amount: Decimal = Field(description="The recovery: the payment less any over-payment credit.")
    attributed_at: datetime
    reversed_at: datetime | None


class ReversalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    reversed_at: datetime
    reason: str
    reference: str | None
    recorded_by: str
    recorded_at: datetime


class CommissionLineRead(BaseModel):
    source_key: str
    kind: str
    period: str
    amount: Decimal
    statement_no: str | None


class PaymentRead(BaseModel):
    txn_id: str
    account_no: str
    amount: Decimal
    paid_at: datetime
    channel: str | None
    status: PaymentStatus
    applied: AppliedSplit
    attribution: AttributionRead | None
    reversal: ReversalRead | None


class PaymentDetail(PaymentRead):
    commission: list[CommissionLineRead]


class PaymentPage(BaseModel):
    items: list[PaymentRead]
    total: int


class PaymentFilters(BaseModel):
    """Filters of the payment list; all optional and combined with AND."""

    model_config = ConfigDict(extra="forbid")

    account_no: str | None = None
    status: PaymentStatus | None = None
    kind: AttributionKind | None = None
    unattributed: bool = False
    agency_id: int | None = None
    paid_from: date | None = Field(default=None, description="First local day, inclusive.")
    paid_to: date | None = Field(default=None, description="Last local day, inclusive.")


class ReversalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason
    reversed_at: AwareDatetime | None = Field(default=None, description="When the bank reversed it; default now.")
    reference: Reference | None = Field(default=None, description="The bank's reference of the reversal.")
