"""Shapes of handover packages in the API (the server path of the files is never shown)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from weiwai.handover.models import HandoverPackage
from weiwai.handover.policy import RELEASABLE_FIELDS

# No control characters (PostgreSQL cannot compare text holding NUL bytes).
Number = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]+$")
]


class PackageCreate(BaseModel):
    """A package of the contract's open cases, or of one placement batch's."""

    model_config = ConfigDict(extra="forbid")

    contract_no: Number
    batch_no: Number | None = None


class PackageRead(BaseModel):
    id: int
    package_no: str
    agency_id: int
    contract_id: int
    batch_id: int | None
    # field -> "full" | "masked", in the order of the files' columns.
    fields: dict[str, str]
    row_count: int
    # file name -> SHA-256
    files: dict[str, str]
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, package: HandoverPackage) -> PackageRead:
        ordered = {field: package.fields[field] for field in RELEASABLE_FIELDS if field in package.fields}
        return cls(
            id=package.id, package_no=package.package_no, agency_id=package.agency_id,
            contract_id=package.contract_id, batch_id=package.batch_id, fields=ordered,
            row_count=package.row_count, files=dict(package.files), created_by=package.created_by,
            created_at=package.created_at,
        )


class PackageDetail(PackageRead):
    case_ids: list[int]
