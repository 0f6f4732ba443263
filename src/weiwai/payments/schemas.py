"""Shapes of payments as the API and CLI show them: the applied split, the attribution,
the reversal and what the payment earned. Amounts are Decimal (JSON strings)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from weiwai.payments.models import AttributionKind
from weiwai.portfolio.models import PaymentStatus
from weiwai.web.pagination import Page

# No NUL (PostgreSQL cannot store it); references are printable.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=r"^[^\x00]+$")]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                             pattern=r"^[^\x00-\x1f\x7f]+$")]
# Identifiers as the payments file has them (weiwai.portfolio.importing.validation.code).
TxnId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z][0-9A-Za-z_\-./]{0,63}$")]
AccountNo = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z][0-9A-Za-z_\-./]{0,39}$")]
PaymentChannel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32,
                                                  pattern=r"^[^\x00-\x1f\x7f]+$")]


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


class PaymentPage(Page[PaymentRead]):
    """One page of payments, newest first."""


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

    @field_validator("reversed_at")
    @classmethod
    def _in_range(cls, value: datetime | None) -> datetime | None:
        from weiwai.i18n import _

        try:
            return None if value is None else value.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 with an offset
            raise ValueError(_("the time is out of range")) from None


class PaymentCreate(BaseModel):
    """One repayment as the lender records it (the same fields as a row of the payments file)."""

    model_config = ConfigDict(extra="forbid")

    txn_id: TxnId = Field(description="The lender's transaction id: unique; sending it again is idempotent.")
    account_no: AccountNo
    amount: Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2)] = Field(
        description="More than 0, at most two decimals (a JSON string, e.g. \"300.50\").")
    paid_at: AwareDatetime = Field(description="When it was paid, with an offset; stored in UTC.")
    channel: PaymentChannel | None = None

    @field_validator("paid_at")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        from weiwai.i18n import _
        from weiwai.portfolio.importing.payment_rows import CLOCK_SKEW, EARLIEST_PAYMENT

        try:
            value = value.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 with an offset
            raise ValueError(_("the time is out of range")) from None
        if value > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError(_("the payment time is in the future"))
        if value < EARLIEST_PAYMENT:
            raise ValueError(_("the payment time is before the year 2000"))
        return value
