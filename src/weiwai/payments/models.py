"""Attribution of the lender's payments to agencies, and reversals of bounced payments.

The payments themselves (weiwai.portfolio.models.Payment) are the lender's records and
the truth; this domain says whose work each one was.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from weiwai.db import Base, UtcDateTime, utcnow
from weiwai.money import MoneyColumn


class AttributionKind(StrEnum):
    case = "case"  # paid while the case was open with the agency
    grace = "grace"  # paid within the contract's post-recall grace days
    direct = "direct"  # the lender's own: no agency earns on it


class PaymentAttribution(Base):
    __tablename__ = "payment_attributions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    kind: Mapped[AttributionKind] = mapped_column(String(16))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MoneyColumn)
    attributed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    reversed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PaymentReversal(Base):
    """A bounced or cancelled payment: its balance effect and attribution are undone."""

    __tablename__ = "payment_reversals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    reversed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
