"""Entrustment records, impact assessments, deletion dues and certificates, retention purges."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from weiwai.db import Base, UtcDateTime, utcnow


class EntrustmentStatus(StrEnum):
    in_force = "in_force"
    ended = "ended"


class AssessmentStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"


class AssessmentConclusion(StrEnum):
    acceptable = "acceptable"
    acceptable_with_conditions = "acceptable_with_conditions"
    unacceptable = "unacceptable"


class DeletionMethod(StrEnum):
    secure_erase = "secure_erase"
    crypto_erase = "crypto_erase"
    shredding = "shredding"
    degaussing = "degaussing"


class Entrustment(Base):
    """The PIPL art. 21 entrustment (个人信息委托处理) of one contract: authoritative from its creation."""

    __tablename__ = "entrustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    duration: Mapped[str] = mapped_column(String(200))
    processing_method: Mapped[str] = mapped_column(Text)
    # Canonical category codes (weiwai.privacy.categories).
    data_categories: Mapped[list[str]] = mapped_column(JSON)
    protection_measures: Mapped[str] = mapped_column(Text)
    sub_entrustment_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    sub_processors: Mapped[list[str]] = mapped_column(JSON, default=list)
    retention_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[EntrustmentStatus] = mapped_column(String(16), default=EntrustmentStatus.in_force)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class ImpactAssessment(Base):
    """A personal information protection impact assessment (PIPL art. 55-56) of an agency's entrustment."""

    __tablename__ = "impact_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    entrustment_id: Mapped[int | None] = mapped_column(ForeignKey("entrustments.id"), index=True)
    assessed_on: Mapped[date] = mapped_column(Date)
    assessor: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(Text)
    # [{"risk": ..., "likelihood": low|medium|high, "impact": low|medium|high, "measure": ...}]
    risks: Mapped[list[dict]] = mapped_column(JSON)
    conclusion: Mapped[AssessmentConclusion] = mapped_column(String(32))
    conditions: Mapped[str | None] = mapped_column(Text)
    evidence_ref: Mapped[str] = mapped_column(String(300))
    status: Mapped[AssessmentStatus] = mapped_column(String(16), default=AssessmentStatus.draft)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    valid_until: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DeletionDue(Base):
    """A released case whose handover copy the agency must delete by `due_on`."""

    __tablename__ = "deletion_dues"
    __table_args__ = (
        UniqueConstraint("package_id", "case_id"),
        Index("ix_deletion_dues_agency_due", "agency_id", "due_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("handover_packages.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    case_ended_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_on: Mapped[date] = mapped_column(Date)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("deletion_certificates.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DeletionCertificate(Base):
    """The agency's statement that it deleted its copies of the listed packages."""

    __tablename__ = "deletion_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_no: Mapped[str] = mapped_column(String(40), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    package_ids: Mapped[list[int]] = mapped_column(JSON)
    deleted_on: Mapped[date] = mapped_column(Date)
    method: Mapped[DeletionMethod] = mapped_column(String(16))
    signed_by_name: Mapped[str] = mapped_column(String(100))
    signed_by_title: Mapped[str] = mapped_column(String(100))
    statement: Mapped[str] = mapped_column(Text)
    evidence_ref: Mapped[str | None] = mapped_column(String(300))
    rows_certified: Mapped[int] = mapped_column(Integer, default=0)
    submitted_by: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RetentionPurge(Base):
    """One run of the lender's retention purge: how many debtors' personal data were erased."""

    __tablename__ = "retention_purges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_for: Mapped[date] = mapped_column(Date)
    retention_years: Mapped[int] = mapped_column(Integer)
    cutoff: Mapped[date] = mapped_column(Date)
    debtors_purged: Mapped[int] = mapped_column(Integer)
    run_by: Mapped[str] = mapped_column(String(100))
    run_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
