"""What the complaint, placement-block and notice services accept and answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from weiwai.compliance.models import ComplaintSource, ComplaintStatus, Severity
from weiwai.web.params import Id

Ref = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]+$")]
Text = Annotated[str, Field(min_length=1, max_length=4000)]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ComplaintCreate(BaseModel):
    """A complaint as received. `case_no` links agency, collector, account and debtor; without it,
    `account_no` links account and debtor (and the account's open case, if any)."""

    model_config = ConfigDict(extra="forbid")

    source: ComplaintSource
    case_no: Ref | None = None
    account_no: Ref | None = None
    agency_id: Id | None = None  # only for a complaint about an agency with no case named
    category: Annotated[str, Field(min_length=1, max_length=40)]
    summary: Text
    received_at: AwareDatetime
    severity: Severity = Severity.medium
    holds_contact: bool = False  # hold contact with the debtor while the complaint is open

    _stripped = field_validator("case_no", "account_no", "category", "summary", mode="before")(_strip)

    @model_validator(mode="after")
    def _names_something(self) -> ComplaintCreate:
        if self.case_no and self.agency_id is not None:
            raise ValueError("give case_no or agency_id, not both (the case names its agency)")
        return self


class ComplaintTransition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: ComplaintStatus
    note: Annotated[str | None, Field(max_length=4000)] = None
    outcome: Annotated[str | None, Field(max_length=4000)] = None
    # Moving to investigating: hold contact with the debtor meanwhile (None: leave as it is).
    hold_contact: bool | None = None

    _stripped = field_validator("note", "outcome", mode="before")(_strip)


class ComplaintEventRead(BaseModel):
    from_status: str | None
    to_status: str
    note: str | None
    changed_by: str | None  # null for agency users
    changed_at: datetime


class ComplaintRead(BaseModel):
    complaint_no: str
    source: ComplaintSource
    status: ComplaintStatus
    severity: str
    category: str
    summary: str
    case_no: str | None
    account_no: str | None
    agency_id: int | None
    agency_code: str | None
    collector_user_id: int | None
    received_at: datetime
    respond_by: date | None
    overdue: bool
    holds_contact: bool
    contact_hold_live: bool
    outcome: str | None
    recorded_by: str | None  # null for agency users
    created_at: datetime
    closed_at: datetime | None
    version: int
    events: list[ComplaintEventRead] | None = None


class BlockRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agency_id: int
    reason: str
    details: dict
    created_by: str
    created_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None
    lift_reason: str | None


class BlockLift(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text


class NoticeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    agency_id: int | None
    message: str
    details: dict
    created_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
