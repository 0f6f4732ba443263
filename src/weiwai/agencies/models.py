"""Agencies (催收机构), their admission checklist and status history, and contracts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from weiwai.db import Base, UtcDateTime, utcnow
from weiwai.money import MoneyColumn


class AgencyStatus(StrEnum):
    applying = "applying"
    approved = "approved"  # whitelisted (白名单)
    active = "active"
    suspended = "suspended"
    terminated = "terminated"


class AdmissionItem(StrEnum):
    due_diligence = "due_diligence"
    collectors_background_checked = "collectors_background_checked"
    collectors_trained = "collectors_trained"
    confidentiality_agreement = "confidentiality_agreement"


class ContractStatus(StrEnum):
    draft = "draft"
    active = "active"
    suspended = "suspended"
    terminated = "terminated"


class Channel(StrEnum):
    phone = "phone"
    sms = "sms"
    visit = "visit"
    letter = "letter"
    email = "email"
    ivr = "ivr"


class ReportingCadence(StrEnum):
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    licence_no: Mapped[str | None] = mapped_column(String(64))
    licence_expires_on: Mapped[date | None] = mapped_column(Date)
    regions_served: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity_cases: Mapped[int] = mapped_column(Integer)
    capacity_balance: Mapped[Decimal] = mapped_column(MoneyColumn)
    status: Mapped[AgencyStatus] = mapped_column(String(16), default=AgencyStatus.applying)
    contact_person: Mapped[str | None] = mapped_column(String(100))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    status_changes: Mapped[list[AgencyStatusChange]] = relationship(
        back_populates="agency", order_by="AgencyStatusChange.id", cascade="all, delete-orphan"
    )
    admission_checks: Mapped[list[AgencyAdmissionCheck]] = relationship(
        back_populates="agency", order_by="AgencyAdmissionCheck.id", cascade="all, delete-orphan"
    )
    contracts: Mapped[list[Contract]] = relationship(back_populates="agency", order_by="Contract.id")

    __mapper_args__ = {"version_id_col": version}


class AgencyStatusChange(Base):
    __tablename__ = "agency_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship(back_populates="status_changes")


class AgencyAdmissionCheck(Base):
    """One completed item of the admission checklist, with its evidence."""

    __tablename__ = "agency_admission_checks"
    __table_args__ = (UniqueConstraint("agency_id", "item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    item: Mapped[AdmissionItem] = mapped_column(String(40))
    completed_on: Mapped[date] = mapped_column(Date)
    evidence_ref: Mapped[str] = mapped_column(String(300))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship(back_populates="admission_checks")


class Contract(Base):
    """A service agreement with an agency. Fee schedule and entrustment terms are data."""

    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="term_not_reversed"),
        CheckConstraint("placement_days > 0", name="placement_days_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_no: Mapped[str] = mapped_column(String(40), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    status: Mapped[ContractStatus] = mapped_column(String(16), default=ContractStatus.draft)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    signed_on: Mapped[date | None] = mapped_column(Date)
    confidentiality_signed_on: Mapped[date | None] = mapped_column(Date)
    # weiwai.agencies.schemas.FeeSchedule, validated before it is stored.
    fee_schedule: Mapped[dict] = mapped_column(JSON)
    permitted_channels: Mapped[list[str]] = mapped_column(JSON)
    permitted_buckets: Mapped[list[str]] = mapped_column(JSON)
    permitted_regions: Mapped[list[str]] = mapped_column(JSON)  # empty = every region
    placement_days: Mapped[int] = mapped_column(Integer)
    post_recall_grace_days: Mapped[int] = mapped_column(Integer, default=0)
    retention_days: Mapped[int] = mapped_column(Integer, default=30)
    reporting_cadence: Mapped[ReportingCadence] = mapped_column(String(16), default=ReportingCadence.weekly)
    # PIPL art. 21 entrustment terms (个人信息委托处理).
    entrustment_purpose: Mapped[str] = mapped_column(Text)
    entrustment_duration: Mapped[str] = mapped_column(String(200))
    entrustment_processing_method: Mapped[str] = mapped_column(Text)
    entrustment_data_categories: Mapped[list[str]] = mapped_column(JSON)
    entrustment_protection_measures: Mapped[str] = mapped_column(Text)
    # Which fields a handover package may carry, and how: {"mobile": "masked", ...}
    # (weiwai.handover.policy); empty = the default minimum-necessary policy.
    handover_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    # Compliance terms (weiwai.compliance.terms): the pack, how the contract tightens it, thresholds.
    compliance_terms: Mapped[dict] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    # Masking policy for the agency's principals on this contract's cases
    # (weiwai.security.masking_policy): {"mobile": "full", "national_id": "hidden", ...};
    # empty = the role defaults.
    masking_policy: Mapped[dict] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    agency: Mapped[Agency] = relationship(back_populates="contracts")
    status_changes: Mapped[list[ContractStatusChange]] = relationship(
        back_populates="contract", order_by="ContractStatusChange.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    def is_usable(self, on: date) -> bool:
        """Active, in term and signed (contract and confidentiality): only then may cases go out."""
        return (
            self.status == ContractStatus.active
            and self.starts_on <= on <= self.ends_on
            and self.signed_on is not None
            and self.confidentiality_signed_on is not None
        )


class ContractStatusChange(Base):
    __tablename__ = "contract_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    contract: Mapped[Contract] = relationship(back_populates="status_changes")
