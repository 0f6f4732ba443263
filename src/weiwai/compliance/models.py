"""Complaints from debtors, the lender and regulators, linked to agency, case and collector."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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
    # low / medium / high / severe (weiwai.compliance.complaints); severe ones count towards thresholds
    severity: Mapped[str] = mapped_column(String(16), default="medium", server_default="medium")
    # While under investigation, contact with the debtor is held (a ContactHold of kind complaint).
    holds_contact: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class ComplaintEvent(Base):
    """Each step of a complaint: status changes, notes, the outcome."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class HoldKind(StrEnum):
    dispute = "dispute"
    cease_contact = "cease_contact"
    complaint = "complaint"
    hardship = "hardship"
    deceased = "deceased"
    bankrupt = "bankrupt"
    litigation = "litigation"
    vulnerable = "vulnerable"
    attorney = "attorney"  # represented by a lawyer
    workplace = "workplace"  # the employer forbids contact at work
    channel_opt_out = "channel_opt_out"  # the debtor rejected a medium (channels says which)


class ContactHold(Base):
    """Something that blocks or restricts contact with a debtor (or one account), until lifted."""

    __tablename__ = "contact_holds"
    __table_args__ = (Index("ix_contact_holds_debtor_live", "debtor_id", "lifted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))  # None: all the debtor's accounts
    kind: Mapped[HoldKind] = mapped_column(String(24))
    channels: Mapped[list] = mapped_column(JSON, default=list)  # blocked channels; empty = every channel
    reason: Mapped[str] = mapped_column(Text)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    evidence_ref: Mapped[str | None] = mapped_column(String(200))
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lifted_by: Mapped[str | None] = mapped_column(String(100))
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lift_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class PreferenceKind(StrEnum):
    agreed_window = "agreed_window"  # the debtor agreed to be contacted in a window (CN-01 exception)
    inconvenient_time = "inconvenient_time"  # a time the debtor said is inconvenient (US-01, UK-01)
    preferred_channel_only = "preferred_channel_only"  # UK-01: only these channels
    do_not_contact = "do_not_contact"  # a contact person (or number) who refused: never again (CN-04)


class ContactPreference(Base):
    """What the debtor (or a contact person) asked for, with its evidence; hard blocks or windows."""

    __tablename__ = "contact_preferences"
    __table_args__ = (Index("ix_contact_preferences_debtor", "debtor_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("debtor_contacts.id"))
    phone_bidx: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[PreferenceKind] = mapped_column(String(32))
    data: Mapped[dict] = mapped_column(JSON, default=dict)  # e.g. {"start": "20:00", "end": "22:30"}
    evidence_ref: Mapped[str | None] = mapped_column(String(200))
    valid_until: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))


class ContactReservation(Base):
    """A slot a pre-contact check took in the global counters, until the action consumes it or it expires."""

    __tablename__ = "contact_reservations"
    __table_args__ = (Index("ix_contact_reservations_debtor_time", "debtor_id", "reserved_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    channel: Mapped[str] = mapped_column(String(16))
    party: Mapped[str] = mapped_column(String(16))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("debtor_contacts.id"))
    phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    planned_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reserved_by: Mapped[str] = mapped_column(String(100))
    reserved_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    consumed_action_id: Mapped[int | None] = mapped_column(ForeignKey("collection_actions.id"))
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    severe = "severe"


class ComplianceViolation(Base):
    """A contact that broke a rule: refused before it happened, or recorded when reported after the fact."""

    __tablename__ = "compliance_violations"
    __table_args__ = (Index("ix_compliance_violations_agency_time", "agency_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("collection_actions.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    collector_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rule_id: Mapped[str] = mapped_column(String(16))
    pack: Mapped[str] = mapped_column(String(40))  # pack id and version, e.g. CN@1
    severity: Mapped[Severity] = mapped_column(String(16))
    disposition: Mapped[str] = mapped_column(String(16))  # refused (never happened) / recorded (happened)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TemplateStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    retired = "retired"


class MessageTemplate(Base):
    """SMS, letter, e-mail and call-script texts with placeholders; only approved versions may be used."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))  # sms / letter / email / call_script
    language: Mapped[str] = mapped_column(String(8))  # zh_CN / en
    audience: Mapped[str] = mapped_column(String(16))  # debtor / third_party
    pack: Mapped[str] = mapped_column(String(8), default="CN")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[TemplateStatus] = mapped_column(String(16), default=TemplateStatus.draft)
    findings: Mapped[list] = mapped_column(JSON, default=list)  # the content check's findings
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    review_note: Mapped[str | None] = mapped_column(Text)
    # Everyone who wrote or changed the text, and who submitted it: none of them may approve (four-eyes).
    authors: Mapped[list] = mapped_column(JSON, default=list)
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The row's version for ETag / If-Match (`version` above is the template's version number).
    row_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}


class AgencyEvaluation(Base):
    """A periodic evaluation of an agency (compliance, quality, information security): CN-11."""

    __tablename__ = "agency_evaluations"
    __table_args__ = (Index("ix_agency_evaluations_agency_day", "agency_id", "evaluated_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    kind: Mapped[str] = mapped_column(String(16))  # annual / pre_expiry / ad_hoc
    evaluated_on: Mapped[date] = mapped_column(Date)
    compliance_score: Mapped[int] = mapped_column(Integer)  # 0-100
    quality_score: Mapped[int] = mapped_column(Integer)
    infosec_score: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(16))  # pass / conditional / fail
    notes: Mapped[str | None] = mapped_column(Text)
    evaluated_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CollectorQualification(Base):
    """A collector's background check, training (with exam) or confidentiality agreement: CN-10."""

    __tablename__ = "collector_qualifications"
    __table_args__ = (Index("ix_collector_qualifications_user_item", "user_id", "item", "completed_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    item: Mapped[str] = mapped_column(String(32))  # background_check / training / confidentiality
    completed_on: Mapped[date] = mapped_column(Date)
    evidence_ref: Mapped[str | None] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PlacementBlock(Base):
    """New placements to an agency stopped automatically (a threshold crossed) or by hand, until lifted."""

    __tablename__ = "placement_blocks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))  # complaint_rate / severe_violations / evaluation_overdue / manual
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lifted_by: Mapped[str | None] = mapped_column(String(100))
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lift_reason: Mapped[str | None] = mapped_column(Text)


class LenderNotice(Base):
    """Something the lender's staff must see: an agency's placements suspended, a deadline near."""

    __tablename__ = "lender_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
