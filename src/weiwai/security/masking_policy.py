"""Masking policy as data: who sees which field of a debtor, and how much of it.

Six fields carry personal data a collector may be shown: the debtor's name, national ID,
mobile numbers (the debtor's phones), the contact persons' names and phones, and the
address. For each, a rule says `hidden` (not shown at all), `masked` (a few leading and
trailing characters, stars between) or `full`.

- ROLE_DEFAULTS is the table of defaults by role (docs/masking.md).
- A contract's `masking_policy` overrides the defaults for the agency's principals (its
  users and its API tokens) on that contract's cases. `full` for an agency only ever comes
  from a contract; no agency default is `full`.
- A masked shape is bounded per field (FIELD_SHAPES), so that a "mask" can never show the
  whole value, or more than the field's limit: at most the first 6 and last 4 characters
  of a national ID, 3 + 4 of a phone, the first character of a name and its last, the
  first 10 characters of an address. Whatever the shape, at least one character is hidden.

Everything here is pure: validation (`validate_policy`), the effective rules of a
principal (`effective_rules`) and applying a rule to a value (`apply_rule`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from weiwai.errors import RuleViolation
from weiwai.i18n import _
from weiwai.security.masking import (
    mask_address,
    mask_chars,
    mask_name,
    mask_national_id,
    mask_phone,
)
from weiwai.security.models import Role


class FieldMode(StrEnum):
    hidden = "hidden"
    masked = "masked"
    full = "full"


MASKING_FIELDS: tuple[str, ...] = ("debtor_name", "national_id", "mobile", "contact_name", "contact_phone", "address")
RULE_KEYS = ("mode", "keep_start", "keep_end")


@dataclass(frozen=True)
class FieldShape:
    """How much a mask of one field may show, and the default shape (a named mask of weiwai.security.masking)."""

    max_keep_start: int
    max_keep_end: int
    default_keep_start: int
    default_keep_end: int
    default_mask: Callable[[str], str]
    max_stars: int | None = None


FIELD_SHAPES: dict[str, FieldShape] = {
    "debtor_name": FieldShape(1, 1, 1, 1, mask_name),
    "national_id": FieldShape(6, 4, 3, 4, mask_national_id),
    "mobile": FieldShape(3, 4, 3, 4, mask_phone),
    "contact_name": FieldShape(1, 1, 1, 1, mask_name),
    "contact_phone": FieldShape(3, 4, 3, 4, mask_phone),
    "address": FieldShape(10, 0, 6, 0, mask_address, max_stars=8),
}


@dataclass(frozen=True)
class FieldRule:
    mode: FieldMode
    keep_start: int = 0
    keep_end: int = 0

    def as_json(self) -> str | dict[str, object]:
        if self.mode != FieldMode.masked:
            return self.mode.value
        return {"mode": self.mode.value, "keep_start": self.keep_start, "keep_end": self.keep_end}


HIDDEN = FieldRule(FieldMode.hidden)
FULL = FieldRule(FieldMode.full)


def default_masked(field: str) -> FieldRule:
    """The field's default mask (the shape of the named mask in weiwai.security.masking)."""
    shape = FIELD_SHAPES[field]
    return FieldRule(FieldMode.masked, shape.default_keep_start, shape.default_keep_end)


def masked(keep_start: int, keep_end: int = 0) -> FieldRule:
    return FieldRule(FieldMode.masked, keep_start, keep_end)


# Lender staff: names in full (as in the portfolio's debtor views), personal data masked
# with the default shapes; the whole value only through a reveal (reason, recorded).
_LENDER_DEFAULT = {
    "debtor_name": FULL,
    "national_id": default_masked("national_id"),
    "mobile": default_masked("mobile"),
    "contact_name": FULL,
    "contact_phone": default_masked("contact_phone"),
    "address": default_masked("address"),
}
# An agency: names masked, the national ID's last four (a manager; a collector: none),
# numbers masked (calls go through number references), the address to city level.
_AGENCY_MANAGER_DEFAULT = {
    "debtor_name": default_masked("debtor_name"),
    "national_id": masked(0, 4),
    "mobile": default_masked("mobile"),
    "contact_name": default_masked("contact_name"),
    "contact_phone": default_masked("contact_phone"),
    "address": default_masked("address"),
}
_COLLECTOR_DEFAULT = {**_AGENCY_MANAGER_DEFAULT, "national_id": HIDDEN}

AGENCY_ROLES = frozenset({Role.agency_manager, Role.collector})

ROLE_DEFAULTS: dict[Role, dict[str, FieldRule]] = {
    **{role: dict(_LENDER_DEFAULT) for role in Role if role not in AGENCY_ROLES},
    Role.agency_manager: dict(_AGENCY_MANAGER_DEFAULT),
    Role.collector: dict(_COLLECTOR_DEFAULT),
}


