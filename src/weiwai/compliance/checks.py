"""The pre-contact check: may this agency contact this person, on this channel, now?

The counters the rules keep (conversations a day per debtor, attempts a day per number,
calls in 7 days) are global: every agency and the lender share them. So checks on one
debtor are serialised by locking the debtor row (facts.lock_debtor: SELECT … FOR UPDATE)
before the history is read; a check that allows and is asked to `reserve` inserts a
ContactReservation in the same transaction, which every later check counts as a contact
(the worst case) until an action consumes it, it is released or it expires
(settings.contact_reservation_minutes). Two agencies asking at the same moment for the
last slot are thus answered one after the other, and only the first gets it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from weiwai.collection.models import Party
from weiwai.collection.outcomes import NUMBER_CHANNELS
from weiwai.collection.service import attach_number_refs, load_contexts
from weiwai.compliance import enforcement
from weiwai.compliance import facts as facts_mod
from weiwai.compliance.decision import ContactFacts, Decision
from weiwai.compliance.models import ContactReservation
from weiwai.config import get_settings
from weiwai.db import utcnow
from weiwai.errors import NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.placements.lifecycle import is_open
from weiwai.placements.models import Case
from weiwai.portfolio import personal_data
from weiwai.portfolio.identity import normalise_mobile
from weiwai.security import scope

TOKEN_PREFIX = "rsv_"
# Evidence rules (CN-05 credentials, CN-08 recording, CN-13 recorded line) judge what an
# action carries, which exists only once the contact is made: a check before the contact
# leaves them to the action (enforcement judges them when it is logged), unless it names
# the line it will use.
PRE_CONTACT_EVIDENCE = "(pre-contact check)"


@dataclass(frozen=True)
class CheckResult:
    decision: Decision
    reservation_token: str | None
    expires_at: datetime | None
    case: Case
    facts: ContactFacts


@dataclass(frozen=True)
class Target:
    """Whom a check is about: the number's blind index, the contact person and their relation."""

    phone_bidx: str | None
    contact_id: int | None
    relation: str | None


def resolve_target(
    *, context, channel: str, party: str, phone_id: int | None = None, phone: str | None = None,
    phone_bidx: str | None = None, contact_id: int | None = None, number_ref: str | None = None,
) -> Target:
    """The number and contact a check names, which must be the debtor's (or the contact's); RuleViolation otherwise."""
    party = str(party)
    relation = None
    contact = None
    if party == Party.contact:
        if contact_id is None or contact_id not in context.contacts:
            raise RuleViolation(_("party contact needs contact_id: one of the debtor's contacts"))
        contact = context.contacts[contact_id]
        relation = contact.relation
    elif contact_id is not None:
        raise RuleViolation(_("contact_id is only given with party contact"))
    given = [value for value in (phone_id, phone, phone_bidx, number_ref) if value is not None]
    if len(given) > 1:
        raise RuleViolation(_("give the number once: phone_id, phone_bidx, phone or number_ref"))
    bidx = None
    if phone_id is not None:
        if phone_id not in context.debtor_phones:
            raise RuleViolation(_("phone_id {id} is not one of the debtor's phones").format(id=phone_id))
        bidx = context.debtor_phones[phone_id]
    elif phone is not None:
        try:
            bidx = personal_data.phone_index(normalise_mobile(phone))
        except ValueError:
            raise RuleViolation(_("not a mainland mobile number (11 digits starting 13-19)")) from None
    elif phone_bidx is not None:
        bidx = phone_bidx
    elif number_ref is not None:
        if number_ref not in context.number_refs:
            raise RuleViolation(_("number_ref {ref} is not a number reference of case {case}").format(
                ref=number_ref, case=context.case.case_no), code="unknown_number_ref")
        bidx = context.number_refs[number_ref]
    elif contact is not None:
        bidx = contact.phone_bidx
    if bidx is not None:
        if party == Party.debtor:
            allowed = set(context.debtor_phones.values())
        elif contact is not None:
            allowed = {contact.phone_bidx}
        else:
            allowed = set(context.debtor_phones.values()) | {c.phone_bidx for c in context.contacts.values()}
        if bidx not in allowed:
            raise RuleViolation(_("the number is not one of this party's numbers"))
    elif str(channel) in NUMBER_CHANNELS and party == Party.debtor:
        raise RuleViolation(_("say which number: phone_id, phone, number_ref or contact_id"))
    return Target(phone_bidx=bidx, contact_id=contact_id, relation=relation)


