"""Stored scorecards: an agency's KPIs on one stratum of comparable cases."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from weiwai.db import Base, UtcDateTime, utcnow


class Scorecard(Base):
    __tablename__ = "scorecards"
    __table_args__ = (Index("ix_scorecards_agency_as_of", "agency_id", "as_of"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("placement_batches.id"), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    # Stratum: bucket × balance band × region; "*" where a dimension is rolled up.
    bucket: Mapped[str] = mapped_column(String(8))
    balance_band: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(40))
    cases: Mapped[int] = mapped_column(Integer)
    # KPI name -> value as a decimal string (definitions: docs/kpis.md).
    metrics: Mapped[dict] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
