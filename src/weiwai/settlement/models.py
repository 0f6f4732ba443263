"""Commission ledger and monthly statements per agency.

Entries are append-only. A statement, once issued, is immutable: entries it covers are
frozen, and corrections (e.g. clawback after a reversal) are new entries that fall into
the next statement.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from weiwai.db import Base, UtcDateTime, utcnow
from weiwai.money import MoneyColumn, RateColumn


class EntryKind(StrEnum):
    commission = "commission"
    fixed_fee = "fixed_fee"
    clawback = "clawback"  # negative: reverses an earlier commission or fee


class StatementStatus(StrEnum):
    draft = "draft"
    issued = "issued"


class CommissionEntry(Base):
    __tablename__ = "commission_entries"
    __table_args__ = (
        Index("ix_commission_entries_agency_period", "agency_id", "period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    kind: Mapped[EntryKind] = mapped_column(String(16))
    # What the entry is for, unique: "commission:payment:<id>", "clawback:payment:<id>",
    # "fixed_fee:case:<id>". Re-running month end therefore never doubles an entry.
    source_key: Mapped[str] = mapped_column(String(64), unique=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM the entry is earned in
    base_amount: Mapped[Decimal] = mapped_column(MoneyColumn)  # the recovery it is on
    rate: Mapped[Decimal | None] = mapped_column(RateColumn)
    amount: Mapped[Decimal] = mapped_column(MoneyColumn)  # signed, to the fen
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("commission_statements.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CommissionStatement(Base):
    __tablename__ = "commission_statements"
    __table_args__ = (UniqueConstraint("agency_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_no: Mapped[str] = mapped_column(String(40), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    period: Mapped[str] = mapped_column(String(7))
    status: Mapped[StatementStatus] = mapped_column(String(16), default=StatementStatus.draft)
    recovered: Mapped[Decimal] = mapped_column(MoneyColumn, default=Decimal("0.00"))
    commission: Mapped[Decimal] = mapped_column(MoneyColumn, default=Decimal("0.00"))
    fixed_fees: Mapped[Decimal] = mapped_column(MoneyColumn, default=Decimal("0.00"))
    clawbacks: Mapped[Decimal] = mapped_column(MoneyColumn, default=Decimal("0.00"))
    total: Mapped[Decimal] = mapped_column(MoneyColumn, default=Decimal("0.00"))
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    # SHA-256 of the issued XLSX: the document the agency was given.
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    issued_by: Mapped[str | None] = mapped_column(String(100))
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
