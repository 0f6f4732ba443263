"""Status lifecycles of agencies and contracts: transition tables and their guards.

The tables say which changes exist at all; anything not listed raises IllegalTransition.
Guards say whether an allowed change may happen now, from facts the service gathers
(checklist on file, usable contracts, signatures, term); a failed guard raises
RuleViolation naming every unmet condition, so one attempt tells the user all they must fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from weiwai.agencies.models import AdmissionItem, AgencyStatus, ContractStatus
from weiwai.errors import IllegalTransition, RuleViolation
from weiwai.i18n import _

AGENCY_TRANSITIONS: dict[AgencyStatus, frozenset[AgencyStatus]] = {
    AgencyStatus.applying: frozenset({AgencyStatus.approved, AgencyStatus.terminated}),
    AgencyStatus.approved: frozenset({AgencyStatus.active, AgencyStatus.terminated}),
    AgencyStatus.active: frozenset({AgencyStatus.suspended, AgencyStatus.terminated}),
    AgencyStatus.suspended: frozenset({AgencyStatus.active, AgencyStatus.terminated}),
    AgencyStatus.terminated: frozenset(),
}

CONTRACT_TRANSITIONS: dict[ContractStatus, frozenset[ContractStatus]] = {
    ContractStatus.draft: frozenset({ContractStatus.active, ContractStatus.terminated}),
    ContractStatus.active: frozenset({ContractStatus.suspended, ContractStatus.terminated}),
    ContractStatus.suspended: frozenset({ContractStatus.active, ContractStatus.terminated}),
    ContractStatus.terminated: frozenset(),
}

# Contracts that end when their agency is terminated.
OPEN_CONTRACT_STATUSES = frozenset({ContractStatus.draft, ContractStatus.active, ContractStatus.suspended})


def check_allowed(table: dict, current: StrEnum | str, target: StrEnum | str) -> None:
    """Raise IllegalTransition unless the table lists current -> target."""
    states = type(next(iter(table)))  # the table's StrEnum, so plain strings from the database work too
    current, target = states(current), states(target)
    allowed = table[current]
    if target in allowed:
        return
    if not allowed:
        raise IllegalTransition(
            _("cannot change status from {current} to {target}: {current} is final").format(
                current=current.value, target=target.value
            )
        )
    raise IllegalTransition(
        _("cannot change status from {current} to {target}; from {current} it can become: {allowed}").format(
            current=current.value, target=target.value, allowed=", ".join(sorted(s.value for s in allowed))
        )
    )


@dataclass(frozen=True)
class AgencyFacts:
    """What the agency guards look at."""

    admission_on_file: frozenset[AdmissionItem]
    has_usable_contract: bool
    # An approved, unexpired PIPL art. 55 impact assessment whose conclusion is not unacceptable.
    impact_assessment_on_file: bool = False


def check_agency_transition(current: AgencyStatus, target: AgencyStatus, facts: AgencyFacts) -> None:
    """Raise unless the agency may go from `current` to `target` given `facts`."""
    check_allowed(AGENCY_TRANSITIONS, current, target)
    problems: list[str] = []
    if target in (AgencyStatus.approved, AgencyStatus.active):
        missing = [item.value for item in AdmissionItem if item not in facts.admission_on_file]
        if missing:
            problems.append(_("admission checklist incomplete, missing: {items}").format(items=", ".join(missing)))
    if target == AgencyStatus.active and not facts.has_usable_contract:
        problems.append(_("no usable contract today (active, in term and signed)"))
    if target == AgencyStatus.active and not facts.impact_assessment_on_file:
        problems.append(_("no approved, unexpired personal information impact assessment on file (PIPL art. 55)"))
    if problems:
        raise RuleViolation(
            _("agency cannot become {target}: {problems}").format(target=target.value, problems="; ".join(problems))
        )


@dataclass(frozen=True)
class ContractFacts:
    """What the contract guards look at."""

    signed_on: date | None
    confidentiality_signed_on: date | None
    ends_on: date
    agency_status: AgencyStatus
    on: date


def check_contract_transition(current: ContractStatus, target: ContractStatus, facts: ContractFacts) -> None:
    """Raise unless the contract may go from `current` to `target` given `facts`."""
    check_allowed(CONTRACT_TRANSITIONS, current, target)
    if target != ContractStatus.active:
        return
    # Reactivating a suspended contract is held to the same conditions as activating a draft.
    problems: list[str] = []
    if facts.signed_on is None:
        problems.append(_("the contract is not signed (signed_on)"))
    if facts.confidentiality_signed_on is None:
        problems.append(_("the confidentiality agreement is not signed (confidentiality_signed_on)"))
    if facts.ends_on < facts.on:
        problems.append(_("the term ended on {ends_on}").format(ends_on=facts.ends_on.isoformat()))
    if facts.agency_status == AgencyStatus.terminated:
        problems.append(_("the agency is terminated"))
    if problems:
        raise RuleViolation(_("contract cannot become active: {problems}").format(problems="; ".join(problems)))
