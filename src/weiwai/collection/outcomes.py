"""What each outcome code means for the KPIs, and where it may be logged.

One definition each (shared/domain/kpis.md, docs/collection.md):
- an *attempt* is an action that tried to reach a person (a call, an IVR call, a visit,
  or a message the debtor answered); sending a text, letter or e-mail alone is not one;
- a *connected* attempt reached a person, whoever it was;
- a *right-party contact* (RPC) reached the debtor themself. Outcomes in that set may
  only be logged with party "debtor", so the outcome alone decides.
Contact rate = connected ÷ attempts; RPC rate = right-party contacts ÷ attempts.
"""

from __future__ import annotations

from weiwai.agencies.models import Channel
from weiwai.collection.models import Outcome, Party

# The debtor was reached (and, for these, nobody else could have given the outcome).
RIGHT_PARTY_OUTCOMES: frozenset[Outcome] = frozenset({
    Outcome.right_party_contact,
    Outcome.promise_to_pay,
    Outcome.refused_to_pay,
    Outcome.dispute_raised,
    Outcome.hardship_claimed,
    Outcome.claims_paid,
    Outcome.callback_requested,
    Outcome.visit_done,
})

# A person answered or was met, but not the debtor.
OTHER_PARTY_OUTCOMES: frozenset[Outcome] = frozenset({Outcome.wrong_party, Outcome.third_party_contact})

CONNECTED_OUTCOMES: frozenset[Outcome] = RIGHT_PARTY_OUTCOMES | OTHER_PARTY_OUTCOMES

# Tried, nobody reached.
NOT_CONNECTED_OUTCOMES: frozenset[Outcome] = frozenset({
    Outcome.no_answer,
    Outcome.busy,
    Outcome.invalid_number,
    Outcome.powered_off,
    Outcome.left_message,
    Outcome.visit_not_found,
})

ATTEMPT_OUTCOMES: frozenset[Outcome] = CONNECTED_OUTCOMES | NOT_CONNECTED_OUTCOMES

# One-way messages: recorded, but not attempts to reach a person.
DISPATCH_OUTCOMES: frozenset[Outcome] = frozenset({Outcome.sms_sent, Outcome.letter_sent, Outcome.email_sent})

# What the debtor said, whichever channel carried it (a reply to a text counts too).
_DEBTOR_REPLIES = frozenset({
    Outcome.right_party_contact,
    Outcome.promise_to_pay,
    Outcome.refused_to_pay,
    Outcome.dispute_raised,
    Outcome.hardship_claimed,
    Outcome.claims_paid,
    Outcome.callback_requested,
})
_CALL_OUTCOMES = _DEBTOR_REPLIES | OTHER_PARTY_OUTCOMES | {
    Outcome.no_answer, Outcome.busy, Outcome.invalid_number, Outcome.powered_off, Outcome.left_message,
}
CHANNEL_OUTCOMES: dict[Channel, frozenset[Outcome]] = {
    Channel.phone: frozenset(_CALL_OUTCOMES),
    Channel.ivr: frozenset(_CALL_OUTCOMES),
    Channel.sms: frozenset(_DEBTOR_REPLIES | {Outcome.sms_sent}),
    Channel.email: frozenset(_DEBTOR_REPLIES | {Outcome.email_sent}),
    Channel.letter: frozenset(_DEBTOR_REPLIES | {Outcome.letter_sent}),
    Channel.visit: frozenset(_DEBTOR_REPLIES | {Outcome.visit_done, Outcome.visit_not_found,
                                                Outcome.third_party_contact}),
}

# Channels that go to a telephone number: the number used must be recorded.
NUMBER_CHANNELS: frozenset[Channel] = frozenset({Channel.phone, Channel.sms, Channel.ivr})

# Who may have given each outcome; outcomes not listed may come from anyone.
OUTCOME_PARTIES: dict[Outcome, frozenset[Party]] = {
    **{outcome: frozenset({Party.debtor}) for outcome in RIGHT_PARTY_OUTCOMES},
    Outcome.wrong_party: frozenset({Party.third_party}),
    Outcome.third_party_contact: frozenset({Party.contact, Party.third_party}),
}


def is_attempt(outcome: Outcome | str) -> bool:
    return Outcome(outcome) in ATTEMPT_OUTCOMES


def is_connected(outcome: Outcome | str) -> bool:
    return Outcome(outcome) in CONNECTED_OUTCOMES


def is_right_party_contact(outcome: Outcome | str) -> bool:
    return Outcome(outcome) in RIGHT_PARTY_OUTCOMES
