"""Agency and contract lifecycles: the full transition matrices and every guard."""

from datetime import date, timedelta
from itertools import product

import pytest

from weiwai.agencies.lifecycle import (
    AgencyFacts,
    ContractFacts,
    check_agency_transition,
    check_contract_transition,
)
from weiwai.agencies.models import AdmissionItem, AgencyStatus, ContractStatus
from weiwai.errors import IllegalTransition, RuleViolation
from weiwai.i18n import using_locale

A, C = AgencyStatus, ContractStatus
TODAY = date(2025, 6, 15)

# Written out here, independently of the tables in lifecycle.py.
AGENCY_ALLOWED = {
    (A.applying, A.approved), (A.applying, A.terminated),
    (A.approved, A.active), (A.approved, A.terminated),
    (A.active, A.suspended), (A.active, A.terminated),
    (A.suspended, A.active), (A.suspended, A.terminated),
}
CONTRACT_ALLOWED = {
    (C.draft, C.active), (C.draft, C.terminated),
    (C.active, C.suspended), (C.active, C.terminated),
    (C.suspended, C.active), (C.suspended, C.terminated),
}

ALL_ADMISSION = frozenset(AdmissionItem)
READY_AGENCY = AgencyFacts(admission_on_file=ALL_ADMISSION, has_usable_contract=True,
                            impact_assessment_on_file=True)
READY_CONTRACT = ContractFacts(
    signed_on=date(2025, 1, 1), confidentiality_signed_on=date(2025, 1, 1), ends_on=date(2025, 12, 31),
    agency_status=A.approved, on=TODAY,
)


@pytest.fixture(autouse=True)
def english():
    with using_locale("en"):
        yield


@pytest.mark.parametrize("current,target", sorted(AGENCY_ALLOWED))
def test_agency_allowed_transitions_pass_when_guards_are_met(current, target):
    check_agency_transition(current, target, READY_AGENCY)


@pytest.mark.parametrize("current,target", sorted(set(product(A, A)) - AGENCY_ALLOWED))
def test_agency_refused_transitions_name_both_states(current, target):
    with pytest.raises(IllegalTransition) as refused:
        check_agency_transition(current, target, READY_AGENCY)
    assert current.value in refused.value.message and target.value in refused.value.message


@pytest.mark.parametrize("current,target", sorted(CONTRACT_ALLOWED))
def test_contract_allowed_transitions_pass_when_guards_are_met(current, target):
    check_contract_transition(current, target, READY_CONTRACT)


@pytest.mark.parametrize("current,target", sorted(set(product(C, C)) - CONTRACT_ALLOWED))
def test_contract_refused_transitions_name_both_states(current, target):
    with pytest.raises(IllegalTransition) as refused:
        check_contract_transition(current, target, READY_CONTRACT)
    assert current.value in refused.value.message and target.value in refused.value.message


def test_terminated_is_final_for_both():
    with pytest.raises(IllegalTransition, match="terminated is final"):
        check_agency_transition(A.terminated, A.active, READY_AGENCY)
    with pytest.raises(IllegalTransition, match="terminated is final"):
        check_contract_transition(C.terminated, C.active, READY_CONTRACT)


def test_the_refusal_lists_where_the_state_can_go():
    with pytest.raises(IllegalTransition, match="can become: approved, terminated"):
        check_agency_transition(A.applying, A.active, READY_AGENCY)


# --- agency guards ----------------------------------------------------------------------


@pytest.mark.parametrize("missing", list(AdmissionItem))
def test_approval_needs_every_admission_item(missing):
    facts = AgencyFacts(admission_on_file=ALL_ADMISSION - {missing}, has_usable_contract=True)
    with pytest.raises(RuleViolation, match=f"missing: {missing.value}"):
        check_agency_transition(A.applying, A.approved, facts)


def test_approval_does_not_need_a_contract():
    check_agency_transition(A.applying, A.approved, AgencyFacts(ALL_ADMISSION, has_usable_contract=False))


@pytest.mark.parametrize("current", [A.approved, A.suspended])
def test_activation_needs_a_usable_contract(current):
    with pytest.raises(RuleViolation, match="no usable contract"):
        check_agency_transition(current, A.active, AgencyFacts(ALL_ADMISSION, has_usable_contract=False))


def test_all_unmet_conditions_are_reported_at_once():
    facts = AgencyFacts(admission_on_file=frozenset({AdmissionItem.due_diligence}), has_usable_contract=False)
    with pytest.raises(RuleViolation) as refused:
        check_agency_transition(A.suspended, A.active, facts)
    assert "collectors_trained" in refused.value.message and "no usable contract" in refused.value.message


@pytest.mark.parametrize("current", [A.applying, A.approved, A.active, A.suspended])
def test_termination_has_no_guard(current):
    check_agency_transition(current, A.terminated, AgencyFacts(frozenset(), has_usable_contract=False))


def test_suspension_has_no_guard():
    check_agency_transition(A.active, A.suspended, AgencyFacts(frozenset(), has_usable_contract=False))


# --- contract guards --------------------------------------------------------------------


def _contract(**changes) -> ContractFacts:
    return ContractFacts(**{**READY_CONTRACT.__dict__, **changes})


@pytest.mark.parametrize("current", [C.draft, C.suspended])
@pytest.mark.parametrize(
    "changes,reason",
    [
        ({"signed_on": None}, r"not signed \(signed_on\)"),
        ({"confidentiality_signed_on": None}, "confidentiality agreement is not signed"),
        ({"ends_on": TODAY - timedelta(days=1)}, "the term ended on 2025-06-14"),
        ({"agency_status": A.terminated}, "agency is terminated"),
    ],
)
def test_activation_guards(current, changes, reason):
    with pytest.raises(RuleViolation, match=reason):
        check_contract_transition(current, C.active, _contract(**changes))


def test_activation_on_the_last_day_of_the_term_is_allowed():
    check_contract_transition(C.draft, C.active, _contract(ends_on=TODAY))


def test_activation_before_the_term_starts_is_allowed():
    # Signed in advance: the contract becomes usable on its first day.
    check_contract_transition(C.draft, C.active, _contract(on=date(2024, 12, 1)))


@pytest.mark.parametrize("agency_status", [A.applying, A.approved, A.active, A.suspended])
def test_activation_with_any_agency_that_is_not_terminated(agency_status):
    check_contract_transition(C.draft, C.active, _contract(agency_status=agency_status))


@pytest.mark.parametrize("current,target", [(C.active, C.suspended), (C.draft, C.terminated), (C.active, C.terminated)])
def test_leaving_active_needs_no_signature(current, target):
    check_contract_transition(current, target, _contract(signed_on=None, ends_on=date(2000, 1, 1)))


def test_states_read_from_the_database_as_plain_strings_are_understood():
    check_agency_transition("applying", "approved", READY_AGENCY)
    with pytest.raises(IllegalTransition, match="from draft to suspended"):
        check_contract_transition("draft", "suspended", READY_CONTRACT)
