"""Validated input and output shapes of the agencies domain.

Agency schemas are defined here; contract schemas live in contract_schemas.py and are
re-exported, so `from weiwai.agencies.schemas import ContractCreate` works too.
Amounts and rates are Decimal, never float, and serialise to JSON as strings so that
no client rounds them. Update schemas are patches: a field that is left out keeps its
value, and a field that must always have a value cannot be set to null.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from weiwai.agencies.contract_schemas import (  # noqa: F401  (re-exported)
    ContractCreate,
    ContractRead,
    ContractUpdate,
    EntrustmentTerms,
    FeeSchedule,
    RecoveryTier,
)
from weiwai.agencies.fields import (
    AGENCY_CODE_RE,
    EMAIL_RE,
    INPUT_CONFIG,
    InputSchema,
    Money,
    Patch,
    Reason,
    Region,
    ShortText,
    unique_in_order,
)
from weiwai.agencies.models import AdmissionItem, Agency, AgencyStatus
from weiwai.agencies.uscc import normalise_uscc
from weiwai.i18n import _

# --- agencies ---------------------------------------------------------------------------


class _AgencyFields(InputSchema):
    """Validators shared by AgencyCreate and AgencyUpdate."""

    model_config = INPUT_CONFIG

    @field_validator("regions_served", check_fields=False)
    @classmethod
    def _regions_without_repeats(cls, regions: list[str] | None) -> list[str] | None:
        return None if regions is None else unique_in_order(regions)

    @field_validator("contact_email", check_fields=False)
    @classmethod
    def _plausible_email(cls, email: str | None) -> str | None:
        if email is not None and not EMAIL_RE.match(email):
            raise ValueError(_("not an e-mail address"))
        return email


class AgencyCreate(_AgencyFields):
    code: str = Field(description="Short unique code, e.g. HZ-ANXIN (upper-case letters, digits, - and _).")
    legal_name: ShortText
    uscc: str = Field(description="Unified social credit code (统一社会信用代码), 18 characters.")
    licence_no: ShortText | None = None
    licence_expires_on: date | None = None
    regions_served: list[Region] = Field(min_length=1)
    capacity_cases: int = Field(ge=0, description="Most open cases the agency can work at once.")
    capacity_balance: Money = Field(description="Most outstanding balance the agency can hold at once.")
    contact_person: ShortText | None = None
    contact_email: ShortText | None = None

    @field_validator("code", mode="before")
    @classmethod
    def _code_format(cls, code: object) -> str:
        if not isinstance(code, str | int) or isinstance(code, bool):
            raise ValueError(_("must be text"))
        text = str(code).strip().upper()
        if not AGENCY_CODE_RE.match(text):
            raise ValueError(
                _("an agency code has 2 to 32 upper-case letters, digits, - or _, starting with a letter or digit")
            )
        return text

    @field_validator("uscc", mode="before")
    @classmethod
    def _uscc_checksum(cls, uscc: object) -> str:
        if not isinstance(uscc, str | int) or isinstance(uscc, bool):
            raise ValueError(_("must be text"))
        return normalise_uscc(str(uscc))


class AgencyUpdate(Patch, _AgencyFields):
    """Code and USCC identify the legal entity and cannot change."""

    nullable_fields: ClassVar[frozenset[str]] = frozenset(
        {"licence_no", "licence_expires_on", "contact_person", "contact_email"}
    )

    legal_name: ShortText | None = None
    licence_no: ShortText | None = None
    licence_expires_on: date | None = None
    regions_served: list[Region] | None = Field(default=None, min_length=1)
    capacity_cases: int | None = Field(default=None, ge=0)
    capacity_balance: Money | None = None
    contact_person: ShortText | None = None
    contact_email: ShortText | None = None


class AgencyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    legal_name: str
    uscc: str
    licence_no: str | None
    licence_expires_on: date | None
    regions_served: list[str]
    capacity_cases: int
    capacity_balance: Decimal
    status: AgencyStatus
    contact_person: str | None
    contact_email: str | None
    admission_missing: list[AdmissionItem] = Field(
        description="Checklist items not yet on file; approval needs all of them."
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, agency: Agency) -> AgencyRead:
        """The read view of an agency, with what its admission checklist still lacks."""
        on_file = {check.item for check in agency.admission_checks}
        missing = [item for item in AdmissionItem if item not in on_file]
        values = {name: getattr(agency, name) for name in cls.model_fields if name != "admission_missing"}
        return cls(**values, admission_missing=missing)


class AdmissionCheckCreate(InputSchema):
    model_config = INPUT_CONFIG

    item: AdmissionItem
    completed_on: date
    evidence_ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)] = Field(
        description="Where the evidence is kept, e.g. a document number or archive path."
    )


class AdmissionCheckRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agency_id: int
    item: AdmissionItem
    completed_on: date
    evidence_ref: str
    recorded_by: str
    recorded_at: datetime


# --- status changes (agencies and contracts) ----------------------------------------------

StatusT = TypeVar("StatusT")


class StatusChangeRequest(InputSchema, Generic[StatusT]):
    model_config = INPUT_CONFIG

    to: StatusT
    reason: Reason


class StatusChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: str | None
    to_status: str
    reason: str
    changed_by: str
    changed_at: datetime
