"""Holds, preferences and violations: what blocks contact with a debtor, and what broke a rule.

Holds (ContactHold) are set and lifted by the lender's staff (holds.write); an agency may
report a dispute or a cease-contact request it was told about on a case it sees, and a
contact person who refused (a do_not_contact preference): the lender lifts. Every change
is audited. The legacy flags on the debtor (deceased, bankrupt, …) still count as holds
(weiwai.compliance.facts) but are not listed here.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weiwai.compliance.models import (
    ComplianceViolation,
    ContactHold,
    ContactPreference,
    HoldKind,
    PreferenceKind,
)
from weiwai.db import utcnow
from weiwai.errors import NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.portfolio import personal_data
from weiwai.portfolio.identity import normalise_mobile
from weiwai.portfolio.models import Account, Debtor, DebtorContact, DebtorPhone
from weiwai.security import audit, scope

# What an agency may report on its case (the lender decides on lifting).
AGENCY_HOLD_KINDS = frozenset({HoldKind.dispute, HoldKind.cease_contact})


def debtor_of(*, session: Session, debtor_id: int) -> Debtor:
    debtor = session.get(Debtor, debtor_id)
    if debtor is None:
        raise NotFound(_("no debtor {ref}").format(ref=debtor_id))
    return debtor


def list_holds(
    *, session: Session, debtor_id: int, include_lifted: bool = False, offset: int = 0, limit: int | None = None,
) -> tuple[list[ContactHold], int]:
    """The debtor's holds (live ones unless `include_lifted`), newest first, and how many."""
    debtor_of(session=session, debtor_id=debtor_id)
    conditions = [ContactHold.debtor_id == debtor_id]
    if not include_lifted:
        conditions.append(ContactHold.lifted_at.is_(None))
    query = select(ContactHold).where(*conditions).order_by(ContactHold.id.desc()).offset(offset)
    rows = list(session.scalars(query.limit(limit) if limit is not None else query))
    total = session.scalar(select(func.count(ContactHold.id)).where(*conditions))
    return rows, total


def set_hold(
    *, session: Session, debtor_id: int, kind: HoldKind | str, reason: str, actor: str,
    channels: list[str] | None = None, account_no: str | None = None, account_id: int | None = None,
    evidence_ref: str | None = None, complaint_id: int | None = None, at: datetime | None = None,
) -> ContactHold:
    """Put a hold on the debtor (or one of its accounts); it blocks contact until lifted."""
    debtor_of(session=session, debtor_id=debtor_id)
    if account_no is not None:
        account = session.scalars(select(Account).where(Account.account_no == account_no)).first()
        if account is None or account.debtor_id != debtor_id:
            raise NotFound(_("no account {ref} of debtor {debtor}").format(ref=account_no, debtor=debtor_id))
        account_id = account.id
    hold = ContactHold(
        debtor_id=debtor_id, account_id=account_id, kind=str(HoldKind(kind)),
        channels=sorted({str(c) for c in channels or []}), reason=reason, complaint_id=complaint_id,
        evidence_ref=evidence_ref, set_by=actor, set_at=at or utcnow(),
    )
    session.add(hold)
    session.flush()
    audit.record(session=session, actor=actor, action="compliance.hold.set", entity="contact_hold",
                 entity_id=hold.id, details={"debtor_id": debtor_id, "kind": hold.kind, "channels": hold.channels,
                                             "account_id": account_id})
    return hold


def get_hold(*, session: Session, hold_id: int) -> ContactHold:
    hold = session.get(ContactHold, hold_id)
    if hold is None:
        raise NotFound(_("no hold {ref}").format(ref=hold_id))
    return hold


def lift_hold(*, session: Session, hold_id: int, reason: str, actor: str, at: datetime | None = None) -> ContactHold:
    """Lift a live hold; lifting one already lifted is refused."""
    hold = get_hold(session=session, hold_id=hold_id)
    if hold.lifted_at is not None:
        raise RuleViolation(_("hold {id} was already lifted").format(id=hold_id), code="hold_lifted")
    hold.lifted_at, hold.lifted_by, hold.lift_reason = at or utcnow(), actor, reason
    session.flush()
    audit.record(session=session, actor=actor, action="compliance.hold.lift", entity="contact_hold",
                 entity_id=hold.id, details={"debtor_id": hold.debtor_id, "kind": hold.kind})
    return hold


def list_preferences(
    *, session: Session, debtor_id: int, include_revoked: bool = False, offset: int = 0, limit: int | None = None,
) -> tuple[list[ContactPreference], int]:
    debtor_of(session=session, debtor_id=debtor_id)
    conditions = [ContactPreference.debtor_id == debtor_id]
    if not include_revoked:
        conditions.append(ContactPreference.revoked_at.is_(None))
    query = select(ContactPreference).where(*conditions).order_by(ContactPreference.id.desc()).offset(offset)
    rows = list(session.scalars(query.limit(limit) if limit is not None else query))
    total = session.scalar(select(func.count(ContactPreference.id)).where(*conditions))
    return rows, total


def _phone_bidx(session: Session, debtor_id: int, *, phone: str | None, phone_id: int | None) -> str | None:
    if phone_id is not None:
        found = session.scalars(select(DebtorPhone.phone_bidx).where(
            DebtorPhone.id == phone_id, DebtorPhone.debtor_id == debtor_id)).first()
        if found is None:
            raise RuleViolation(_("phone_id {id} is not one of the debtor's phones").format(id=phone_id))
        return found
    if phone is not None:
        try:
            return personal_data.phone_index(normalise_mobile(phone))
        except ValueError:
            raise RuleViolation(_("not a mainland mobile number (11 digits starting 13-19)")) from None
    return None


