"""Shapes of commission statements for the API. Amounts are Decimal (JSON strings)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from weiwai.settlement.models import StatementStatus


class StatementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    statement_no: str
    agency_id: int
    period: str
    status: StatementStatus
    recovered: Decimal = Field(description="Net recoveries the statement is on (clawed-back payments deducted).")
    commission: Decimal
    fixed_fees: Decimal
    clawbacks: Decimal = Field(description="Negative: commission and fees taken back after reversals.")
    total: Decimal
    entry_count: int
    document_sha256: str | None = Field(description="SHA-256 of the issued XLSX.")
    issued_by: str | None
    issued_at: datetime | None
    created_at: datetime
