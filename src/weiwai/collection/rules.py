"""The rules an action must meet before it is logged, as a pure check.

`check_action` looks at the case as loaded (CaseContext) and the action as given, and
returns every problem found, each naming the input field at fault, so one attempt tells
the agency everything to fix, and a file import can point at row and column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from weiwai.agencies.models import Channel
from weiwai.collection.days import local_day
from weiwai.collection.models import Outcome, Party
from weiwai.collection.outcomes import CHANNEL_OUTCOMES, NUMBER_CHANNELS, OUTCOME_PARTIES
from weiwai.collection.schemas import ActionCreate
from weiwai.i18n import _
from weiwai.placements.lifecycle import is_open
from weiwai.placements.models import Case
from weiwai.portfolio.identity import normalise_mobile
from weiwai.security.masking import mask_phone

# How far past a promise's day its due date may lie, unless the caller says otherwise.
PROMISE_MAX_DAYS = 30
# Clocks of agencies' systems drift; an action a few minutes "in the future" is not an error.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class ContactRef:
    relation: str
    phone_bidx: str


@dataclass
class CaseContext:
    """What the rules need to know about a case, loaded once (also for a whole file)."""

    case: Case
    permitted_channels: frozenset[str]
    time_zone: str
    debtor_phones: dict[int, str]  # DebtorPhone.id -> blind index
    contacts: dict[int, ContactRef]  # DebtorContact.id -> relation and blind index
    # blind index -> (envelope, purpose) of the numbers, when loaded to show one masked
    envelopes: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # number reference -> blind index of the case's numbers, when an action names one by it
    # (weiwai.portfolio.number_refs; loaded by collection.service.attach_number_refs)
    number_refs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    column: str
    value: str
    reason: str


@dataclass
class Checked:
    problems: list[Problem] = field(default_factory=list)
    phone_bidx: str | None = None
    relation: str | None = None
    action_day: date | None = None

    def add(self, column: str, value: object, reason: str) -> None:
        self.problems.append(Problem(column=column, value="" if value is None else str(value), reason=reason))


def check_action(
    *,
    context: CaseContext,
    data: ActionCreate,
    at: datetime,
    phone_index: Callable[[str], str],
    promise_max_days: int = PROMISE_MAX_DAYS,
) -> Checked:
    """Every problem with logging `data` on the case; with none, the resolved number and relation.

    `phone_index` computes the blind index of a number given in full (injected, so the
    check stays pure and the key stays where it belongs).
    """
    checked = Checked(action_day=local_day(data.occurred_at, context.time_zone))
    case = context.case
    if not is_open(case.status):
        checked.add("case_no", case.case_no, _("case {case} is {status}: actions are logged only on open cases").format(
            case=case.case_no, status=case.status))
    _check_time(checked, case, data, at)
    _check_channel(checked, context, data)
    _check_party(checked, context, data)
    _check_number(checked, context, data, phone_index)
    _check_refs(checked, data)
    _check_promise(checked, data, promise_max_days)
    return checked


def _check_time(checked: Checked, case: Case, data: ActionCreate, at: datetime) -> None:
    if data.occurred_at > at + CLOCK_SKEW:
        checked.add("occurred_at", data.occurred_at.isoformat(), _("lies in the future"))
    elif data.occurred_at < case.placed_at:
        checked.add("occurred_at", data.occurred_at.isoformat(),
                    _("is before the case was placed with the agency ({placed_at})").format(
                        placed_at=case.placed_at.isoformat()))


def _check_channel(checked: Checked, context: CaseContext, data: ActionCreate) -> None:
    if data.channel not in context.permitted_channels:
        permitted = ", ".join(sorted(context.permitted_channels)) or "-"
        reason = _("the contract does not permit channel {channel} (permitted: {permitted})")
        checked.add("channel", data.channel, reason.format(channel=data.channel, permitted=permitted))
    if data.outcome not in CHANNEL_OUTCOMES[Channel(data.channel)]:
        checked.add("outcome", data.outcome, _("outcome {outcome} cannot come from channel {channel}").format(
            outcome=data.outcome, channel=data.channel))


def _check_party(checked: Checked, context: CaseContext, data: ActionCreate) -> None:
    allowed = OUTCOME_PARTIES.get(Outcome(data.outcome))
    if allowed is not None and data.party not in allowed:
        checked.add("party", data.party, _("outcome {outcome} is only possible with party {parties}").format(
            outcome=data.outcome, parties=" / ".join(sorted(allowed))))
    if data.party == Party.contact:
        if data.contact_id is None:
            checked.add("contact_id", "", _("party contact needs contact_id: which of the debtor's contacts"))
        elif data.contact_id not in context.contacts:
            checked.add("contact_id", data.contact_id, _("not one of the debtor's contacts"))
        else:
            checked.relation = context.contacts[data.contact_id].relation
    elif data.contact_id is not None:
        checked.add("contact_id", data.contact_id, _("contact_id is only given with party contact"))
    if data.relation is not None:
        if data.party == Party.third_party:
            checked.relation = str(data.relation)
        else:
            checked.add("relation", data.relation, _("relation is only given with party third_party"))


def _check_number(
    checked: Checked, context: CaseContext, data: ActionCreate, phone_index: Callable[[str], str]
) -> None:
    given = [(name, value) for name, value in
             (("phone_id", data.phone_id), ("phone_bidx", data.phone_bidx), ("phone", data.phone),
              ("number_ref", data.number_ref)) if value is not None]
    if data.channel not in NUMBER_CHANNELS:
        for name, value in given:
            checked.add(name, value, _("a number is only recorded for phone, sms and ivr"))
        return
    if len(given) > 1:
        checked.add(given[1][0], _masked(*given[1]),
                    _("give the number once: phone_id, phone_bidx, phone or number_ref"))
        return
    contact = context.contacts.get(data.contact_id) if data.party == Party.contact else None
    if not given:
        if contact is not None:
            checked.phone_bidx = contact.phone_bidx
        elif data.party != Party.contact:
            checked.add("phone_id", "", _("say which number was used: phone_id, phone_bidx, phone or number_ref"))
        return
    name, value = given[0]
    bidx = _resolve(checked, context, name, value, phone_index)
    if bidx is None:
        return
    if data.party == Party.debtor:
        allowed = set(context.debtor_phones.values())
    elif data.party == Party.contact:
        allowed = {contact.phone_bidx} if contact is not None else set()
    else:
        allowed = set(context.debtor_phones.values()) | {c.phone_bidx for c in context.contacts.values()}
    if bidx not in allowed:
        if data.party == Party.debtor:
            reason = _("not one of the debtor's numbers")
        elif data.party == Party.contact:
            reason = _("not the number of that contact")
        else:
            reason = _("not a number of the debtor or of the debtor's contacts")
        checked.add(name, _masked(name, value), reason)
        return
    checked.phone_bidx = bidx


def _resolve(
    checked: Checked, context: CaseContext, name: str, value: object, phone_index: Callable[[str], str]
) -> str | None:
    if name == "phone_id":
        if value not in context.debtor_phones:
            checked.add(name, value, _("not one of the debtor's phones"))
            return None
        return context.debtor_phones[value]
    if name == "number_ref":
        if value not in context.number_refs:
            checked.add(name, value, _("{ref} is not a number reference of this case").format(ref=value))
            return None
        return context.number_refs[value]
    if name == "phone":
        try:
            return phone_index(normalise_mobile(value))
        except ValueError:
            checked.add(name, _masked(name, value), _("not a mainland mobile number (11 digits starting 13-19)"))
            return None
    return value


def _masked(name: str, value) -> str:
    """A number given in full is never repeated whole in an error message."""
    return mask_phone(str(value)) if name == "phone" else str(value)


def _check_refs(checked: Checked, data: ActionCreate) -> None:
    if data.channel == Channel.visit:
        # CN-05 and CN-08: credentials shown, and the whole visit recorded.
        if not data.credential_ref:
            checked.add("credential_ref", "", _("a visit needs the reference of the credentials shown"))
        if not data.recording_ref:
            checked.add("recording_ref", "", _("a visit needs the reference of its recording"))


def _check_promise(checked: Checked, data: ActionCreate, max_days: int) -> None:
    if data.outcome != Outcome.promise_to_pay:
        for name, value in (("promise_amount", data.promise_amount), ("promise_due_on", data.promise_due_on)):
            if value is not None:
                checked.add(name, value, _("only given with outcome promise_to_pay"))
        return
    if data.promise_amount is None:
        checked.add("promise_amount", "", _("a promise to pay needs the amount promised"))
    elif data.promise_amount <= 0:
        checked.add("promise_amount", data.promise_amount, _("the amount promised must be more than zero"))
    day = checked.action_day
    if data.promise_due_on is None:
        checked.add("promise_due_on", "", _("a promise to pay needs the date it is due"))
    elif data.promise_due_on < day:
        checked.add("promise_due_on", data.promise_due_on.isoformat(),
                    _("is before the day of the promise ({day})").format(day=day.isoformat()))
    elif data.promise_due_on > day + timedelta(days=max_days):
        checked.add("promise_due_on", data.promise_due_on.isoformat(),
                    _("is more than {days} days after the day of the promise ({day})").format(
                        days=max_days, day=day.isoformat()))
