"""From the database to ContactFacts: what a contact check is decided on.

This runs for every action logged, so it costs two statements:

1. `lock_debtor`: the debtor row, locked FOR UPDATE (checks on one debtor are serialised:
   the counters are global over every agency and every account of the debtor), with its
   time zone, its legacy hold flags and the contract's compliance terms;
2. `history`: one UNION ALL of the debtor's contact attempts of the last 8 days (all
   agencies, all accounts), the live reservations, the live holds and the live
   preferences.

The pure evaluator (weiwai.compliance.evaluator) then decides; nothing here judges.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import JSON, Date, DateTime, Integer, String, cast, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from weiwai.agencies.models import Contract
from weiwai.collection.models import CollectionAction
from weiwai.compliance.decision import ContactFacts, HoldFact, PastContact, PreferenceFact
from weiwai.compliance.models import ContactHold, ContactPreference, ContactReservation
from weiwai.config import get_settings
from weiwai.db import utcnow
from weiwai.errors import NotFound
from weiwai.i18n import _
from weiwai.portfolio.models import Account, Debtor

# The evaluator looks back 7 days at most (US-02); one more for time zones and day edges.
HISTORY_DAYS = 8
# Later contacts of the same day also count when an action is reported after the fact.
HISTORY_AHEAD = timedelta(days=1)

# The debtor's legacy flags, as the holds they stand for.
LEGACY_FLAG_HOLDS = (
    ("deceased", "deceased"),
    ("bankrupt", "bankrupt"),
    ("in_litigation", "litigation"),
    ("disputed", "dispute"),
    ("cease_contact", "cease_contact"),
    ("vulnerable", "vulnerable"),
)


@dataclass(frozen=True)
class DebtorRow:
    """The locked debtor: what the facts need of it, and of the case's contract."""

    debtor_id: int
    time_zones: tuple[str, ...]
    flag_holds: tuple[HoldFact, ...]
    compliance_terms: dict


def lock_debtor(*, session: Session, account_id: int, contract_id: int, lock: bool = True) -> DebtorRow:
    """Lock the debtor of `account_id` (SELECT … FOR UPDATE), reading its zone, flags and the contract's terms."""
    query = (
        select(Debtor.id, Debtor.time_zone, *(getattr(Debtor, flag) for flag, _kind in LEGACY_FLAG_HOLDS),
               Contract.compliance_terms)
        .join(Account, Account.debtor_id == Debtor.id)
        .join(Contract, Contract.id == contract_id)
        .where(Account.id == account_id)
    )
    if lock:
        query = query.with_for_update(of=Debtor)
    row = session.execute(query).first()
    if row is None:
        raise NotFound(_("no debtor for account {ref}").format(ref=account_id))
    debtor_id, time_zone, *flags, terms = row
    holds = tuple(HoldFact(kind=kind, channels=frozenset()) for (_flag, kind), on in zip(LEGACY_FLAG_HOLDS, flags,
                                                                                         strict=True) if on)
    zones = tuple(z.strip() for z in (time_zone or get_settings().default_time_zone).split(",") if z.strip())
    return DebtorRow(debtor_id=debtor_id, time_zones=zones, flag_holds=holds, compliance_terms=dict(terms or {}))


def lock_debtors(*, session: Session, debtor_ids: set[int]) -> None:
    """Lock several debtors at once, in id order (file imports: no deadlock between two files)."""
    ids = sorted(debtor_ids)
    for start in range(0, len(ids), 1000):
        session.execute(select(Debtor.id).where(Debtor.id.in_(ids[start:start + 1000])).order_by(Debtor.id)
                        .with_for_update()).all()


@dataclass(frozen=True)
class History:
    contacts: tuple[PastContact, ...]
    holds: tuple[HoldFact, ...]
    preferences: tuple[PreferenceFact, ...]


