"""Agency information-security reviews: checklists, reviews and findings.

The lender supervises each agency as an entrusted processor (PIPL art. 21): a review
against a checklist (weiwai/privacy/checklists/*.yaml), its findings with severity and a
remediation deadline, and the evidence behind both.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from weiwai.db import Base, UtcDateTime, utcnow


class InfosecReview(Base):
    __tablename__ = "infosec_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    checklist_code: Mapped[str] = mapped_column(String(40))
    checklist_version: Mapped[int] = mapped_column(Integer)
    reviewed_on: Mapped[date] = mapped_column(Date)
    reviewer: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # draft / completed
    outcome: Mapped[str | None] = mapped_column(String(24))  # pass / pass_with_findings / fail
    # item code -> "pass" / "fail" / "n/a", as the reviewer recorded them.
    results: Mapped[dict] = mapped_column(JSON, default=dict)
    evidence_refs: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    next_review_due: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    completed_by: Mapped[str | None] = mapped_column(String(100))
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class InfosecFinding(Base):
    __tablename__ = "infosec_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("infosec_reviews.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(16))  # low / medium / high / critical
    description: Mapped[str] = mapped_column(Text)
    remediation_due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # open / remediated / verified / risk_accepted
    evidence_ref: Mapped[str | None] = mapped_column(String(200))
    reported_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    remediated_by: Mapped[str | None] = mapped_column(String(100))
    remediated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(100))
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    accepted_by: Mapped[str | None] = mapped_column(String(100))
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)
