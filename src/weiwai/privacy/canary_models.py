"""Canary records planted in handover packages, and their later sightings.

A canary is a plausible fake debtor, unique to one agency and one package, written into
the package's files among the real rows. It is never a case, an account or a debtor: it
lives only here, its personal data sealed like the portfolio's (AES-GCM envelope plus a
blind index), so a leaked file can be traced to the package it came from without
plaintext at rest.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from weiwai.db import Base, UtcDateTime, utcnow
from weiwai.money import MoneyColumn


class CanaryRecord(Base):
    __tablename__ = "canary_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("handover_packages.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    case_no: Mapped[str] = mapped_column(String(40), unique=True)
    account_no: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    national_id_enc: Mapped[bytes] = mapped_column(LargeBinary)
    national_id_bidx: Mapped[str] = mapped_column(String(64), index=True)
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_bidx: Mapped[str] = mapped_column(String(64), index=True)
    contact_phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    contact_phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    address_enc: Mapped[bytes] = mapped_column(LargeBinary)
    region: Mapped[str] = mapped_column(String(40))
    product: Mapped[str | None] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    principal_outstanding: Mapped[Decimal] = mapped_column(MoneyColumn)
    interest_outstanding: Mapped[Decimal] = mapped_column(MoneyColumn)
    fee_outstanding: Mapped[Decimal] = mapped_column(MoneyColumn)
    penalty_outstanding: Mapped[Decimal] = mapped_column(MoneyColumn)
    due_date: Mapped[date] = mapped_column(Date)
    dpd: Mapped[int] = mapped_column(Integer)
    # Number references shown in place of the numbers (same "NR"+16 base32 form as real ones).
    mobile_ref: Mapped[str | None] = mapped_column(String(20), unique=True)
    contact_phone_ref: Mapped[str | None] = mapped_column(String(20), unique=True)
    # The other values written into the package row (no personal data): contact name and relation, bucket…
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CanarySighting(Base):
    """A later use of a canary: an action or contact check against it, or a leaked file traced."""

    __tablename__ = "canary_sightings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    canary_id: Mapped[int] = mapped_column(ForeignKey("canary_records.id"), index=True)
    # action_api / action_cli / action_import / contact_check / payment_import / trace
    source: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    actor_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    leak_suspected: Mapped[bool] = mapped_column(Boolean)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
