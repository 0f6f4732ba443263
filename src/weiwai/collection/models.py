"""The collection log: what agencies did on their cases, and the promises they obtained."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from weiwai.db import Base, UtcDateTime, utcnow
from weiwai.money import MoneyColumn


class Party(StrEnum):
    debtor = "debtor"
    contact = "contact"  # a contact person the debtor named (联系人)
    third_party = "third_party"


class Outcome(StrEnum):
    """Documented outcome codes (docs/collection.md explains each)."""

    no_answer = "no_answer"
    busy = "busy"
    invalid_number = "invalid_number"
    powered_off = "powered_off"
    left_message = "left_message"
    right_party_contact = "right_party_contact"
    wrong_party = "wrong_party"
    third_party_contact = "third_party_contact"
    promise_to_pay = "promise_to_pay"
    refused_to_pay = "refused_to_pay"
    dispute_raised = "dispute_raised"
    hardship_claimed = "hardship_claimed"
    claims_paid = "claims_paid"
    callback_requested = "callback_requested"
    sms_sent = "sms_sent"
    letter_sent = "letter_sent"
    email_sent = "email_sent"
    visit_done = "visit_done"
    visit_not_found = "visit_not_found"


class PromiseStatus(StrEnum):
    pending = "pending"
    kept = "kept"
    partly_kept = "partly_kept"
    broken = "broken"
    cancelled = "cancelled"


class CollectionAction(Base):
    __tablename__ = "collection_actions"
    __table_args__ = (
        Index("ix_collection_actions_case_time", "case_id", "occurred_at"),
        # A debtor's recent contacts over all agencies, read by every compliance check.
        Index("ix_collection_actions_account_time", "account_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    collector_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(16))  # weiwai.agencies.models.Channel
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    party: Mapped[Party] = mapped_column(String(16))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("debtor_contacts.id"))
    relation: Mapped[str | None] = mapped_column(String(16))
    # Blind index of the number dialled or texted (counters per number, all agencies).
    phone_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    outcome: Mapped[Outcome] = mapped_column(String(32))
    notes: Mapped[str | None] = mapped_column(Text)
    # Line / recording / credential references (visits need them; CN-05, CN-08, CN-13).
    line_ref: Mapped[str | None] = mapped_column(String(100))
    recording_ref: Mapped[str | None] = mapped_column(String(200))
    credential_ref: Mapped[str | None] = mapped_column(String(100))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)


class PromiseToPay(Base):
    __tablename__ = "promises_to_pay"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("collection_actions.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MoneyColumn)
    promised_on: Mapped[date] = mapped_column(Date)  # the day the promise was made (debtor local)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[PromiseStatus] = mapped_column(String(16), default=PromiseStatus.pending)
    paid_amount: Mapped[Decimal] = mapped_column(MoneyColumn, default=Decimal("0.00"))
    evaluated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CaseAssignment(Base):
    """Who in the agency works a case, and since when (history: one row per change).

    The current assignee is also on the case (`Case.collector_user_id`), so that queues and
    the visibility rule need no history query.
    """

    __tablename__ = "case_assignments"
    __table_args__ = (Index("ix_case_assignments_case_time", "case_id", "assigned_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    collector_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None = unassigned
    previous_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_by: Mapped[str] = mapped_column(String(100))
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class QueuePolicy(Base):
    """The lender's rule for ordering agencies' work queues, as versioned, validated data."""

    __tablename__ = "queue_policies"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[dict] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
