"""Every allowed and every refused transition of the batch and case tables."""

import itertools

import pytest

from weiwai.errors import IllegalTransition
from weiwai.placements.lifecycle import (
    BATCH_TRANSITIONS,
    CASE_TRANSITIONS,
    check_batch_transition,
    check_case_transition,
    is_open,
)
from weiwai.placements.models import BatchStatus, CaseStatus

CASE_PAIRS = list(itertools.product(CaseStatus, CaseStatus))
BATCH_PAIRS = list(itertools.product(BatchStatus, BatchStatus))


@pytest.mark.parametrize("current,target", CASE_PAIRS, ids=[f"{a}->{b}" for a, b in CASE_PAIRS])
def test_case_transition_matrix(current, target):
    if target in CASE_TRANSITIONS[current]:
        check_case_transition(current, target)
    else:
        with pytest.raises(IllegalTransition, match=f"from {current} to {target}"):
            check_case_transition(current, target)


@pytest.mark.parametrize("current,target", BATCH_PAIRS, ids=[f"{a}->{b}" for a, b in BATCH_PAIRS])
def test_batch_transition_matrix(current, target):
    if target in BATCH_TRANSITIONS[current]:
        check_batch_transition(current, target)
    else:
        with pytest.raises(IllegalTransition):
            check_batch_transition(current, target)


def test_the_documented_paths_exist():
    assert CaseStatus.working in CASE_TRANSITIONS[CaseStatus.placed]
    assert CaseStatus.promised in CASE_TRANSITIONS[CaseStatus.working]
    assert CaseStatus.paid in CASE_TRANSITIONS[CaseStatus.promised]
    assert CASE_TRANSITIONS[CaseStatus.closed] == frozenset()
    for ended in (CaseStatus.paid, CaseStatus.settled, CaseStatus.returned, CaseStatus.recalled, CaseStatus.expired):
        assert CASE_TRANSITIONS[ended] == frozenset({CaseStatus.closed})
        assert not is_open(ended)
    assert [s for s in CaseStatus if is_open(s)] == [CaseStatus.placed, CaseStatus.working, CaseStatus.promised]
    assert BATCH_TRANSITIONS[BatchStatus.closed] == frozenset()


def test_every_state_is_in_the_tables():
    assert set(CASE_TRANSITIONS) == set(CaseStatus)
    assert set(BATCH_TRANSITIONS) == set(BatchStatus)
