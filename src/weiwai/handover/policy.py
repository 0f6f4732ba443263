"""Which fields a handover package may carry, and how: the contract's policy as data.

`Contract.handover_fields` maps a releasable field to "full" or "masked"; a field that is
absent is not released at all. An empty policy means DEFAULT_POLICY, the minimum the
agency needs to collect, with every encrypted value masked (PIPL art. 6 and 28).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from weiwai.errors import RuleViolation
from weiwai.i18n import _


class Mode(StrEnum):
    full = "full"
    masked = "masked"


# Every field a package can ever carry, in the order of the columns of the files.
RELEASABLE_FIELDS: tuple[str, ...] = (
    "case_no",
    "account_no",
    "debtor_name",
    "national_id",
    "mobile",
    "mobile_ref",
    "contact_name",
    "contact_relation",
    "contact_phone",
    "contact_phone_ref",
    "address",
    "product",
    "currency",
    "principal_outstanding",
    "interest_outstanding",
    "fee_outstanding",
    "penalty_outstanding",
    "total_outstanding",
    "due_date",
    "dpd",
    "bucket",
    "overdue_reason",
    "region",
    "period_ends_on",
)

# Number references (weiwai.portfolio.number_refs) are not personal data: released "full",
# joined like the numbers, so a dialer can name the n-th number without knowing it.
REF_FIELDS = frozenset({"mobile_ref", "contact_phone_ref"})
# Personal data stored encrypted: "full" means decrypting it unmasked (a reveal).
ENCRYPTED_FIELDS = frozenset({"national_id", "mobile", "contact_phone", "address"})
# Fields that have a mask; masking an amount or a date would only make it useless.
MASKABLE_FIELDS = ENCRYPTED_FIELDS | {"debtor_name", "contact_name"}
# Without the case number the agency could not log its actions against the case.
REQUIRED_FIELDS = frozenset({"case_no"})

DEFAULT_POLICY: dict[str, Mode] = {
    field: Mode.masked if field in ENCRYPTED_FIELDS else Mode.full for field in RELEASABLE_FIELDS
}


def validate_policy(raw: Mapping[str, object] | None) -> dict[str, Mode]:
    """The policy checked and in column order; raise RuleViolation naming every problem."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise RuleViolation(_("a handover policy must map field names to \"full\" or \"masked\""))
    problems: list[str] = []
    for field, mode in raw.items():
        if field not in RELEASABLE_FIELDS:
            problems.append(
                _("unknown field {field} (releasable: {fields})").format(
                    field=repr(field), fields=", ".join(RELEASABLE_FIELDS)
                )
            )
        elif mode not in (Mode.full.value, Mode.masked.value):
            problems.append(
                _("field {field}: mode {mode} is not \"full\" or \"masked\"").format(field=field, mode=repr(mode))
            )
        elif mode == Mode.masked and field not in MASKABLE_FIELDS:
            problems.append(_("field {field} has no mask; release it \"full\" or leave it out").format(field=field))
    if raw and not problems:
        missing = sorted(REQUIRED_FIELDS - set(raw))
        if missing:
            problems.append(
                _("field {field} must be released: the agency logs its actions by it").format(field=", ".join(missing))
            )
    if problems:
        raise RuleViolation(_("invalid handover policy: {problems}").format(problems="; ".join(problems)))
    return {field: Mode(raw[field]) for field in RELEASABLE_FIELDS if field in raw}


def effective_policy(raw: Mapping[str, object] | None) -> dict[str, Mode]:
    """The policy a package follows: the contract's, or the default when it states none."""
    policy = validate_policy(raw)
    return policy or dict(DEFAULT_POLICY)
