"""Handover packages (提供客户信息): what data left for which agency, when, and by whom."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from weiwai.db import Base, UtcDateTime, utcnow


class HandoverPackage(Base):
    __tablename__ = "handover_packages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_no: Mapped[str] = mapped_column(String(40), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("placement_batches.id"))
    # The entrustment (PIPL art. 21) under which the data left, and its version at the time.
    entrustment_id: Mapped[int | None] = mapped_column(ForeignKey("entrustments.id"), index=True)
    entrustment_version: Mapped[int | None] = mapped_column(Integer)
    # The columns released, in order, with how: {"case_no": "full", "mobile": "masked", ...}.
    fields: Mapped[dict[str, str]] = mapped_column(JSON)
    row_count: Mapped[int] = mapped_column(Integer)
    # Canary records planted among the rows (weiwai.privacy.canaries); never counted in row_count.
    canary_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # file name -> SHA-256 of each file produced (xlsx, csv, manifest); the manifest lists the first two.
    files: Mapped[dict] = mapped_column(JSON)
    # Where the files were written, so that a download serves exactly them (hash checked).
    directory: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class HandoverPackageCase(Base):
    """Which cases a package released (so every release can be traced per debtor)."""

    __tablename__ = "handover_package_cases"

    package_id: Mapped[int] = mapped_column(ForeignKey("handover_packages.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
