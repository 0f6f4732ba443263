"""Policy packs: the contact rules of one jurisdiction as validated data (CN, US, UK).

A pack is a YAML file in ``weiwai/compliance/packs/`` (``cn.yaml``…): an id, a version, a
name and its rules. Every rule has an ``id`` (CN-01…), its ``source`` (from
shared/domain/compliance-rules.md), ``enabled``, a ``kind`` (which check runs it) and the
``params`` of that check. Every number and list the law or a guideline gives lives here,
never in the evaluator (weiwai.compliance.evaluator).

A contract may tighten a pack, never loosen it: ``tighten(pack, overrides)`` accepts
``{"CN-01": {"quiet_start": "21:00"}, "CN-02": {"max_per_local_day": 2}}`` and refuses,
naming the rule and the parameter, any override that would allow a contact the pack
denies (a narrower quiet window, a higher cap, a rule switched off…).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, model_validator

from weiwai.errors import InputRejected, RowError

PACKS_DIR = Path(__file__).parent / "packs"
PACK_CODES = ("CN", "US", "UK")

# Kept as literals (not the SQLAlchemy enums) so the schema stays a leaf module; a unit test
# checks they equal weiwai.agencies.models.Channel, Outcome, Party and HoldKind.
ChannelName = Literal["phone", "sms", "visit", "letter", "email", "ivr"]
ALL_CHANNELS: frozenset[str] = frozenset(ChannelName.__args__)
OutcomeName = Literal[
    "no_answer", "busy", "invalid_number", "powered_off", "left_message", "right_party_contact",
    "wrong_party", "third_party_contact", "promise_to_pay", "refused_to_pay", "dispute_raised",
    "hardship_claimed", "claims_paid", "callback_requested", "sms_sent", "letter_sent", "email_sent",
    "visit_done", "visit_not_found",
]
HoldKindName = Literal[
    "dispute", "cease_contact", "complaint", "hardship", "deceased", "bankrupt", "litigation",
    "vulnerable", "attorney", "workplace", "channel_opt_out",
]


def _hhmm(value: str) -> str:
    parts = value.split(":")
    if (len(parts) != 2 or len(parts[0]) != 2 or len(parts[1]) != 2 or not value.replace(":", "").isdigit()
            or int(parts[0]) > 23 or int(parts[1]) > 59):
        raise ValueError(f"must be a time HH:MM between 00:00 and 23:59, not {value!r}")
    return value


HHMM = Annotated[str, AfterValidator(_hhmm)]


def minutes(hhmm: str) -> int:
    """Minutes after midnight of a validated HH:MM."""
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def window_minutes(start: str, end: str) -> frozenset[int]:
    """The minutes of the day inside [start, end), a window that may cross midnight."""
    s, e = minutes(start), minutes(end)
    if s < e:
        return frozenset(range(s, e))
    return frozenset(range(s, 1440)) | frozenset(range(0, e))


class _Params(BaseModel):
    """Parameters of one check. ``TIGHTER`` says, per field, which way is stricter."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # superset / subset: a bigger / smaller set is stricter; lower / higher: a smaller / bigger
    # number is stricter (None = no limit, the loosest); true / false: that value is stricter;
    # fixed: cannot be changed by a contract.
    TIGHTER: ClassVar[dict[str, str]] = {}

    def loosened(self, new: _Params) -> list[tuple[str, str]]:
        """(parameter, why) for every way `new` would allow more than `self`."""
        found = []
        for name, direction in self.TIGHTER.items():
            old_value, new_value = getattr(self, name), getattr(new, name)
            if old_value == new_value:
                continue
            why = _loosens(direction, old_value, new_value)
            if why:
                found.append((name, why))
        return found


def _loosens(direction: str, old: Any, new: Any) -> str | None:
    if direction == "superset" and not set(new) >= set(old):
        return f"may only add to {sorted(old)}, not remove {sorted(set(old) - set(new))}"
    if direction == "subset" and not set(new) <= set(old):
        return f"may only remove from {sorted(old)}, not add {sorted(set(new) - set(old))}"
    if direction == "lower" and (new is None or (old is not None and new > old)):
        return f"may only be lowered from {old}, not raised to {new}"
    if direction == "higher" and new < old:
        return f"may only be raised from {old}, not lowered to {new}"
    if direction == "true" and old and not new:
        return "may not be switched off"
    if direction == "false" and new and not old:
        return "may not be switched on"
    if direction == "fixed":
        return f"cannot be changed by a contract (is {old!r})"
    return None


