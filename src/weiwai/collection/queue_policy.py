"""The work queue's order: the lender's strategy as validated data, applied by a pure function.

A `QueuePolicy` weighs what is known about each open case (`CaseFacts`) into points; the
queue is the cases by score, highest first, ties by case number. Every factor that counts
is reported as a reason, so a collector sees *why* a case is where it is.

The strategy favours work that must not be skipped (a case never attempted, a broken
promise not followed up, a promise falling due, a callback the debtor asked for) over
balance. Balance counts, log-scaled and capped, and a valid policy keeps its cap below the
weight of every urgent factor: a big balance alone never jumps an urgent case. Cases
picked for their balance and others left untouched show in the coverage KPI (cases with
at least one attempt ÷ cases held), which the queue's order would have kept high.

Nothing here reads the database; `weiwai.collection.queue_service` gathers the facts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from weiwai.i18n import _, format_money
from weiwai.rules_data import CanonicalDocument

# Reason codes, in the order reasons of equal weight are listed.
FACTOR_CODES = (
    "never_attempted",
    "promise_broken",
    "promise_due",
    "callback_requested",
    "period_ending",
    "idle",
    "bucket",
    "balance",
    "promise_pending",
    "no_valid_phone",
)
# Factors a big balance must never outweigh (the policy's validation guarantees it).
URGENT_FACTORS = ("never_attempted", "promise_broken", "promise_due", "callback_requested")
CALLBACK_OUTCOME = "callback_requested"

CENT = Decimal("0.01")


def _to_cent(value: Decimal) -> Decimal:
    return value.quantize(CENT)


# Points: at most two decimals, so that scores add up exactly (no float rounding can
# make a capped balance tie with an urgent weight).
Weight = Annotated[Decimal, Field(ge=0, le=1000, decimal_places=2), AfterValidator(_to_cent)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class NeverAttempted(_Strict):
    """No attempt to reach anyone since the case was placed (what coverage counts)."""

    weight: Weight = Decimal("80")


class PromiseBroken(_Strict):
    """A promise was broken (or partly kept) in the last `within_days` days and nobody has
    tried the debtor since its due date."""

    weight: Weight = Decimal("70")
    within_days: int = Field(default=7, ge=1, le=90)


class PromiseDue(_Strict):
    """A pending promise falls due within `within_days` days (or is overdue and not judged
    yet): remind the debtor, unless someone already tried them today."""

    weight: Weight = Decimal("60")
    within_days: int = Field(default=2, ge=0, le=30)


class CallbackRequested(_Strict):
    """The last attempt ended with the debtor asking to be called back, `after_days` days
    or more ago (0: the same day)."""

    weight: Weight = Decimal("50")
    after_days: int = Field(default=1, ge=0, le=30)


class PeriodEnding(_Strict):
    """The placement period ends within `within_days` days: points grow to `weight` on the last day."""

    weight: Weight = Decimal("40")
    within_days: int = Field(default=14, ge=1, le=365)


class Idle(_Strict):
    """Days since the last attempt (since placement when there was none), `per_day` each, up to `cap`."""

    per_day: Weight = Decimal("3")
    cap: Weight = Decimal("30")


class Balance(_Strict):
    """Outstanding balance, log-scaled: `per_tenfold` points for each tenfold of `unit`, up to `cap`.

    points = min(cap, per_tenfold × log10(1 + balance ÷ unit))
    """

    per_tenfold: Weight = Decimal("10")
    unit: Annotated[Decimal, Field(gt=0, le=100_000_000, decimal_places=2), AfterValidator(_to_cent)] = Decimal(1000)
    cap: Weight = Decimal("20")


class PromisePending(_Strict):
    """A pending promise not due for a while yet: give the debtor time (points subtracted)."""

    penalty: Weight = Decimal("30")


class NoValidPhone(_Strict):
    """Every number the debtor has was found invalid (or they have none): points subtracted."""

    penalty: Weight = Decimal("40")


def _default_bucket_weights() -> dict[str, Decimal]:
    # Early delinquency is the most collectable: work it first, other things equal.
    return {label: Decimal(points) for label, points in
            (("M1", 15), ("M2", 12), ("M3", 9), ("M4", 6), ("M5", 4), ("M6", 2), ("M7+", 0))}


class QueuePolicy(_Strict, CanonicalDocument):
    """How the lender wants agencies' work queues ordered. Omitted parts take the defaults."""

    never_attempted: NeverAttempted = Field(default_factory=NeverAttempted)
    promise_broken: PromiseBroken = Field(default_factory=PromiseBroken)
    promise_due: PromiseDue = Field(default_factory=PromiseDue)
    callback_requested: CallbackRequested = Field(default_factory=CallbackRequested)
    period_ending: PeriodEnding = Field(default_factory=PeriodEnding)
    idle: Idle = Field(default_factory=Idle)
    bucket_weights: dict[str, Weight] = Field(default_factory=_default_bucket_weights)
    balance: Balance = Field(default_factory=Balance)
    promise_pending: PromisePending = Field(default_factory=PromisePending)
    no_valid_phone: NoValidPhone = Field(default_factory=NoValidPhone)

    @field_validator("bucket_weights")
    @classmethod
    def _bucket_weights(cls, weights: dict[str, Decimal]) -> dict[str, Decimal]:
        cleaned: dict[str, Decimal] = {}
        for label, weight in weights.items():
            key = label.strip().upper()
            if not key:
                raise ValueError(_("a bucket label must not be blank"))
            if key in cleaned:
                raise ValueError(_("bucket {bucket} is given twice").format(bucket=key))
            cleaned[key] = weight
        return dict(sorted(cleaned.items()))

    @model_validator(mode="after")
    def _balance_never_dominates(self) -> QueuePolicy:
        for code in URGENT_FACTORS:
            weight = getattr(self, code).weight
            if weight > 0 and self.balance.cap >= weight:
                raise ValueError(
                    _("balance.cap ({cap}) must be less than {factor}.weight ({weight}): a big balance must "
                      "never outweigh an urgent case").format(cap=_number(self.balance.cap), factor=code,
                                                               weight=_number(weight))
                )
        return self



