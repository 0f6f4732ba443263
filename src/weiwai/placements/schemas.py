"""What screening, placement and case services return and what the API accepts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from weiwai.i18n import _
from weiwai.placements.models import CaseStatus
from weiwai.placements.screening import ScreeningRules
from weiwai.placements.strategy import StrategySpec
from weiwai.web.params import MAX_ID, REF_PATTERN

# A number or code a person types (account, case, batch, agency, rule set): printable, at most 100.
Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=REF_PATTERN)]
# Free text (reasons): anything but NUL, which PostgreSQL cannot store.
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=r"^[^\x00]+$")]


class Tally(BaseModel):
    key: str
    count: int
    balance: Decimal


class ReasonTally(BaseModel):
    code: str
    label: str
    count: int
    balance: Decimal


class ScreeningPreview(BaseModel):
    """Counts and balances of a screening, nothing written. An account failing several
    criteria is counted under each of them in `exclusions`."""

    as_of: date
    screened: int
    screened_balance: Decimal
    eligible: int
    eligible_balance: Decimal
    by_bucket: list[Tally]
    by_grade: list[Tally]
    by_region: list[Tally]
    exclusions: list[ReasonTally]


class CheckRead(BaseModel):
    code: str
    label: str
    passed: bool
    detail: str


class CoolingOffRead(BaseModel):
    agency_code: str
    returned_on: date
    last_day: date


class AccountExplanation(BaseModel):
    account_no: str
    as_of: date
    eligible: bool
    dpd: int
    bucket: str
    balance_band: str
    checks: list[CheckRead]
    failing: list[str]
    cooling_off: list[CoolingOffRead]


class RuleSetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    version: int
    sha256: str
    rules: dict[str, Any]
    created_by: str
    created_at: datetime


class AgencyAllocation(BaseModel):
    agency_id: int
    code: str
    cases: int
    balance: Decimal
    cases_free_before: int
    balance_free_before: Decimal
    by_arm: dict[str, int]


class SkippedAgency(BaseModel):
    code: str
    reason: str


class PlacementPreview(BaseModel):
    """An allocation as the operator sees it before anything is written."""

    as_of: date
    strategy: dict[str, Any]
    screened: int
    eligible: int
    eligible_balance: Decimal
    allocated: int
    allocated_balance: Decimal
    agencies: list[AgencyAllocation]
    arms: list[Tally]
    unallocated: list[ReasonTally]
    skipped_agencies: list[SkippedAgency]


class BatchRead(BaseModel):
    batch_no: str
    status: str
    as_of: date
    rule_set: str
    strategy: dict[str, Any]
    summary: dict[str, Any]
    cases: int
    open_cases: int
    created_by: str
    created_at: datetime
    confirmed_by: str | None
    confirmed_at: datetime | None
    activated_at: datetime | None
    closed_at: datetime | None


class CaseChangeRead(BaseModel):
    """One status change. For agency users `reason` and `changed_by` are null (the lender's notes)."""

    from_status: str | None
    to_status: str
    reason: str | None
    changed_by: str | None
    changed_at: datetime


class CaseRead(BaseModel):
    """A case. Fields marked lender-only are null when an agency's user or token reads it."""

    case_no: str
    batch_no: str | None = Field(description="Lender-only.")
    account_no: str
    agency_code: str
    contract_no: str
    status: str
    bucket: str
    dpd: int
    balance_band: str
    region: str
    credit_grade: str | None = Field(description="Lender-only.")
    balance_placed: Decimal
    principal_placed: Decimal
    arm: str | None = Field(description="Lender-only: the strategy arm the case was allocated under.")
    placed_at: datetime
    period_ends_on: date
    extended_count: int
    collector_user_id: int | None = None
    ended_at: datetime | None
    close_reason: str | None
    end_note: str | None = Field(description="Lender-only.")
    previous_case_no: str | None = Field(description="Lender-only: the case this one continues.")
    version: int = Field(description="Changes with every update; the ETag. Send it as If-Match to extend or return.")
    history: list[CaseChangeRead]


class CaseSummary(BaseModel):
    """A case as the case list shows it. `batch_no` is null for agency users."""

    case_no: str
    batch_no: str | None
    account_no: str
    agency_code: str
    status: str
    bucket: str
    dpd: int
    balance_band: str
    region: str
    balance_placed: Decimal
    placed_at: datetime
    period_ends_on: date
    ended_at: datetime | None
    collector_user_id: int | None


class CaseFilters(BaseModel):
    """Filters of the case list; all optional and combined with AND."""

    status: list[CaseStatus] | None = Field(default=None, description="One or more statuses.")
    open: bool | None = Field(default=None, description="true: placed, working or promised; false: ended.")
    agency_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    batch_no: Ref | None = None
    collector_user_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    bucket: Ref | None = None
    region: Ref | None = None
    period_ends_before: date | None = Field(default=None, description="Period ending before this day.")


class JobRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    job: str
    run_for: date
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any]


class CaseOutcome(BaseModel):
    """What a lifecycle operation did: the cases it touched and the batches it closed."""

    cases: list[str]
    closed_batches: list[str] = Field(default_factory=list)
    new_batch: str | None = None


# --- requests ---------------------------------------------------------------------------


class ScreenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: ScreeningRules
    as_of: date | None = None


class ExplainRequest(ScreenRequest):
    account_no: Ref


class RuleSetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Ref
    rules: ScreeningRules


class PlacementRequest(BaseModel):
    """Rules given inline (saved as a version of `save_as` when a batch is created), or a
    saved rule set by name (and version, default the latest)."""

    model_config = ConfigDict(extra="forbid")

    rules: ScreeningRules | None = None
    rule_set: Ref | None = None
    rule_set_version: int | None = Field(default=None, ge=1, le=MAX_ID)
    save_as: Ref = "adhoc"
    strategy: StrategySpec
    as_of: date | None = None
    agencies: list[Ref] | None = None

    @model_validator(mode="after")
    def _one_source_of_rules(self) -> PlacementRequest:
        if (self.rules is None) == (self.rule_set is None):
            raise ValueError(_("give either rules or rule_set"))
        return self


class ReasonRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(_("a reason is required"))
        return value.strip()


class RecallRequest(ReasonRequest):
    case_nos: list[Ref] | None = None
    agency: Ref | None = None
    batch: Ref | None = None

    @model_validator(mode="after")
    def _one_scope(self) -> RecallRequest:
        if sum(x is not None for x in (self.case_nos, self.agency, self.batch)) != 1:
            raise ValueError(_("give exactly one of case_nos, agency or batch"))
        return self


class ExtendRequest(ReasonRequest):
    days: int = Field(ge=1, le=365)


class ReassignRequest(ReasonRequest):
    case_nos: list[Ref] = Field(min_length=1)
    agency: Ref
    as_of: date | None = None


class JobRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_for: date | None = None
    only: list[str] | None = None