class ContactHoursParams(_Params):
    """CN-01, US-01, UK-01: quiet hours in the debtor's local time, and time preferences."""

    quiet_start: HHMM
    quiet_end: HHMM
    applies_to_channels: frozenset[ChannelName]
    # US-01: with several candidate zones the time must be allowed in every one of them;
    # otherwise only the first zone (the debtor's main one) is used.
    all_zones: bool = False
    # CN-01: an evidenced, valid agreed_window preference lifts the quiet hours inside it.
    agreed_window_exception: bool = False
    honour_inconvenient_time: bool = True  # inconvenient_time preferences block (US-01, UK-01)
    honour_preferred_channel_only: bool = False  # preferred_channel_only preferences block (UK-01)

    TIGHTER: ClassVar[dict[str, str]] = {
        "applies_to_channels": "superset", "all_zones": "true", "agreed_window_exception": "false",
        "honour_inconvenient_time": "true", "honour_preferred_channel_only": "true",
    }

    @model_validator(mode="after")
    def _window(self) -> ContactHoursParams:
        if self.quiet_start == self.quiet_end:
            raise ValueError("quiet_start and quiet_end must differ")
        return self

    def loosened(self, new: _Params) -> list[tuple[str, str]]:
        found = super().loosened(new)
        assert isinstance(new, ContactHoursParams)
        if not window_minutes(new.quiet_start, new.quiet_end) >= window_minutes(self.quiet_start, self.quiet_end):
            name = "quiet_start" if new.quiet_start != self.quiet_start else "quiet_end"
            found.append((name, f"quiet hours {new.quiet_start}–{new.quiet_end} must cover at least "
                                f"{self.quiet_start}–{self.quiet_end}"))
        return found


class CounterParams(_Params):
    """CN-02, CN-03, US-02, UK-02: how many contacts, over all agencies, per debtor / number / person and debt."""

    scope: Literal["debtor", "number", "person_debt"]
    counts: Literal["conversations", "call_attempts", "contacts"]  # what is counted (for the reasons)
    applies_to_channels: frozenset[ChannelName]  # the proposed contacts this check may deny
    counted_channels: frozenset[ChannelName]  # past contacts on these channels…
    counted_outcomes: frozenset[OutcomeName]  # …with these outcomes count;
    reserved_channels: frozenset[ChannelName] = frozenset()  # …and reservations on these (worst case)
    max_per_local_day: PositiveInt | None = None  # in the debtor's local day (first zone)
    max_per_rolling_window: PositiveInt | None = None  # in the last window_days × 24 h
    window_days: PositiveInt = 7
    # US-02: no call within pause_days after a conversation (these outcomes on these channels).
    pause_after_outcomes: frozenset[OutcomeName] = frozenset()
    pause_channels: frozenset[ChannelName] = frozenset()
    pause_days: PositiveInt = 7

    TIGHTER: ClassVar[dict[str, str]] = {
        "scope": "fixed", "counts": "fixed", "applies_to_channels": "superset", "counted_channels": "superset",
        "counted_outcomes": "superset", "reserved_channels": "superset", "max_per_local_day": "lower",
        "max_per_rolling_window": "lower", "window_days": "higher", "pause_after_outcomes": "superset",
        "pause_channels": "superset", "pause_days": "higher",
    }

    @model_validator(mode="after")
    def _something_to_check(self) -> CounterParams:
        if self.max_per_local_day is None and self.max_per_rolling_window is None and not self.pause_after_outcomes:
            raise ValueError("give max_per_local_day, max_per_rolling_window or pause_after_outcomes")
        if self.pause_after_outcomes and not self.pause_channels:
            raise ValueError("pause_after_outcomes needs pause_channels")
        return self