def add_preference(
    *, session: Session, debtor_id: int, kind: PreferenceKind | str, actor: str, data: dict | None = None,
    contact_id: int | None = None, phone: str | None = None, phone_id: int | None = None,
    evidence_ref: str | None = None, valid_until: date | None = None,
) -> ContactPreference:
    """Record what the debtor (or a contact person) asked for."""
    debtor_of(session=session, debtor_id=debtor_id)
    kind = PreferenceKind(kind)
    if contact_id is not None:
        owner = session.scalar(select(DebtorContact.debtor_id).where(DebtorContact.id == contact_id))
        if owner != debtor_id:
            raise RuleViolation(_("contact {id} is not one of the debtor's contacts").format(id=contact_id))
    bidx = _phone_bidx(session, debtor_id, phone=phone, phone_id=phone_id)
    if kind == PreferenceKind.do_not_contact and contact_id is None and bidx is None:
        raise RuleViolation(_("do_not_contact needs the contact_id or the number who refused"))
    if kind == PreferenceKind.agreed_window and not evidence_ref:
        raise RuleViolation(_("an agreed contact window needs its evidence (evidence_ref)"))
    preference = ContactPreference(
        debtor_id=debtor_id, contact_id=contact_id, phone_bidx=bidx, kind=str(kind), data=dict(data or {}),
        evidence_ref=evidence_ref, valid_until=valid_until, recorded_by=actor, recorded_at=utcnow(),
    )
    session.add(preference)
    session.flush()
    audit.record(session=session, actor=actor, action="compliance.preference.add", entity="contact_preference",
                 entity_id=preference.id, details={"debtor_id": debtor_id, "kind": preference.kind})
    return preference


def revoke_preference(*, session: Session, preference_id: int, actor: str) -> ContactPreference:
    preference = session.get(ContactPreference, preference_id)
    if preference is None:
        raise NotFound(_("no preference {ref}").format(ref=preference_id))
    if preference.revoked_at is not None:
        raise RuleViolation(_("preference {id} was already revoked").format(id=preference_id),
                            code="preference_revoked")
    preference.revoked_at, preference.revoked_by = utcnow(), actor
    session.flush()
    audit.record(session=session, actor=actor, action="compliance.preference.revoke",
                 entity="contact_preference", entity_id=preference.id, details={"debtor_id": preference.debtor_id})
    return preference


def report_on_case(
    *, session: Session, principal, case_no: str, kind: str, reason: str, contact_id: int | None = None,
    phone: str | None = None, phone_id: int | None = None, evidence_ref: str | None = None,
) -> ContactHold | ContactPreference:
    """An agency reports what it was told on a case it sees: a dispute or cease request (a hold), or a refusal."""
    case = scope.visible_case(session=session, principal=principal, case_no=case_no)
    debtor_id = session.scalar(select(Account.debtor_id).where(Account.id == case.account_id))
    if kind == PreferenceKind.do_not_contact:
        return add_preference(session=session, debtor_id=debtor_id, kind=PreferenceKind.do_not_contact,
                              actor=principal.actor, contact_id=contact_id, phone=phone, phone_id=phone_id,
                              evidence_ref=evidence_ref, data={"reason": reason, "case_no": case.case_no})
    if kind not in AGENCY_HOLD_KINDS:
        raise RuleViolation(_("an agency may report dispute, cease_contact or do_not_contact"))
    # A dispute is about this debt; a request to stop contact covers the debtor.
    return set_hold(session=session, debtor_id=debtor_id, kind=kind, reason=reason, actor=principal.actor,
                    account_id=case.account_id if kind == HoldKind.dispute else None, evidence_ref=evidence_ref)


def list_violations(
    *, session: Session, principal, agency_id: int | None = None, collector_user_id: int | None = None,
    rule_id: str | None = None, severity: str | None = None, since: datetime | None = None,
    until: datetime | None = None, disposition: str | None = None, offset: int = 0, limit: int = 50,
) -> tuple[list[ComplianceViolation], int]:
    """Violations, newest first: lender staff every agency's (or one's), an agency its own only."""
    agency = scope.own_agency(principal, agency_id)
    conditions = []
    if agency is not None:
        conditions.append(ComplianceViolation.agency_id == agency)
    if collector_user_id is not None:
        conditions.append(ComplianceViolation.collector_user_id == collector_user_id)
    if rule_id is not None:
        conditions.append(ComplianceViolation.rule_id == rule_id)
    if severity is not None:
        conditions.append(ComplianceViolation.severity == str(severity))
    if disposition is not None:
        conditions.append(ComplianceViolation.disposition == disposition)
    if since is not None:
        conditions.append(ComplianceViolation.occurred_at >= since)
    if until is not None:
        conditions.append(ComplianceViolation.occurred_at < until)
    query = (select(ComplianceViolation).where(*conditions)
             .order_by(ComplianceViolation.occurred_at.desc(), ComplianceViolation.id.desc()))
    rows = list(session.scalars(query.offset(offset).limit(limit)))
    total = session.scalar(select(func.count(ComplianceViolation.id)).where(*conditions))
    return rows, total
