"""Number references, and the debtor of a case as a principal may see it.

An agency reaches a debtor through masked numbers: each number of a case's debtor and
contacts has an opaque reference (`NR` + 16 base32 characters, NumberRef), which the
agency's dialer names and the lender's telephony gateway resolves into the number
(`resolve_ref`, recorded). The full number shows, or resolves for an agency, only where
its contract's masking policy says `full` for the field (weiwai.security.masking_policy).

References are created on first need (viewing the case's debtor, a handover package) in
bulk, one INSERT per chunk, and are stable for the case's life. A reference works only
while its case is in the principal's reach (weiwai.security.scope): after recall, return,
expiry or closure it answers 404 like one that never existed.
"""

from __future__ import annotations

import base64
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Contract
from weiwai.db import utcnow
from weiwai.errors import DomainError, NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.placements.lifecycle import is_open
from weiwai.placements.models import Case
from weiwai.portfolio import personal_data
from weiwai.portfolio.models import Account, Debtor, DebtorContact, DebtorPhone, NumberRef
from weiwai.security import audit, scope
from weiwai.security.masking_policy import FieldMode, FieldRule, apply_rule, effective_rules

REF_PREFIX = "NR"
REF_PATTERN = r"^NR[A-Z2-7]{16}$"
CHUNK = 1000
DEBTOR = "debtor"
CONTACT = "contact"
# The masking field that rules a number of each party.
FIELD_OF_PARTY = {DEBTOR: "mobile", CONTACT: "contact_phone"}


class FullNumberNotAllowed(DomainError):
    """The principal may reach the case, but its contract does not release the full number (HTTP 403)."""

    code = "full_number_not_allowed"
    http_status = 403


def new_ref() -> str:
    """A fresh opaque reference: NR and 16 base32 characters (80 random bits)."""
    return REF_PREFIX + base64.b32encode(secrets.token_bytes(10)).decode("ascii")


@dataclass(frozen=True)
class RefTarget:
    """What a reference names: whose number (party, phone or contact id) and its blind index."""

    ref: str
    case_id: int
    party: str
    debtor_phone_id: int | None
    debtor_contact_id: int | None
    phone_bidx: str


def ensure_refs(*, session: Session, case_ids: Sequence[int]) -> None:
    """Create the missing references of these cases' numbers: a few reads and one INSERT per chunk."""
    for start in range(0, len(case_ids), CHUNK):
        chunk = list(case_ids[start : start + CHUNK])
        cases = session.execute(
            select(Case.id, Case.agency_id, Account.debtor_id)
            .join(Account, Case.account_id == Account.id)
            .where(Case.id.in_(chunk))
        ).all()
        if not cases:
            continue
        debtor_ids = {row.debtor_id for row in cases}
        phones: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for phone_id, debtor_id, bidx in session.execute(
            select(DebtorPhone.id, DebtorPhone.debtor_id, DebtorPhone.phone_bidx)
            .where(DebtorPhone.debtor_id.in_(debtor_ids))
        ):
            phones[debtor_id].append((phone_id, bidx))
        contacts: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for contact_id, debtor_id, bidx in session.execute(
            select(DebtorContact.id, DebtorContact.debtor_id, DebtorContact.phone_bidx)
            .where(DebtorContact.debtor_id.in_(debtor_ids))
        ):
            contacts[debtor_id].append((contact_id, bidx))
        existing = {tuple(row) for row in session.execute(
            select(NumberRef.case_id, NumberRef.debtor_phone_id, NumberRef.debtor_contact_id)
            .where(NumberRef.case_id.in_(chunk))
        )}
        now = utcnow()
        missing = []
        for case_id, agency_id, debtor_id in cases:
            for phone_id, bidx in phones.get(debtor_id, []):
                if (case_id, phone_id, None) not in existing:
                    missing.append(_row(case_id, agency_id, DEBTOR, phone_id, None, bidx, now))
            for contact_id, bidx in contacts.get(debtor_id, []):
                if (case_id, None, contact_id) not in existing:
                    missing.append(_row(case_id, agency_id, CONTACT, None, contact_id, bidx, now))
        if missing:
            # Core executemany on the connection: the ORM's bulk path would send one
            # INSERT … ON CONFLICT per row.
            session.connection().execute(_insert_ignoring_duplicates(session), missing)


