"""Shapes of the contact-check, holds, preferences and violations API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from weiwai.agencies.models import Channel
from weiwai.collection.models import Party
from weiwai.compliance.decision import Decision
from weiwai.compliance.models import HoldKind, PreferenceKind
from weiwai.web.params import Id

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=r"^[^\x00]+$")]
Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                       pattern=r"^[^\x00-\x1f\x7f]+$")]
CaseNo = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100,
                                          pattern=r"^[^\x00-\x1f\x7f]+$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[^\x00]+$")]


class ContactCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_no: CaseNo
    channel: Channel
    party: Party = Party.debtor
    phone_id: Id | None = None
    phone: Phone | None = None
    # The number by its reference (NR…, GET /cases/{case_no}/debtor): it must be the case's.
    number_ref: Ref | None = None
    contact_id: Id | None = None
    at: AwareDatetime | None = None  # default: now
    reserve: bool = False
    # The recorded line the call will use (CN-13); the action logged must carry it anyway.
    line_ref: Ref | None = None
    # The message template the contact will use (SMS, letter, e-mail): it must be approved.
    template_code: Ref | None = None

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        try:
            return value.astimezone(UTC) if value is not None else None
        except OverflowError:
            raise ValueError("the time is out of range") from None


class Reason(BaseModel):
    rule_id: str
    zh_CN: str
    en: str
    earliest: datetime | None = None


class ContactCheckOut(BaseModel):
    allowed: bool
    pack: str
    rule_ids: list[str]
    reasons: list[Reason]
    earliest_allowed_at: datetime | None
    reservation: str | None = None
    reservation_expires_at: datetime | None = None

    @classmethod
    def of(cls, decision: Decision, *, token: str | None = None, expires_at: datetime | None = None):
        return cls(
            allowed=decision.allowed, pack=decision.pack,
            rule_ids=list(decision.rule_ids) or [d.rule_id for d in decision.denials],
            reasons=[Reason(rule_id=d.rule_id, zh_CN=d.reason_zh, en=d.reason_en, earliest=d.earliest)
                     for d in decision.denials],
            earliest_allowed_at=decision.earliest_allowed_at, reservation=token, reservation_expires_at=expires_at,
        )


class HoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: HoldKind
    channels: list[Channel] = Field(default_factory=list, max_length=6)  # empty: every channel
    reason: Text
    account_no: CaseNo | None = None
    evidence_ref: Ref | None = None


class HoldLift(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text


class CaseReport(BaseModel):
    """What an agency was told on its case: a dispute, a request to stop, or a contact who refused."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["dispute", "cease_contact", "do_not_contact"]
    reason: Text
    contact_id: Id | None = None
    phone_id: Id | None = None
    phone: Phone | None = None
    evidence_ref: Ref | None = None


class HoldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    debtor_id: int
    account_id: int | None
    kind: str
    channels: list[str]
    reason: str
    evidence_ref: str | None
    set_by: str
    set_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None
    lift_reason: str | None
    version: int


class PreferenceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: PreferenceKind
    data: dict[str, str | list[str]] = Field(default_factory=dict, max_length=10)  # e.g. {"start": "20:00", ...}
    contact_id: Id | None = None
    phone_id: Id | None = None
    phone: Phone | None = None
    evidence_ref: Ref | None = None
    valid_until: date | None = None


class PreferenceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    debtor_id: int
    contact_id: int | None
    kind: str
    data: dict
    evidence_ref: str | None
    valid_until: date | None
    recorded_by: str
    recorded_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None


class ReportRead(BaseModel):
    """An agency's report, as recorded: a hold or a do-not-contact preference."""

    kind: str
    hold: HoldRead | None = None
    preference: PreferenceRead | None = None


class ViolationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action_id: int | None
    case_id: int
    agency_id: int | None
    collector_user_id: int | None
    rule_id: str
    pack: str
    severity: str
    disposition: str
    details: dict
    occurred_at: datetime
    recorded_by: str
    recorded_at: datetime