DEFAULT_POLICY = QueuePolicy()


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


# --- one case ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the queue knows about one open case today. Days are local days."""

    case_no: str
    balance: Decimal  # outstanding now
    bucket: str  # by days past due now
    placed_on: date
    period_ends_on: date
    last_attempt_on: date | None = None  # the debtor's local day of the latest attempt
    last_attempt_outcome: str | None = None
    pending_promise_due_on: date | None = None  # the earliest pending promise
    pending_promise_amount: Decimal | None = None
    last_broken_due_on: date | None = None  # due day of the latest broken or partly kept promise
    reachable: bool = True  # at least one of the debtor's numbers is not known to be invalid
    case_id: int = 0


@dataclass(frozen=True, slots=True)
class Reason:
    """One factor's contribution; `text()` says it in the current language."""

    code: str
    points: Decimal
    day: date | None = None
    days: int | None = None
    amount: Decimal | None = None
    bucket: str | None = None

    def text(self) -> str:
        return reason_text(self)


@dataclass(frozen=True, slots=True)
class Ranked:
    facts: CaseFacts
    score: Decimal
    reasons: tuple[Reason, ...]

    @property
    def case_no(self) -> str:
        return self.facts.case_no


def score_case(facts: CaseFacts, policy: QueuePolicy, today: date) -> Ranked:
    """The case's score under `policy` on `today`, with every factor that counted."""
    reasons = [reason for reason in _reasons(facts, policy, today) if reason.points != 0]
    order = {code: i for i, code in enumerate(FACTOR_CODES)}
    reasons.sort(key=lambda r: (-abs(r.points), order[r.code]))
    score = sum((reason.points for reason in reasons), Decimal("0.00"))
    return Ranked(facts=facts, score=score, reasons=tuple(reasons))


def prioritise(facts: Iterable[CaseFacts], policy: QueuePolicy, today: date) -> list[Ranked]:
    """The cases in queue order: score high to low, then case number (a total, stable order)."""
    ranked = [score_case(one, policy, today) for one in facts]
    ranked.sort(key=sort_key)
    return ranked


def sort_key(ranked: Ranked) -> tuple[Decimal, str]:
    return (-ranked.score, ranked.facts.case_no)


def _reasons(f: CaseFacts, p: QueuePolicy, today: date) -> Iterable[Reason]:
    attempted_today = f.last_attempt_on is not None and f.last_attempt_on >= today
    if f.last_attempt_on is None:
        yield Reason("never_attempted", p.never_attempted.weight, day=f.placed_on)
    if f.last_broken_due_on is not None:
        since = (today - f.last_broken_due_on).days
        followed_up = f.last_attempt_on is not None and f.last_attempt_on > f.last_broken_due_on
        if 0 < since <= p.promise_broken.within_days and not followed_up:
            yield Reason("promise_broken", p.promise_broken.weight, day=f.last_broken_due_on)
    if f.pending_promise_due_on is not None:
        until = (f.pending_promise_due_on - today).days
        if until <= p.promise_due.within_days:
            if not attempted_today:
                yield Reason("promise_due", p.promise_due.weight, day=f.pending_promise_due_on,
                             amount=f.pending_promise_amount)
        else:
            yield Reason("promise_pending", -p.promise_pending.penalty, day=f.pending_promise_due_on)
    if f.last_attempt_outcome == CALLBACK_OUTCOME and f.last_attempt_on is not None:
        if (today - f.last_attempt_on).days >= p.callback_requested.after_days:
            yield Reason("callback_requested", p.callback_requested.weight, day=f.last_attempt_on)
    days_left = (f.period_ends_on - today).days
    window = p.period_ending.within_days
    if days_left <= window:
        points = p.period_ending.weight * (window - max(days_left, 0) + 1) / (window + 1)
        yield Reason("period_ending", points.quantize(CENT, ROUND_HALF_UP), days=max(days_left, 0))
    idle_days = max(0, (today - (f.last_attempt_on or f.placed_on)).days)
    if idle_days:
        yield Reason("idle", min(p.idle.cap, p.idle.per_day * idle_days), days=idle_days,
                     day=f.last_attempt_on)
    bucket_points = p.bucket_weights.get(f.bucket.upper(), Decimal("0.00"))
    if bucket_points:
        yield Reason("bucket", bucket_points, bucket=f.bucket)
    yield Reason("balance", balance_points(f.balance, p), amount=f.balance)
    if not f.reachable:
        yield Reason("no_valid_phone", -p.no_valid_phone.penalty)


