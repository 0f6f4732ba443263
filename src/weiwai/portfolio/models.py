"""Portfolio tables: debtors, their phones and contact persons, accounts, balance history
and the lender's payment records.

National IDs, phone numbers and addresses exist here only as AES-GCM envelopes
(`*_enc`) and keyed blind indexes (`*_bidx`); see weiwai.security.crypto.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from weiwai.db import Base, UtcDateTime, utcnow
from weiwai.money import MoneyColumn


class ContactRelation(StrEnum):
    spouse = "spouse"
    relative = "relative"
    colleague = "colleague"
    friend = "friend"
    other = "other"


class AccountStatus(StrEnum):
    open = "open"  # a balance is outstanding
    paid_off = "paid_off"  # balance reached zero
    written_off = "written_off"
    closed = "closed"


class BalanceChangeSource(StrEnum):
    import_ = "import"
    payment = "payment"
    reversal = "reversal"
    adjustment = "adjustment"


class PaymentStatus(StrEnum):
    posted = "posted"
    reversed = "reversed"


class Debtor(Base):
    __tablename__ = "debtors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    national_id_enc: Mapped[bytes] = mapped_column(LargeBinary)
    national_id_bidx: Mapped[str] = mapped_column(String(32), unique=True)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    region: Mapped[str] = mapped_column(String(40), index=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    credit_grade: Mapped[str] = mapped_column(String(8), index=True)
    deceased: Mapped[bool] = mapped_column(Boolean, default=False)
    bankrupt: Mapped[bool] = mapped_column(Boolean, default=False)
    in_litigation: Mapped[bool] = mapped_column(Boolean, default=False)
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    cease_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    vulnerable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    phones: Mapped[list[DebtorPhone]] = relationship(
        back_populates="debtor", order_by="DebtorPhone.id", cascade="all, delete-orphan"
    )
    contacts: Mapped[list[DebtorContact]] = relationship(
        back_populates="debtor", order_by="DebtorContact.id", cascade="all, delete-orphan"
    )
    accounts: Mapped[list[Account]] = relationship(back_populates="debtor")


class DebtorPhone(Base):
    """A debtor's own mobile number; a debtor may have several."""

    __tablename__ = "debtor_phones"
    __table_args__ = (UniqueConstraint("debtor_id", "phone_bidx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No index of its own: the unique (debtor_id, phone_bidx) constraint serves look-ups by debtor.
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"))
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_bidx: Mapped[str] = mapped_column(String(32), index=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    debtor: Mapped[Debtor] = relationship(back_populates="phones")


class DebtorContact(Base):
    """A contact person (联系人) the debtor named: spouse, relative, colleague, friend…"""

    __tablename__ = "debtor_contacts"
    __table_args__ = (UniqueConstraint("debtor_id", "phone_bidx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No index of its own: the unique (debtor_id, phone_bidx) constraint serves look-ups by debtor.
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    relation: Mapped[ContactRelation] = mapped_column(String(16))
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_bidx: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    debtor: Mapped[Debtor] = relationship(back_populates="contacts")


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(
            "principal_outstanding >= 0 AND interest_outstanding >= 0"
            " AND fee_outstanding >= 0 AND penalty_outstanding >= 0",
            name="outstanding_not_negative",
        ),
        Index("ix_accounts_status_due_date", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_no: Mapped[str] = mapped_column(String(40), unique=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id"), index=True)
    product: Mapped[str] = mapped_column(String(40), index=True)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    original_amount: Mapped[Decimal] = mapped_column(MoneyColumn)
    principal_outstanding: Mapped[Decimal] = mapped_column(MoneyColumn)
    interest_outstanding: Mapped[Decimal] = mapped_column(MoneyColumn)
    fee_outstanding: Mapped[Decimal] = mapped_column(MoneyColumn)
    penalty_outstanding: Mapped[Decimal] = mapped_column(MoneyColumn)
    # Oldest unpaid due date; days past due are computed from it as of a date.
    due_date: Mapped[date | None] = mapped_column(Date)
    last_payment_date: Mapped[date | None] = mapped_column(Date)
    overdue_reason: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[AccountStatus] = mapped_column(String(16), default=AccountStatus.open)
    # Unapplied credit from over-payments, kept rather than silently dropped.
    credit_balance: Mapped[Decimal] = mapped_column(MoneyColumn, default=Decimal("0.00"))
    # Fingerprint of the last imported row: re-importing an unchanged row is a no-op.
    source_hash: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    debtor: Mapped[Debtor] = relationship(back_populates="accounts")

    __mapper_args__ = {"version_id_col": version}

    @property
    def total_outstanding(self) -> Decimal:
        return (
            self.principal_outstanding
            + self.interest_outstanding
            + self.fee_outstanding
            + self.penalty_outstanding
        )


class AccountBalanceChange(Base):
    """History of an account's balance: every change is a new row, never an overwrite."""

    __tablename__ = "account_balance_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    source: Mapped[BalanceChangeSource] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(200))  # file name, txn id…
    principal_outstanding: Mapped[Decimal] = mapped_column(MoneyColumn)
    interest_outstanding: Mapped[Decimal] = mapped_column(MoneyColumn)
    fee_outstanding: Mapped[Decimal] = mapped_column(MoneyColumn)
    penalty_outstanding: Mapped[Decimal] = mapped_column(MoneyColumn)
    due_date: Mapped[date | None] = mapped_column(Date)
    # Change of the total outstanding (negative when it went down).
    delta_total: Mapped[Decimal] = mapped_column(MoneyColumn)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    changed_by: Mapped[str | None] = mapped_column(String(100))


class Payment(Base):
    """A repayment as recorded by the lender: the truth for balances and commission."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    txn_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MoneyColumn)
    paid_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    channel: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[PaymentStatus] = mapped_column(String(16), default=PaymentStatus.posted)
    # How the payment was applied, to the fen; reversals undo exactly this.
    applied_fee: Mapped[Decimal] = mapped_column(MoneyColumn, default=Decimal("0.00"))
    applied_penalty: Mapped[Decimal] = mapped_column(MoneyColumn, default=Decimal("0.00"))
    applied_interest: Mapped[Decimal] = mapped_column(MoneyColumn, default=Decimal("0.00"))
    applied_principal: Mapped[Decimal] = mapped_column(MoneyColumn, default=Decimal("0.00"))
    applied_credit: Mapped[Decimal] = mapped_column(MoneyColumn, default=Decimal("0.00"))
    source_file: Mapped[str | None] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ImportRun(Base):
    """One accepted import file: what it did, for the operator and for idempotency checks."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # accounts | payments
    file_name: Mapped[str] = mapped_column(String(300))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    rows: Mapped[int] = mapped_column(Integer)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    imported_by: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)


class NumberRef(Base):
    """An opaque reference to one number of a case's debtor or contact (`NR` + 16 base32 characters).

    The agency names and dials a number by its reference; the lender's gateway resolves it
    (weiwai.portfolio.number_refs). One per (case, number), stable for the case's life; a
    new placement is a new case with new references, and a reference works only while its
    case is in the principal's reach (weiwai.security.scope).
    """

    __tablename__ = "number_refs"
    __table_args__ = (
        UniqueConstraint("debtor_phone_id", "case_id"),
        UniqueConstraint("debtor_contact_id", "case_id"),
        CheckConstraint("(debtor_phone_id IS NULL) <> (debtor_contact_id IS NULL)", name="one_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(24), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    party: Mapped[str] = mapped_column(String(16))  # debtor | contact
    debtor_phone_id: Mapped[int | None] = mapped_column(ForeignKey("debtor_phones.id", ondelete="CASCADE"))
    debtor_contact_id: Mapped[int | None] = mapped_column(ForeignKey("debtor_contacts.id", ondelete="CASCADE"))
    phone_bidx: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
