"""Runs of scheduled jobs: when each ran, for which day, and what it did."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from weiwai.db import Base, UtcDateTime, utcnow


class JobRun(Base):
    __tablename__ = "job_runs"
    # A daily job runs once per business day; re-running it is a no-op.
    __table_args__ = (UniqueConstraint("job", "run_for"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    run_for: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