class ThirdPartyParams(_Params):
    """CN-04 (US-03, UK-03): contact persons only when the debtor is unreachable; refusals are final."""

    parties: frozenset[Literal["contact", "third_party"]]
    # The debtor is unreachable after this many failed attempts within lookback_days (0: no requirement).
    min_failed_debtor_attempts: NonNegativeInt
    failed_outcomes: frozenset[OutcomeName] = frozenset()
    failed_channels: frozenset[ChannelName] = frozenset({"phone", "ivr"})
    lookback_days: PositiveInt = 7
    honour_do_not_contact: bool = True

    TIGHTER: ClassVar[dict[str, str]] = {
        "parties": "superset", "min_failed_debtor_attempts": "higher", "failed_outcomes": "subset",
        "failed_channels": "subset", "lookback_days": "lower", "honour_do_not_contact": "true",
    }

    @model_validator(mode="after")
    def _outcomes(self) -> ThirdPartyParams:
        if self.min_failed_debtor_attempts and not self.failed_outcomes:
            raise ValueError("min_failed_debtor_attempts needs failed_outcomes")
        return self


class EvidenceParams(_Params):
    """CN-05, CN-08, CN-13: a reference the contact must carry (credential, recording, recorded line)."""

    field: Literal["credential_ref", "recording_ref", "line_ref"]
    channels: frozenset[ChannelName]

    TIGHTER: ClassVar[dict[str, str]] = {"field": "fixed", "channels": "superset"}


class TemplateParams(_Params):
    """CN-06, US-05: only approved templates; `required`: these channels need one."""

    channels: frozenset[ChannelName]
    required: bool = False

    TIGHTER: ClassVar[dict[str, str]] = {"channels": "superset", "required": "true"}


class HoldPolicy(BaseModel):
    """What one kind of hold blocks: all, the hold's own channels (empty = all), these channels
    (plus the hold's own), or nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    block: Literal["all", "hold", "none"] | frozenset[ChannelName]
    rule_id: str | None = None  # default HOLD-<kind>
    note_en: str | None = None
    note_zh: str | None = None

    def covers(self, other: HoldPolicy) -> bool:
        """Blocks at least whatever `other` blocks, for any hold."""
        if self.block == "all" or other.block == "none" or self.block == other.block:
            return True
        if isinstance(self.block, frozenset) and isinstance(other.block, frozenset):
            return self.block >= other.block
        if isinstance(self.block, frozenset) and other.block == "hold":
            return self.block >= ALL_CHANNELS
        return False


DEFAULT_HOLD_POLICY = HoldPolicy(block="hold")


class HoldsParams(_Params):
    """HOLD-<kind> (US-04, UK-04…): what each kind of hold blocks. Kinds not listed block their own channels."""

    kinds: dict[HoldKindName, HoldPolicy]

    def loosened(self, new: _Params) -> list[tuple[str, str]]:
        assert isinstance(new, HoldsParams)
        found = []
        for kind in set(self.kinds) | set(new.kinds):
            old_policy = self.kinds.get(kind, DEFAULT_HOLD_POLICY)
            new_policy = new.kinds.get(kind, DEFAULT_HOLD_POLICY)
            if not new_policy.covers(old_policy):
                found.append((f"kinds.{kind}", f"must block at least what {_shown(old_policy.block)} blocks, "
                                               f"not {_shown(new_policy.block)}"))
        return found


class NoParams(_Params):
    pass


def _shown(block: Any) -> str:
    return ",".join(sorted(block)) if isinstance(block, frozenset) else str(block)


_RULE_ID = r"^[A-Z]{2,}(-[A-Za-z0-9_]+)*$"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_RULE_ID)
    source: str = Field(min_length=1)
    enabled: bool = True


class ContactHoursRule(_Rule):
    kind: Literal["contact_hours"]
    params: ContactHoursParams


class CounterRule(_Rule):
    kind: Literal["counter"]
    params: CounterParams


class ThirdPartyRule(_Rule):
    kind: Literal["third_party"]
    params: ThirdPartyParams


class EvidenceRule(_Rule):
    kind: Literal["evidence"]
    params: EvidenceParams


class TemplateRule(_Rule):
    kind: Literal["template"]
    params: TemplateParams


class HoldsRule(_Rule):
    kind: Literal["holds"]
    params: HoldsParams


class ContractChannelsRule(_Rule):
    kind: Literal["contract_channels"]
    params: NoParams = NoParams()


Rule = Annotated[
    ContactHoursRule | CounterRule | ThirdPartyRule | EvidenceRule | TemplateRule | HoldsRule | ContractChannelsRule,
    Field(discriminator="kind"),
]


class Pack(BaseModel):
    """One jurisdiction's contact rules. Frozen: the evaluator caches its compiled form on it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Literal["CN", "US", "UK"]
    version: PositiveInt
    name: str = Field(min_length=1)
    description: str | None = None
    # How long the lender keeps a debtor's personal data after the relationship ended, in
    # years (weiwai.privacy.retention purges it then); None: never purged automatically.
    data_retention_years: int | None = Field(default=None, ge=1, le=30)
    rules: tuple[Rule, ...]

    @model_validator(mode="after")
    def _unique_ids(self) -> Pack:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id} appears twice")
            seen.add(rule.id)
        return self

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"

    def rule(self, rule_id: str) -> Any:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def load_pack(code: str = "CN") -> Pack:
    """The pack `code` (CN, US or UK) from weiwai/compliance/packs/, validated once and cached."""
    code = code.upper()
    if code not in PACK_CODES:
        raise ValueError(f"unknown policy pack {code!r}; one of {', '.join(PACK_CODES)}")
    return _load(code)