def validate_policy(raw: Mapping[str, object] | None) -> dict[str, FieldRule]:
    """A contract's masking policy checked, in field order; RuleViolation naming every problem.

    Each field maps to "hidden", "masked" (the default shape), "full", or
    {"mode": "masked", "keep_start": n, "keep_end": m}.
    """
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise RuleViolation(_("a masking policy must map field names to rules, e.g. {example}").format(
            example='{"mobile": "full", "national_id": "hidden"}'))
    problems: list[str] = []
    rules: dict[str, FieldRule] = {}
    for field, value in raw.items():
        if field not in FIELD_SHAPES:
            problems.append(_("unknown field {field} (fields: {fields})").format(
                field=repr(field), fields=", ".join(MASKING_FIELDS)))
            continue
        rule = _rule(field, value, problems)
        if rule is not None:
            rules[field] = rule
    if problems:
        raise RuleViolation(_("invalid masking policy: {problems}").format(problems="; ".join(problems)))
    return {field: rules[field] for field in MASKING_FIELDS if field in rules}


def _rule(field: str, value: object, problems: list[str]) -> FieldRule | None:
    modes = ", ".join(mode.value for mode in FieldMode)
    if isinstance(value, str):
        if value not in FieldMode.__members__:
            problems.append(_("field {field}: mode {mode} is not one of {modes}").format(
                field=field, mode=repr(value), modes=modes))
            return None
        return default_masked(field) if value == FieldMode.masked else FieldRule(FieldMode(value))
    if not isinstance(value, Mapping):
        problems.append(_("field {field}: rule {value} is not a mode or an object with {keys}").format(
            field=field, value=repr(value), keys=", ".join(RULE_KEYS)))
        return None
    unknown = [key for key in value if key not in RULE_KEYS]
    if unknown:
        problems.append(_("field {field}: unknown key(s) {keys} (keys: {allowed})").format(
            field=field, keys=", ".join(repr(key) for key in unknown), allowed=", ".join(RULE_KEYS)))
        return None
    mode = value.get("mode")
    if not isinstance(mode, str) or mode not in FieldMode.__members__:
        problems.append(_("field {field}: mode {mode} is not one of {modes}").format(
            field=field, mode=repr(mode), modes=modes))
        return None
    if mode != FieldMode.masked:
        if "keep_start" in value or "keep_end" in value:
            problems.append(_("field {field}: keep_start and keep_end are only given with mode masked").format(
                field=field))
            return None
        return FieldRule(FieldMode(mode))
    shape = FIELD_SHAPES[field]
    keeps: dict[str, int] = {}
    defaults = {"keep_start": shape.default_keep_start, "keep_end": shape.default_keep_end}
    limits = {"keep_start": shape.max_keep_start, "keep_end": shape.max_keep_end}
    for key in ("keep_start", "keep_end"):
        keep = value.get(key, defaults[key])
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            problems.append(_("field {field}: {key} {value} is not a whole number of characters (0 or more)").format(
                field=field, key=key, value=repr(keep)))
            return None
        if keep > limits[key]:
            problems.append(_("field {field}: {key} {value} shows more than a mask of this field may "
                              "(at most {limit})").format(field=field, key=key, value=keep, limit=limits[key]))
            return None
        keeps[key] = keep
    return FieldRule(FieldMode.masked, keeps["keep_start"], keeps["keep_end"])


def policy_json(rules: Mapping[str, FieldRule]) -> dict[str, object]:
    """The stored form of validated rules (what validate_policy reads back unchanged)."""
    return {field: rule.as_json() for field, rule in rules.items()}


def is_agency_role(role: Role | str) -> bool:
    return Role(role) in AGENCY_ROLES


def effective_rules(*, role: Role | str, contract_policy: Mapping[str, object] | None = None) -> dict[str, FieldRule]:
    """The rule of every field for a principal of `role`: the role's defaults, the contract's for an agency."""
    role = Role(role)
    rules = dict(ROLE_DEFAULTS[role])
    if role in AGENCY_ROLES and contract_policy:
        rules.update(validate_policy(contract_policy))
    return rules


def apply_rule(field: str, rule: FieldRule, value: str | None) -> str | None:
    """`value` as `rule` shows it: None (hidden or absent), masked, or whole."""
    if value is None or rule.mode == FieldMode.hidden:
        return None
    if rule.mode == FieldMode.full:
        return value
    shape = FIELD_SHAPES[field]
    if (rule.keep_start, rule.keep_end) == (shape.default_keep_start, shape.default_keep_end):
        return shape.default_mask(value)
    return mask_chars(value, keep_start=rule.keep_start, keep_end=rule.keep_end, max_stars=shape.max_stars)