def history(
    *, session: Session, debtor_id: int, at: datetime, now: datetime | None = None,
    exclude_reservation_id: int | None = None, exclude_action_id: int | None = None,
) -> History:
    """The debtor's contacts around `at`, live reservations, holds and preferences: one statement."""
    now = now or utcnow()
    since, until = at - timedelta(days=HISTORY_DAYS), at + HISTORY_AHEAD
    no_json = cast(null(), JSON)
    no_text, no_int = literal(None, String), literal(None, Integer)
    no_day = literal(None, Date)
    actions = (
        select(literal("action").label("src"), CollectionAction.occurred_at.label("at"), CollectionAction.channel,
               CollectionAction.party, cast(CollectionAction.phone_bidx, String).label("phone_bidx"),
               CollectionAction.contact_id, CollectionAction.outcome.label("kind"), CollectionAction.agency_id,
               CollectionAction.account_id, no_json.label("data"), no_text.label("evidence"),
               no_day.label("valid_until"))
        .join(Account, Account.id == CollectionAction.account_id)
        .where(Account.debtor_id == debtor_id, CollectionAction.occurred_at >= since,
               CollectionAction.occurred_at < until)
    )
    if exclude_action_id is not None:
        actions = actions.where(CollectionAction.id != exclude_action_id)
    reservations = select(
        literal("reservation"), ContactReservation.planned_at, ContactReservation.channel, ContactReservation.party,
        cast(ContactReservation.phone_bidx, String), ContactReservation.contact_id, no_text,
        ContactReservation.agency_id, no_int, no_json, no_text, no_day,
    ).where(
        ContactReservation.debtor_id == debtor_id, ContactReservation.consumed_action_id.is_(None),
        ContactReservation.released_at.is_(None), ContactReservation.expires_at > now,
    )
    if exclude_reservation_id is not None:
        reservations = reservations.where(ContactReservation.id != exclude_reservation_id)
    holds = select(
        literal("hold"), cast(null(), DateTime(timezone=True)), no_text, no_text, no_text, no_int, ContactHold.kind,
        no_int, ContactHold.account_id, ContactHold.channels, no_text, no_day,
    ).where(ContactHold.debtor_id == debtor_id, ContactHold.lifted_at.is_(None))
    preferences = select(
        literal("preference"), cast(null(), DateTime(timezone=True)), no_text, no_text,
        cast(ContactPreference.phone_bidx, String), ContactPreference.contact_id, ContactPreference.kind, no_int,
        no_int, ContactPreference.data, ContactPreference.evidence_ref, ContactPreference.valid_until,
    ).where(ContactPreference.debtor_id == debtor_id, ContactPreference.revoked_at.is_(None),
            or_(ContactPreference.valid_until.is_(None), ContactPreference.valid_until >= at.date()))
    contacts: list[PastContact] = []
    hold_facts: list[HoldFact] = []
    preference_facts: list[PreferenceFact] = []
    for row in session.execute(union_all(actions, reservations, holds, preferences)):
        src, when, channel, party, bidx, contact_id, kind, agency_id, account_id, data, evidence, valid_until = row
        if src in ("action", "reservation"):
            contacts.append(PastContact(
                at=_aware(when), channel=channel, party=party, phone_bidx=bidx, contact_id=contact_id,
                outcome=kind, agency_id=agency_id, account_id=account_id, reserved=src == "reservation"))
        elif src == "hold":
            hold_facts.append(HoldFact(kind=kind, channels=frozenset(_json(data) or ()), account_id=account_id))
        else:
            preference_facts.append(PreferenceFact(
                kind=kind, data=dict(_json(data) or {}), contact_id=contact_id, phone_bidx=bidx,
                evidenced=bool(evidence), valid_until=_day(valid_until)))
    contacts.sort(key=lambda c: c.at)
    return History(contacts=tuple(contacts), holds=tuple(hold_facts), preferences=tuple(preference_facts))


def _json(value):
    # Through a UNION the JSON type can be lost on some drivers: text comes back.
    return json.loads(value) if isinstance(value, str) else value


def _aware(value) -> datetime:
    from datetime import UTC

    if isinstance(value, str):  # SQLite through a UNION: the column type is not applied
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _day(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def build_facts(
    *, debtor: DebtorRow, found: History, channel: str, party: str, at: datetime, phone_bidx: str | None = None,
    contact_id: int | None = None, relation: str | None = None, account_id: int | None = None,
    agency_id: int | None = None, contract_channels: frozenset[str] | None = None, **evidence,
) -> ContactFacts:
    """The ContactFacts of one proposed contact, from what lock_debtor and history read."""
    return ContactFacts(
        at=at, channel=str(channel), party=str(party), time_zones=debtor.time_zones, phone_bidx=phone_bidx,
        contact_id=contact_id, relation=relation, account_id=account_id, agency_id=agency_id,
        history=found.contacts, holds=(*debtor.flag_holds, *found.holds), preferences=found.preferences,
        contract_channels=contract_channels, **evidence,
    )


def gather_facts(
    *, session: Session, case, channel: str, party: str, at: datetime, phone_bidx: str | None = None,
    contact_id: int | None = None, relation: str | None = None, contract_channels: frozenset[str] | None = None,
    lock: bool = True, exclude_reservation_id: int | None = None, **evidence,
) -> tuple[ContactFacts, DebtorRow]:
    """Lock the case's debtor and gather the facts of one proposed contact on `case` (two statements)."""
    debtor = lock_debtor(session=session, account_id=case.account_id, contract_id=case.contract_id, lock=lock)
    found = history(session=session, debtor_id=debtor.debtor_id, at=at, exclude_reservation_id=exclude_reservation_id)
    facts = build_facts(debtor=debtor, found=found, channel=channel, party=party, at=at, phone_bidx=phone_bidx,
                        contact_id=contact_id, relation=relation, account_id=case.account_id,
                        agency_id=case.agency_id, contract_channels=contract_channels, **evidence)
    return facts, debtor


def template_evidence(session: Session, template_code: str | None) -> dict:
    """The template facts of a contact: the code named, and whether an approved version exists."""
    if not template_code:
        return {}
    from weiwai.compliance.templates import approved_template

    return {"template_code": template_code,
            "template_approved": approved_template(session, template_code) is not None}


def pack_for(terms: dict | None):
    """The pack contacts are judged by: settings.compliance_pack, tightened by the contract's overrides."""
    overrides = (terms or {}).get("overrides") or {}
    return _pack(get_settings().compliance_pack, json.dumps(overrides, sort_keys=True, default=str))


@lru_cache(maxsize=256)
def _pack(code: str, overrides_json: str):
    from weiwai.compliance.pack_schema import load_pack, tighten

    pack = load_pack(code)
    overrides = json.loads(overrides_json)
    return tighten(pack, overrides) if overrides else pack


def evaluate(facts: ContactFacts, terms: dict | None):
    """The evaluator's decision on `facts` under the pack of a contract with `terms`."""
    from weiwai.compliance.evaluator import evaluate as run

    return run(facts, pack_for(terms))

