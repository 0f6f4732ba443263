"""The outcome code list is complete and its KPI sets are consistent (no database needed)."""

from pathlib import Path

import pytest

from weiwai.agencies.models import Channel
from weiwai.collection.models import Outcome, Party
from weiwai.collection.outcomes import (
    ATTEMPT_OUTCOMES,
    CHANNEL_OUTCOMES,
    CONNECTED_OUTCOMES,
    DISPATCH_OUTCOMES,
    NOT_CONNECTED_OUTCOMES,
    OUTCOME_PARTIES,
    RIGHT_PARTY_OUTCOMES,
    is_attempt,
    is_connected,
    is_right_party_contact,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "collection.md"


def test_every_outcome_is_an_attempt_or_a_dispatch_never_both():
    assert ATTEMPT_OUTCOMES | DISPATCH_OUTCOMES == set(Outcome)
    assert not ATTEMPT_OUTCOMES & DISPATCH_OUTCOMES


def test_right_party_is_connected_is_an_attempt():
    assert RIGHT_PARTY_OUTCOMES < CONNECTED_OUTCOMES < ATTEMPT_OUTCOMES
    assert CONNECTED_OUTCOMES | NOT_CONNECTED_OUTCOMES == ATTEMPT_OUTCOMES
    assert not CONNECTED_OUTCOMES & NOT_CONNECTED_OUTCOMES


def test_right_party_outcomes_can_only_be_logged_with_the_debtor():
    for outcome in RIGHT_PARTY_OUTCOMES:
        assert OUTCOME_PARTIES[outcome] == {Party.debtor}


def test_every_channel_has_outcomes_and_every_outcome_a_channel():
    assert set(CHANNEL_OUTCOMES) == set(Channel)
    assert set().union(*CHANNEL_OUTCOMES.values()) == set(Outcome)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_predicates_follow_the_sets(outcome):
    assert is_attempt(outcome) == (outcome in ATTEMPT_OUTCOMES)
    assert is_connected(outcome.value) == (outcome in CONNECTED_OUTCOMES)
    assert is_right_party_contact(outcome) == (outcome in RIGHT_PARTY_OUTCOMES)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_is_documented(outcome):
    assert f"| `{outcome.value}` |" in DOC.read_text(encoding="utf-8")
