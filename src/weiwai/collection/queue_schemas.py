"""Shapes of the work queue API: queue items with their reasons, assignments, queue policies."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from weiwai.collection.queue_policy import QueuePolicy
from weiwai.web.pagination import Page
from weiwai.web.params import REF_PATTERN, Id

CaseNo = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=REF_PATTERN)]
PolicyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MAX_BATCH = 5000


class ReasonRead(BaseModel):
    """One factor of the case's score: its code, points and a sentence in the caller's language."""

    code: str
    points: float
    text: str


class AssigneeRead(BaseModel):
    user_id: int
    username: str
    display_name: str
    active: bool


class PromiseDueRead(BaseModel):
    due_on: date
    amount: Decimal


class QueueItem(BaseModel):
    """A case in the queue: where it stands, who works it, and why it is where it is."""

    rank: int = Field(description="Position in the whole queue (1 = work first).")
    case_no: str
    account_no: str | None = Field(
        description="Shown to agency users only when the contract's handover policy releases it.")
    status: str
    dpd: int = Field(description="Days past due today.")
    bucket: str = Field(description="Bucket by today's days past due.")
    balance: Decimal = Field(description="Outstanding today.")
    balance_placed: Decimal
    placed_on: date
    period_ends_on: date
    last_attempt_on: date | None
    attempts: int
    pending_promise: PromiseDueRead | None
    assignee: AssigneeRead | None
    needs_reassignment: bool = Field(
        description="Assigned to someone who can no longer work it (deactivated, or no longer a collector there).")
    version: int = Field(description="The case's version (its ETag for PUT /cases/{case_no}/assignee).")
    score: float
    reasons: list[ReasonRead]


class PolicyRef(BaseModel):
    name: str
    version: int | None = Field(description="None: the built-in default (no policy stored yet).")
    sha256: str


class WorkQueue(Page[QueueItem]):
    """One page of a queue, in priority order."""

    agency_id: int
    as_of: date
    policy: PolicyRef


class AssigneeUpdate(BaseModel):
    """Give the case to a collector of its agency, or take it back (null)."""

    model_config = ConfigDict(extra="forbid")

    collector_user_id: Id | None


class BulkAssignment(BaseModel):
    """Give these cases to one collector (or null: unassign them). All or nothing."""

    model_config = ConfigDict(extra="forbid")

    case_nos: list[CaseNo] = Field(min_length=1, max_length=MAX_BATCH)
    collector_user_id: Id | None


class AssignmentResult(BaseModel):
    collector_user_id: int | None
    assigned: int = Field(description="Cases whose assignee changed.")
    unchanged: int = Field(description="Cases that already had this assignee.")
    changed_case_nos: list[str]


class DistributeRequest(BaseModel):
    """Share the agency's unassigned open cases (and those needing reassignment) among collectors."""

    model_config = ConfigDict(extra="forbid")

    agency_id: Id | None = Field(default=None, description="Lender users name the agency; agency users need not.")
    collector_user_ids: list[Id] | None = Field(
        default=None, max_length=1000, description="Default: every active collector of the agency.")


class CollectorShare(BaseModel):
    user_id: int
    username: str
    assigned: int = Field(description="Cases given now.")
    open_cases: int = Field(description="Open cases held after distribution.")


class DistributionResult(BaseModel):
    agency_id: int
    assigned: int
    collectors: list[CollectorShare]


class AssignmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    collector_user_id: int | None
    previous_user_id: int | None
    assigned_by: str
    assigned_at: datetime


class CaseAssigneeRead(BaseModel):
    case_no: str
    agency_id: int
    assignee: AssigneeRead | None
    version: int
    history: list[AssignmentRead]


class QueuePolicyCreate(BaseModel):
    """A new version of the lender's queue policy; omitted parts take the defaults."""

    model_config = ConfigDict(extra="forbid")

    name: PolicyName = "default"
    policy: QueuePolicy


class QueuePolicyRead(BaseModel):
    name: str
    version: int | None = Field(description="None: the built-in default (no policy stored yet).")
    sha256: str
    policy: QueuePolicy
    created_by: str | None
    created_at: datetime | None