@lru_cache(maxsize=len(PACK_CODES))
def _load(code: str) -> Pack:
    from weiwai.placements.rules_file import parse_model

    path = PACKS_DIR / f"{code.lower()}.yaml"
    pack = parse_model(Pack, path.read_text(encoding="utf-8"), file=path.name)
    if pack.id != code:
        raise ValueError(f"{path.name} holds pack {pack.id}, not {code}")
    return pack


def tighten(pack: Pack, overrides: dict[str, dict[str, Any]] | None, *, source: str = "contract") -> Pack:
    """`pack` with a contract's overrides ({rule id: {parameter or "enabled": value}}), only if none loosens it.

    Raises InputRejected with one RowError per problem; its column is "<rule id>.<parameter>".
    """
    if not overrides:
        return pack
    errors: list[RowError] = []
    by_id = {rule.id: rule for rule in pack.rules}
    new_rules = {}
    for rule_id, changes in overrides.items():
        rule = by_id.get(rule_id)
        if rule is None:
            errors.append(RowError(source, 1, rule_id, "", f"the pack {pack.label} has no rule {rule_id}"))
            continue
        if not isinstance(changes, dict):
            errors.append(RowError(source, 1, rule_id, repr(changes), "must be a mapping of parameters"))
            continue
        changes = dict(changes)
        enabled = changes.pop("enabled", rule.enabled)
        if rule.enabled and not enabled:
            errors.append(RowError(source, 1, f"{rule_id}.enabled", repr(enabled),
                                   f"would loosen {pack.label}: rule {rule_id} may not be switched off"))
            continue
        params = rule.params.model_dump()
        unknown = sorted(set(changes) - set(params))
        for name in unknown:
            errors.append(RowError(source, 1, f"{rule_id}.{name}", repr(changes[name]),
                                   f"rule {rule_id} has no parameter {name}"))
        if unknown:
            continue
        for name, value in changes.items():  # a mapping parameter (HOLDS.kinds) is merged, not replaced
            if isinstance(params[name], dict) and isinstance(value, dict):
                changes[name] = {**params[name], **value}
        try:
            new_params = type(rule.params).model_validate({**params, **changes})
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            errors.append(RowError(source, 1, rule_id, repr(changes), f"invalid parameters for {rule_id}: {exc}"))
            continue
        for name, why in rule.params.loosened(new_params):
            errors.append(RowError(source, 1, f"{rule_id}.{name}", repr(changes.get(name.split(".")[0])),
                                   f"would loosen {pack.label}: {rule_id}.{name} {why}"))
        new_rules[rule_id] = rule.model_copy(update={"enabled": bool(enabled), "params": new_params})
    if errors:
        raise InputRejected(errors=errors)
    return Pack(id=pack.id, version=pack.version, name=pack.name, description=pack.description,
                data_retention_years=pack.data_retention_years, rules=tuple(new_rules.get(rule.id, rule) for rule in pack.rules))
