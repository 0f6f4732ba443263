"""The facts a contact check is decided on, and the decision: the contract between the pure
evaluator (weiwai.compliance.evaluator) and the service that gathers facts from the
database (weiwai.compliance.checks).

Everything here is plain data: the evaluator never touches the database, so it can be
tested rule by rule with scenario tables and property tests, and run 20,000 times a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class PastContact:
    """One contact attempt on the debtor's accounts (any agency, or the lender), or a live reservation."""

    at: datetime  # UTC
    channel: str  # weiwai.agencies.models.Channel value
    party: str  # debtor / contact / third_party
    phone_bidx: str | None
    contact_id: int | None
    outcome: str | None  # weiwai.collection.models.Outcome value; None for a reservation not yet used
    agency_id: int | None
    account_id: int | None = None
    reserved: bool = False  # a slot a check took that no action has used yet: counts as the worst case


@dataclass(frozen=True)
class HoldFact:
    kind: str  # weiwai.compliance.models.HoldKind value
    channels: frozenset[str]  # empty = every channel
    account_id: int | None = None  # None = every account of the debtor


@dataclass(frozen=True)
class PreferenceFact:
    kind: str  # weiwai.compliance.models.PreferenceKind value
    data: dict
    contact_id: int | None = None
    phone_bidx: str | None = None
    evidenced: bool = False
    valid_until: date | None = None


@dataclass(frozen=True)
class ContactFacts:
    """A proposed contact and everything the rules need to judge it."""

    at: datetime  # when the contact would happen (UTC, aware)
    channel: str
    party: str
    time_zones: tuple[str, ...]  # the debtor's zone(s); more than one when it is ambiguous (US-01)
    phone_bidx: str | None = None
    contact_id: int | None = None
    relation: str | None = None  # of the contact person, when party is contact
    account_id: int | None = None
    agency_id: int | None = None
    history: tuple[PastContact, ...] = ()  # the debtor's contacts of the last 8 days, every agency
    holds: tuple[HoldFact, ...] = ()
    preferences: tuple[PreferenceFact, ...] = ()
    contract_channels: frozenset[str] | None = None  # None: not limited by a contract
    # Visits: the evidence a field visit must carry (CN-05, CN-08); calls: the recorded line (CN-13).
    credential_ref: str | None = None
    recording_ref: str | None = None
    line_ref: str | None = None
    template_code: str | None = None
    template_approved: bool | None = None  # None: no template named


@dataclass(frozen=True)
class Denial:
    """One rule that says no, why (in both languages), and when it would say yes."""

    rule_id: str  # e.g. CN-01
    reason_zh: str
    reason_en: str
    earliest: datetime | None = None  # UTC; None: not by waiting (a hold, a refusal)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    pack: str  # id@version of the pack applied, e.g. CN@1
    denials: tuple[Denial, ...] = ()
    # The earliest moment every time-bound denial is lifted; None when allowed, or when some
    # denial cannot be waited out.
    earliest_allowed_at: datetime | None = None
    rule_ids: tuple[str, ...] = field(default=())