def _row(case_id, agency_id, party, phone_id, contact_id, bidx, now) -> dict[str, object]:
    return {"ref": new_ref(), "case_id": case_id, "agency_id": agency_id, "party": party,
            "debtor_phone_id": phone_id, "debtor_contact_id": contact_id, "phone_bidx": bidx, "created_at": now}


def _insert_ignoring_duplicates(session: Session):
    """INSERT that leaves a reference alone when a concurrent request created it first."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - only the two supported backends
        return insert(NumberRef.__table__)
    return dialect_insert(NumberRef.__table__).on_conflict_do_nothing()


def refs_of_cases(*, session: Session, case_ids: Iterable[int]) -> dict[int, dict[str, RefTarget]]:
    """The references of these cases, by case id and reference."""
    case_ids = list(case_ids)
    found: dict[int, dict[str, RefTarget]] = {case_id: {} for case_id in case_ids}
    if not case_ids:
        return found
    for row in session.execute(
        select(NumberRef.ref, NumberRef.case_id, NumberRef.party, NumberRef.debtor_phone_id,
               NumberRef.debtor_contact_id, NumberRef.phone_bidx).where(NumberRef.case_id.in_(case_ids))
    ):
        found[row.case_id][row.ref] = RefTarget(*row)
    return found


def target_of(refs: dict[str, RefTarget], number_ref: str) -> RefTarget:
    """The target of a reference that must belong to the case (RuleViolation naming it otherwise)."""
    target = refs.get(number_ref)
    if target is None:
        raise RuleViolation(_("number_ref {ref} is not a number reference of this case").format(ref=number_ref),
                            code="unknown_number_ref")
    return target


# --- the debtor of a case, as the principal may see it ------------------------------------


@dataclass(frozen=True)
class NumberView:
    number_ref: str
    party: str
    relation: str | None
    name: str | None  # a contact person's name, per the contact_name rule
    display: str | None  # the number per the field's rule (None: hidden)
    number: str | None  # the whole number, only where the rule is full
    is_primary: bool


@dataclass(frozen=True)
class DebtorView:
    case_no: str
    name: str | None
    national_id: str | None
    address: str | None
    region: str
    phones: list[NumberView]
    contacts: list[NumberView]
    rules: dict[str, FieldRule]


def rules_for(principal, contract_policy: dict | None) -> dict[str, FieldRule]:
    """The effective masking rules of `principal` (the contract's policy applies to agency principals)."""
    return effective_rules(role=principal.role, contract_policy=None if principal.is_lender else contract_policy)


def case_debtor(*, session: Session, principal, case_no: str, actor: str | None = None) -> DebtorView:
    """The debtor of a case `principal` may see, shown as the effective policy allows; the view is recorded."""
    case = scope.visible_case(session=session, principal=principal, case_no=case_no)
    contract_policy = session.scalar(select(Contract.masking_policy).where(Contract.id == case.contract_id))
    rules = rules_for(principal, contract_policy)
    view = debtor_view(session=session, case=case, rules=rules)
    audit.record(session=session, actor=actor or principal.actor, action="debtor.view", entity="case", entity_id=case.case_no,
                 details={"case_no": case.case_no,
                          "full": sorted(field for field, rule in rules.items() if rule.mode == FieldMode.full)})
    session.flush()
    return view


def debtor_view(*, session: Session, case: Case, rules: dict[str, FieldRule]) -> DebtorView:
    """The debtor of `case` under `rules`, each number with its reference (created if missing)."""
    ensure_refs(session=session, case_ids=[case.id])
    debtor = session.scalars(
        select(Debtor).join(Account, Account.debtor_id == Debtor.id).where(Account.id == case.account_id)
    ).one()
    refs = refs_of_cases(session=session, case_ids=[case.id])[case.id]
    by_phone = {t.debtor_phone_id: t.ref for t in refs.values() if t.debtor_phone_id is not None}
    by_contact = {t.debtor_contact_id: t.ref for t in refs.values() if t.debtor_contact_id is not None}

    def opened(envelope: bytes | None, context: str, field: str) -> tuple[str | None, str | None]:
        """(display, whole number) of a sealed value: decrypted only when the rule shows something."""
        rule = rules[field]
        if envelope is None or rule.mode == FieldMode.hidden:
            return None, None
        plain = personal_data.open_value(envelope, context, reveal=True)
        return apply_rule(field, rule, plain), plain if rule.mode == FieldMode.full else None

    phones = []
    for phone in sorted(debtor.phones, key=lambda p: (not p.is_primary, p.id)):
        display, number = opened(phone.phone_enc, personal_data.DEBTOR_PHONE, "mobile")
        phones.append(NumberView(number_ref=by_phone[phone.id], party=DEBTOR, relation=None, name=None,
                                 display=display, number=number, is_primary=phone.is_primary))
    contacts = []
    for contact in debtor.contacts:
        display, number = opened(contact.phone_enc, personal_data.CONTACT_PHONE, "contact_phone")
        contacts.append(NumberView(
            number_ref=by_contact[contact.id], party=CONTACT, relation=str(contact.relation),
            name=apply_rule("contact_name", rules["contact_name"], contact.name), display=display, number=number,
            is_primary=False,
        ))
    return DebtorView(
        case_no=case.case_no,
        name=apply_rule("debtor_name", rules["debtor_name"], debtor.name),
        national_id=opened(debtor.national_id_enc, personal_data.NATIONAL_ID, "national_id")[0],
        address=opened(debtor.address_enc, personal_data.ADDRESS, "address")[0],
        region=debtor.region,
        phones=phones,
        contacts=contacts,
        rules=rules,
    )


# --- resolving a reference into the number ------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    number_ref: str
    case_no: str
    party: str
    number: str


def resolve_ref(
    *, session: Session, principal, number_ref: str, purpose: str, actor: str | None = None
) -> Resolved:
    """The whole number behind a reference, for a dialer; recorded.

    Lender staff: references of open cases. An agency: references of cases in its reach,
    and only where its contract's rule for the field is `full` (403 full_number_not_allowed).
    Anything else answers 404, as if the reference did not exist.
    """
    purpose = (purpose or "").strip()
    if not purpose:
        raise RuleViolation(_("a purpose is required to resolve a number reference"), code="reason_required")
    not_found = NotFound(_("no number reference {ref}").format(ref=number_ref))
    found = session.scalars(select(NumberRef).where(NumberRef.ref == number_ref)).first()
    if found is None:
        raise not_found
    try:
        case = scope.visible_case(session=session, principal=principal, case_id=found.case_id)
    except NotFound:
        raise not_found from None
    if not is_open(case.status):
        raise not_found
    field = FIELD_OF_PARTY[found.party]
    if not principal.is_lender:
        contract_policy = session.scalar(select(Contract.masking_policy).where(Contract.id == case.contract_id))
        if rules_for(principal, contract_policy)[field].mode != FieldMode.full:
            raise FullNumberNotAllowed(_(
                "the contract of case {case} does not release full numbers ({field}) to the agency: "
                "dial through the lender's gateway, or ask the lender to change the contract's masking policy"
            ).format(case=case.case_no, field=field))
    if found.debtor_phone_id is not None:
        envelope = session.scalar(select(DebtorPhone.phone_enc).where(DebtorPhone.id == found.debtor_phone_id))
        context = personal_data.DEBTOR_PHONE
    else:
        envelope = session.scalar(select(DebtorContact.phone_enc).where(DebtorContact.id == found.debtor_contact_id))
        context = personal_data.CONTACT_PHONE
    if envelope is None:  # the number was deleted since
        raise not_found
    number = personal_data.open_value(envelope, context, reveal=True)
    audit.record(session=session, actor=actor or principal.actor, action="number.resolve", entity="number_ref",
                 entity_id=found.ref, details={"case_no": case.case_no, "party": found.party, "purpose": purpose})
    # Written now, so that a failure to record stops the resolution instead of following it.
    session.flush()
    return Resolved(number_ref=found.ref, case_no=case.case_no, party=found.party, number=number)