def check_contact(
    *, session: Session, principal, case_no: str, channel: str, party: str = "debtor", at: datetime | None = None,
    phone_id: int | None = None, phone: str | None = None, phone_bidx: str | None = None,
    contact_id: int | None = None, reserve: bool = False, now: datetime | None = None, line_ref: str | None = None,
    template_code: str | None = None, number_ref: str | None = None,
) -> CheckResult:
    """Judge one proposed contact on a case `principal` may see; with `reserve`, take the slot if allowed.

    A denied check that asked to reserve (a contact about to be made) is kept as a
    ComplianceViolation with disposition "refused"; a plain question is not.
    """
    now = now or utcnow()
    at = at or now
    try:
        case = scope.visible_case(session=session, principal=principal, case_no=case_no)
    except NotFound:
        from weiwai.privacy.canaries import note_unknown_case

        note_unknown_case(session=session, case_no=case_no, source="contact_check", actor=principal.actor,
                          agency_id=principal.agency_id)
        raise
    if not is_open(case.status):
        raise RuleViolation(_("case {case} is {status}: no contact on a case that is not open").format(
            case=case.case_no, status=case.status))
    context = load_contexts(session=session, cases=[case])[case.id]
    if number_ref is not None:
        attach_number_refs(session=session, contexts=[context])
    target = resolve_target(context=context, channel=channel, party=party, phone_id=phone_id, phone=phone,
                            phone_bidx=phone_bidx, contact_id=contact_id, number_ref=number_ref)
    # The debtor's lock first, then the history: checks of one debtor come one after the other.
    debtor = facts_mod.lock_debtor(session=session, account_id=case.account_id, contract_id=case.contract_id)
    found = facts_mod.history(session=session, debtor_id=debtor.debtor_id, at=at, now=now)
    facts = facts_mod.build_facts(
        debtor=debtor, found=found, channel=str(channel), party=str(party), at=at, phone_bidx=target.phone_bidx,
        contact_id=target.contact_id, relation=target.relation, account_id=case.account_id,
        agency_id=case.agency_id, contract_channels=context.permitted_channels,
        line_ref=line_ref or PRE_CONTACT_EVIDENCE, credential_ref=PRE_CONTACT_EVIDENCE,
        recording_ref=PRE_CONTACT_EVIDENCE, **facts_mod.template_evidence(session, template_code),
    )
    decision = facts_mod.evaluate(facts, debtor.compliance_terms)
    token = expires_at = None
    if decision.allowed and reserve:
        expires_at = now + timedelta(minutes=get_settings().contact_reservation_minutes)
        token = TOKEN_PREFIX + secrets.token_urlsafe(24)
        session.add(ContactReservation(
            token=token, debtor_id=debtor.debtor_id, case_id=case.id, agency_id=case.agency_id,
            channel=str(channel), party=str(party), contact_id=target.contact_id, phone_bidx=target.phone_bidx,
            planned_at=at, reserved_by=principal.actor, reserved_at=now, expires_at=expires_at,
        ))
        session.flush()
    elif not decision.allowed and reserve:
        enforcement.record_violations(
            session=session, decision=decision, case_id=case.id, debtor_id=debtor.debtor_id,
            agency_id=case.agency_id, collector_user_id=None if principal.is_lender else principal.user_id,
            action_id=None, disposition="refused", occurred_at=at, actor=principal.actor, facts=facts,
        )
    return CheckResult(decision=decision, reservation_token=token, expires_at=expires_at, case=case, facts=facts)


def release_reservation(*, session: Session, principal, token: str, now: datetime | None = None) -> ContactReservation:
    """Give a reserved slot back (a case `principal` may see); NotFound for anyone else's, alike."""
    now = now or utcnow()
    found = session.scalars(select(ContactReservation).where(ContactReservation.token == token)).first()
    if found is None:
        raise NotFound(_("no reservation {ref}").format(ref=token))
    try:
        scope.visible_case(session=session, principal=principal, case_id=found.case_id)
    except NotFound:
        raise NotFound(_("no reservation {ref}").format(ref=token)) from None
    if found.consumed_action_id is not None:
        raise RuleViolation(_("reservation {token} was used by action {id}").format(
            token=token, id=found.consumed_action_id), code="reservation_invalid")
    if found.released_at is None:
        found.released_at = now
        session.flush()
    return found
