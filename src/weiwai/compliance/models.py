"""Complaints from debtors, the lender and regulators, linked to agency, case and collector."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from weiwai.db import Base, UtcDateTime, utcnow


class ComplaintSource(StrEnum):
    debtor = "debtor"
    lender = "lender"
    regulator = "regulator"


class ComplaintStatus(StrEnum):
    open = "open"
    investigating = "investigating"
    resolved = "resolved"
    rejected = "rejected"


OPEN_COMPLAINT_STATUSES = (ComplaintStatus.open, ComplaintStatus.investigating)


class Complaint(Base):
    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_no: Mapped[str] = mapped_column(String(40), unique=True)
    source: Mapped[ComplaintSource] = mapped_column(String(16))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    debtor_id: Mapped[int | None] = mapped_column(ForeignKey("debtors.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    collector_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    category: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    respond_by: Mapped[date | None] = mapped_column(Date)
    status: Mapped[ComplaintStatus] = mapped_column(String(16), default=ComplaintStatus.open)
    outcome: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
