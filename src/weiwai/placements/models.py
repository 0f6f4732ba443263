"""Screening rule sets, placement batches, cases (one account with one agency for one
period) and their status history."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from weiwai.db import Base, UtcDateTime, utcnow
from weiwai.money import MoneyColumn


class BatchStatus(StrEnum):
    draft = "draft"
    confirmed = "confirmed"
    active = "active"
    closed = "closed"


class CaseStatus(StrEnum):
    placed = "placed"
    working = "working"
    promised = "promised"
    paid = "paid"
    settled = "settled"
    returned = "returned"
    recalled = "recalled"
    expired = "expired"
    closed = "closed"


# A case in one of these states is with its agency: the agency may see and work it.
OPEN_CASE_STATUSES = (CaseStatus.placed, CaseStatus.working, CaseStatus.promised)


class CloseReason(StrEnum):
    paid_in_full = "paid_in_full"
    settled = "settled"
    plan_completed = "plan_completed"
    returned = "returned"
    recalled = "recalled"
    expired = "expired"
    written_off = "written_off"
    referred_to_litigation = "referred_to_litigation"


class ScreeningRuleSet(Base):
    """A saved version of screening rules (validated data); never edited in place."""

    __tablename__ = "screening_rule_sets"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[dict] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PlacementBatch(Base):
    __tablename__ = "placement_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_no: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[BatchStatus] = mapped_column(String(16), default=BatchStatus.draft)
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("screening_rule_sets.id"))
    # Allocation strategy as data: {"name": ..., "params": {...}, "seed": int}
    strategy: Mapped[dict] = mapped_column(JSON)
    as_of: Mapped[date] = mapped_column(Date)
    # Counts and balances of the allocation, per agency; what the preview showed.
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    confirmed_by: Mapped[str | None] = mapped_column(String(100))
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    cases: Mapped[list[Case]] = relationship(back_populates="batch")


class Case(Base):
    """One account placed with one agency under one contract for one period."""

    __tablename__ = "cases"
    __table_args__ = (
        # At most one open case per account, enforced by the database itself.
        Index(
            "uq_cases_open_account",
            "account_id",
            unique=True,
            sqlite_where=text("status IN ('placed','working','promised')"),
            postgresql_where=text("status IN ('placed','working','promised')"),
        ),
        Index("ix_cases_agency_status", "agency_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(40), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("placement_batches.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    status: Mapped[CaseStatus] = mapped_column(String(16), default=CaseStatus.placed)
    # Snapshot at placement: the stratum cases are compared on, and the commission bucket.
    bucket: Mapped[str] = mapped_column(String(8))
    dpd: Mapped[int] = mapped_column(Integer)
    balance_band: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(40))
    credit_grade: Mapped[str] = mapped_column(String(8))
    balance_placed: Mapped[Decimal] = mapped_column(MoneyColumn)
    principal_placed: Mapped[Decimal] = mapped_column(MoneyColumn)
    # Champion/challenger arm or strategy label the case was allocated under.
    arm: Mapped[str | None] = mapped_column(String(32))
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    period_ends_on: Mapped[date] = mapped_column(Date, index=True)
    extended_count: Mapped[int] = mapped_column(Integer, default=0)
    collector_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    close_reason: Mapped[CloseReason | None] = mapped_column(String(32))
    end_note: Mapped[str | None] = mapped_column(Text)
    # Reassignment: the case this one continues (after a return or recall).
    previous_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    batch: Mapped[PlacementBatch] = relationship(back_populates="cases")

    __mapper_args__ = {"version_id_col": version}


class CaseStatusChange(Base):
    __tablename__ = "case_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class InHouseHold(Base):
    """An account the lender keeps for its own team: screening excludes it until `until`."""

    __tablename__ = "in_house_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    until: Mapped[date | None] = mapped_column(Date)  # None = until lifted
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