def balance_points(balance: Decimal, policy: QueuePolicy) -> Decimal:
    """min(cap, per_tenfold × log10(1 + balance ÷ unit)), rounded down to the cent; 0 for nothing owed.

    Compared with the cap exactly and rounded down, so the points never exceed the cap that
    the policy keeps below every urgent weight. The logarithm is taken in floating point (a
    queue scores 50,000 cases at a time); every step is monotonic, so more balance never
    scores less.
    """
    if balance <= 0:
        return Decimal("0.00")
    scale = float(policy.balance.per_tenfold) * math.log10(1 + float(balance) / float(policy.balance.unit))
    return min(policy.balance.cap, Decimal(scale)).quantize(CENT, ROUND_DOWN)


# --- words ------------------------------------------------------------------------------


def factor_labels() -> dict[str, str]:
    """Each factor's name in the current language."""
    return {
        "never_attempted": _("never attempted"),
        "promise_broken": _("promise broken"),
        "promise_due": _("promise due"),
        "callback_requested": _("callback requested"),
        "period_ending": _("placement period ending"),
        "idle": _("days without an attempt"),
        "bucket": _("bucket"),
        "balance": _("balance"),
        "promise_pending": _("promise pending"),
        "no_valid_phone": _("no valid phone number"),
    }


def reason_text(reason: Reason) -> str:
    """A reason as a person reads it, in the current language."""
    code = reason.code
    if code == "never_attempted":
        return _("never attempted since placement on {day}").format(day=_day(reason.day))
    if code == "promise_broken":
        return _("promise due {day} was broken; not followed up yet").format(day=_day(reason.day))
    if code == "promise_due":
        if reason.amount is not None:
            return _("promise of {amount} due {day}: remind the debtor").format(
                amount=format_money(reason.amount), day=_day(reason.day))
        return _("promise due {day}: remind the debtor").format(day=_day(reason.day))
    if code == "callback_requested":
        return _("the debtor asked on {day} to be called back").format(day=_day(reason.day))
    if code == "period_ending":
        if reason.days == 0:
            return _("the placement period ends today")
        return _("{days} day(s) left in the placement period").format(days=reason.days)
    if code == "idle":
        if reason.day is None:
            return _("{days} day(s) since placement without an attempt").format(days=reason.days)
        return _("{days} day(s) since the last attempt").format(days=reason.days)
    if code == "bucket":
        return _("bucket {bucket}").format(bucket=reason.bucket)
    if code == "balance":
        return _("balance {amount}").format(amount=format_money(reason.amount or Decimal(0)))
    if code == "promise_pending":
        return _("promise pending until {day}: give the debtor time").format(day=_day(reason.day))
    if code == "no_valid_phone":
        return _("no valid phone number left")
    return code


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def policy_summary(policy: QueuePolicy) -> Mapping[str, str]:
    """One line per factor with its weight, for the CLI and the docs."""
    p = policy
    return {
        "never_attempted": f"+{_number(p.never_attempted.weight)}",
        "promise_broken": f"+{_number(p.promise_broken.weight)} ({p.promise_broken.within_days}d)",
        "promise_due": f"+{_number(p.promise_due.weight)} ({p.promise_due.within_days}d)",
        "callback_requested": f"+{_number(p.callback_requested.weight)} (+{p.callback_requested.after_days}d)",
        "period_ending": f"≤ +{_number(p.period_ending.weight)} ({p.period_ending.within_days}d)",
        "idle": f"+{_number(p.idle.per_day)}/d ≤ {_number(p.idle.cap)}",
        "bucket": ", ".join(f"{k} +{_number(v)}" for k, v in p.bucket_weights.items()),
        "balance": f"+{_number(p.balance.per_tenfold)}×log10(1+b/{p.balance.unit}) ≤ {_number(p.balance.cap)}",
        "promise_pending": f"-{_number(p.promise_pending.penalty)}",
        "no_valid_phone": f"-{_number(p.no_valid_phone.penalty)}",
    }
