"""Enforcement: logging an action runs the same contact check as `POST /api/v1/contact-checks`.

The check runs under the debtor's lock (facts.lock_debtor), with the facts of the action
itself (its time, channel, party, number, references). An action may carry the token of
a reservation a pre-contact check took on the same case, channel and party: the action
consumes it, and the check leaves that reservation out of the counts (it must not count
the same contact twice).

When the check says no, settings.compliance_enforcement decides:

- "refuse": nothing is logged; 422 `contact_not_allowed` naming the rules, the reasons in
  both languages and the earliest allowed time. The request rolls back, so no violation
  row is kept for it (the agency is told at once; see docs/compliance.md).
- "record": the action is logged (it happened: an agency's own dialer reports it after
  the fact) and a ComplianceViolation (disposition "recorded") is written per denial.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from weiwai.compliance import facts as facts_mod
from weiwai.compliance.decision import ContactFacts, Decision
from weiwai.compliance.models import ComplianceViolation, ContactReservation, Severity
from weiwai.config import get_settings
from weiwai.db import utcnow
from weiwai.errors import RuleViolation
from weiwai.i18n import _

# How grave breaking each rule is (a violation's severity). Holds of every kind are severe.
RULE_SEVERITY: dict[str, Severity] = {
    "HOLDS": Severity.severe, "CONTRACT-CHANNELS": Severity.high,
    "CN-01": Severity.high, "CN-02": Severity.medium, "CN-03": Severity.medium, "CN-04": Severity.high,
    "CN-05": Severity.medium, "CN-06": Severity.severe, "CN-07": Severity.high, "CN-08": Severity.medium,
    "CN-13": Severity.medium, "CN-14": Severity.low,
    "US-01": Severity.high, "US-02": Severity.medium, "US-03": Severity.high, "US-04": Severity.severe,
    "US-05": Severity.medium, "US-06": Severity.severe, "US-08": Severity.severe,
    "UK-01": Severity.high, "UK-02": Severity.medium, "UK-03": Severity.high, "UK-04": Severity.high,
    "UK-05": Severity.severe,
}
SEVERE_MARKERS = ("HOLD", "CEASE", "DISPUTE")


def severity_of(rule_id: str) -> Severity:
    """The severity of breaking `rule_id` (holds: severe; unknown rules: medium)."""
    if rule_id in RULE_SEVERITY:
        return RULE_SEVERITY[rule_id]
    upper = rule_id.upper()
    if any(marker in upper for marker in SEVERE_MARKERS):
        return Severity.severe
    return Severity.medium


class ContactNotAllowed(RuleViolation):
    """The contact check says no (422 contact_not_allowed); `decision` says which rules and why."""

    code = "contact_not_allowed"

    def __init__(self, decision: Decision) -> None:
        super().__init__(describe(decision))
        self.decision = decision


def describe(decision: Decision) -> str:
    """One line: the rules that deny, each with its reason in Chinese and English, and the earliest time."""
    reasons = "; ".join(f"{d.rule_id}: {d.reason_zh} / {d.reason_en}" for d in decision.denials)
    text = _("contact not allowed under {pack}: {reasons}").format(pack=decision.pack, reasons=reasons or "-")
    if decision.earliest_allowed_at is not None:
        text += " " + _("(earliest allowed at {at})").format(at=decision.earliest_allowed_at.isoformat())
    return text


def rule_ids(decision: Decision) -> list[str]:
    return list(decision.rule_ids) or [d.rule_id for d in decision.denials]


@dataclass
class Verdict:
    """The check of one action: the decision, its facts, the reservation it consumes, the debtor."""

    decision: Decision
    facts: ContactFacts
    debtor_id: int
    reservation: ContactReservation | None = None


def live_reservation(
    *, session: Session, token: str, case_id: int, channel: str, party: str, phone_bidx: str | None,
    now: datetime | None = None,
) -> ContactReservation | None:
    """The reservation `token` names for this case, channel and party; None once expired.

    A token that is unknown, of another case, channel, party or number, released or already
    used is refused (422 reservation_invalid).
    """
    now = now or utcnow()
    found = session.scalars(select(ContactReservation).where(ContactReservation.token == token)).first()
    invalid = _("reservation {token} is not valid for this contact").format(token=token)
    if found is None or found.case_id != case_id or found.channel != str(channel) or found.party != str(party):
        raise RuleViolation(invalid, code="reservation_invalid")
    if found.phone_bidx is not None and phone_bidx is not None and found.phone_bidx != phone_bidx:
        raise RuleViolation(invalid, code="reservation_invalid")
    if found.released_at is not None or found.consumed_action_id is not None:
        raise RuleViolation(_("reservation {token} was already used or released").format(token=token),
                            code="reservation_invalid")
    if found.expires_at <= now:
        return None  # expired: the action is judged like one without a reservation
    return found


def judge_action(
    *, session: Session, context, data, checked, reservation_token: str | None = None,
    debtor: facts_mod.DebtorRow | None = None,
) -> Verdict:
    """Lock the debtor (unless `debtor` is given: already locked) and check the action `data` would log."""
    case = context.case
    reservation = None
    if reservation_token:
        reservation = live_reservation(session=session, token=reservation_token, case_id=case.id,
                                       channel=data.channel, party=data.party, phone_bidx=checked.phone_bidx)
    if debtor is None:
        debtor = facts_mod.lock_debtor(session=session, account_id=case.account_id, contract_id=case.contract_id)
    found = facts_mod.history(session=session, debtor_id=debtor.debtor_id, at=data.occurred_at,
                              exclude_reservation_id=reservation.id if reservation is not None else None)
    facts = facts_mod.build_facts(
        debtor=debtor, found=found, channel=data.channel, party=data.party, at=data.occurred_at,
        phone_bidx=checked.phone_bidx, contact_id=data.contact_id, relation=checked.relation,
        account_id=case.account_id, agency_id=case.agency_id, contract_channels=context.permitted_channels,
        credential_ref=data.credential_ref, recording_ref=data.recording_ref, line_ref=data.line_ref,
        **facts_mod.template_evidence(session, getattr(data, "template_code", None)),
    )
    decision = facts_mod.evaluate(facts, debtor.compliance_terms)
    return Verdict(decision=decision, facts=facts, debtor_id=debtor.debtor_id, reservation=reservation)


def refusing() -> bool:
    return get_settings().compliance_enforcement == "refuse"


def enforce(
    *, session: Session, context, data, checked, reservation_token: str | None = None,
    debtor: facts_mod.DebtorRow | None = None,
) -> Verdict:
    """Check the action before it is written; under "refuse" a denial raises ContactNotAllowed."""
    verdict = judge_action(session=session, context=context, data=data, checked=checked,
                           reservation_token=reservation_token, debtor=debtor)
    if not verdict.decision.allowed and refusing():
        raise ContactNotAllowed(verdict.decision)
    return verdict


def after_logged(*, session: Session, verdict: Verdict, action, actor: str) -> list[ComplianceViolation]:
    """The action is written: its reservation is used, and (record mode) its denials become violations."""
    if verdict.reservation is not None:
        verdict.reservation.consumed_action_id = action.id
    if verdict.decision.allowed:
        return []
    return record_violations(
        session=session, decision=verdict.decision, case_id=action.case_id, debtor_id=verdict.debtor_id,
        agency_id=action.agency_id, collector_user_id=action.collector_user_id, action_id=action.id,
        disposition="recorded", occurred_at=action.occurred_at, actor=actor, facts=verdict.facts,
    )


def record_violations(
    *, session: Session, decision: Decision, case_id: int, debtor_id: int, agency_id: int | None,
    collector_user_id: int | None, action_id: int | None, disposition: str, occurred_at: datetime, actor: str,
    facts: ContactFacts | None = None,
) -> list[ComplianceViolation]:
    """One ComplianceViolation per denial of `decision`."""
    rows = []
    for denial in decision.denials:
        details = {"reason_zh": denial.reason_zh, "reason_en": denial.reason_en,
                   "earliest": denial.earliest.isoformat() if denial.earliest else None}
        if facts is not None:
            details.update(channel=facts.channel, party=facts.party, contact_id=facts.contact_id)
        row = ComplianceViolation(
            action_id=action_id, case_id=case_id, debtor_id=debtor_id, agency_id=agency_id,
            collector_user_id=collector_user_id, rule_id=denial.rule_id, pack=decision.pack,
            severity=severity_of(denial.rule_id), disposition=disposition, details=details,
            occurred_at=occurred_at, recorded_by=actor,
        )
        session.add(row)
        rows.append(row)
    if rows:
        session.flush()
    return rows
