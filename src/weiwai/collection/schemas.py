"""Shapes of the collection log: an action as logged, and actions and promises as read.

The schema checks types and sizes only; the rules that need the case (open, agency,
channel permitted, contact and number belong to the debtor, promise dates) are in
weiwai.collection.rules, so the API, the CLI and file imports apply the same ones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from weiwai.agencies.models import Channel
from weiwai.collection.models import CollectionAction, Outcome, Party, PromiseStatus, PromiseToPay
from weiwai.i18n import _
from weiwai.portfolio.models import ContactRelation

# No NUL anywhere (PostgreSQL cannot store it); references are printable.
Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100,
                                       pattern=r"^[^\x00-\x1f\x7f]+$")]
RecordingRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                                pattern=r"^[^\x00-\x1f\x7f]+$")]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=r"^[^\x00]+$")]
IdempotencyKey = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")
]
PhoneIndex = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9a-f]{32}$")]
PromiseAmount = Annotated[Decimal, Field(max_digits=18, decimal_places=2)]


class ActionFields(BaseModel):
    """One collection action as an agency reports it (without a retry key)."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    occurred_at: AwareDatetime
    party: Party = Party.debtor
    # For party "contact": which of the debtor's contact persons.
    contact_id: int | None = None
    # For party "third_party" only (a contact's relation comes from the contact).
    relation: ContactRelation | None = None
    # For phone / sms / ivr, the number used, by one reference: a debtor phone's id, the
    # number's blind index, or the number itself (only its blind index is kept).
    # Or by its number reference (NR…, GET /cases/{case_no}/debtor), which must be the case's.
    # For party "contact" the contact's own number is the default.
    phone_id: int | None = None
    phone_bidx: PhoneIndex | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32,
                                            pattern=r"^[^\x00]+$")] | None = None
    number_ref: Ref | None = None
    outcome: Outcome
    promise_amount: PromiseAmount | None = None
    promise_due_on: date | None = None
    notes: Notes | None = None
    line_ref: Ref | None = None
    recording_ref: RecordingRef | None = None
    credential_ref: Ref | None = None
    # The approved message template used (SMS, letter, e-mail, call script): CN-06, US-05.
    template_code: Ref | None = None

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 with an offset
            raise ValueError(_("the time is out of range")) from None


class ActionCreate(ActionFields):
    """An action as the CLI and file imports log it: with an optional key of the agency's own.

    The key is unique across every agency (it is how a re-imported file's rows are
    recognised); the HTTP API does not take it: it has the per-caller Idempotency-Key header.
    """

    idempotency_key: IdempotencyKey | None = None


ReservationToken = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                                                   pattern=r"^[\x21-\x7e]+$")]


class ActionPost(ActionFields):
    """An action as the HTTP API takes it; a retry is named by the Idempotency-Key header."""

    # The token of the reservation a pre-contact check took (POST /api/v1/contact-checks,
    # reserve=true): the action uses that slot of the global counters.
    reservation: ReservationToken | None = None

    def to_create(self) -> ActionCreate:
        fields = {name: value for name, value in self if name != "reservation"}
        return ActionCreate.model_construct(**fields, idempotency_key=None)


class PromiseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action_id: int
    case_id: int
    amount: Decimal
    promised_on: date
    due_on: date
    status: PromiseStatus
    paid_amount: Decimal
    evaluated_at: datetime | None


class ActionRead(BaseModel):
    id: int
    case_no: str
    case_id: int
    agency_id: int
    collector_user_id: int | None
    channel: Channel
    occurred_at: datetime
    party: Party
    contact_id: int | None
    relation: str | None
    # The number used, masked (never the blind index: it would link numbers across cases).
    phone_masked: str | None
    outcome: Outcome
    notes: str | None
    line_ref: str | None
    recording_ref: str | None
    credential_ref: str | None
    recorded_by: str
    recorded_at: datetime
    idempotency_key: str | None
    promise: PromiseRead | None = None

    @classmethod
    def of(
        cls, action: CollectionAction, *, case_no: str, phone_masked: str | None = None,
        promise: PromiseToPay | None = None,
    ) -> ActionRead:
        return cls(
            id=action.id, case_no=case_no, case_id=action.case_id, agency_id=action.agency_id,
            collector_user_id=action.collector_user_id, channel=Channel(action.channel),
            occurred_at=action.occurred_at, party=Party(action.party), contact_id=action.contact_id,
            relation=action.relation, phone_masked=phone_masked, outcome=Outcome(action.outcome),
            notes=action.notes, line_ref=action.line_ref, recording_ref=action.recording_ref,
            credential_ref=action.credential_ref, recorded_by=action.recorded_by,
            recorded_at=action.recorded_at, idempotency_key=action.idempotency_key,
            promise=PromiseRead.model_validate(promise) if promise is not None else None,
        )
