"""Validated shapes of contracts: the fee schedule and PIPL entrustment terms as data.

Bucket labels are checked against the configured delinquency buckets when a contract is
written (ContractCreate, ContractUpdate); the read side trusts what was stored.
"""

from __future__ import annotations

from datetime import date, datetime
from itertools import pairwise
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from weiwai.agencies.fields import (
    INPUT_CONFIG,
    InputSchema,
    LongText,
    Money,
    Patch,
    Rate,
    Region,
    ShortText,
    unique_in_order,
)
from weiwai.agencies.models import Channel, Contract, ContractStatus, ReportingCadence
from weiwai.errors import RuleViolation
from weiwai.handover.policy import validate_policy
from weiwai.i18n import _

BucketLabel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
ContractNo = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^\S+$")]
DataCategory = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def configured_bucket_labels() -> list[str]:
    from weiwai.config import get_settings

    return [band.label for band in get_settings().buckets]


class RecoveryTier(InputSchema):
    """Once a case's recovery rate reaches `min_recovery_rate`, `bonus_rate` is added."""

    model_config = INPUT_CONFIG

    min_recovery_rate: Rate
    bonus_rate: Rate


class FeeSchedule(InputSchema):
    """Commission by bucket at placement, optional recovery-rate bonuses, optional fixed fee."""

    model_config = INPUT_CONFIG

    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"
    rates_by_bucket: dict[BucketLabel, Rate] = Field(min_length=1)
    recovery_tiers: list[RecoveryTier] = Field(default_factory=list)
    fixed_fee_per_closed_case: Money | None = None

    @field_validator("recovery_tiers")
    @classmethod
    def _tiers_ascending(cls, tiers: list[RecoveryTier]) -> list[RecoveryTier]:
        for lower, higher in pairwise(tiers):
            if higher.min_recovery_rate <= lower.min_recovery_rate:
                raise ValueError(
                    _("recovery tiers must be in ascending order of min_recovery_rate, without repeats "
                      "({higher} follows {lower})").format(
                        higher=higher.min_recovery_rate, lower=lower.min_recovery_rate
                    )
                )
        return tiers

    @model_validator(mode="after")
    def _commission_never_exceeds_recovery(self) -> FeeSchedule:
        top_bonus = max((tier.bonus_rate for tier in self.recovery_tiers), default=0)
        for bucket, rate in self.rates_by_bucket.items():
            if rate + top_bonus > 1:
                raise ValueError(
                    _("bucket {bucket}: rate {rate} plus the largest bonus {bonus} exceeds 1 "
                      "(commission would exceed the amount recovered)").format(
                        bucket=bucket, rate=rate, bonus=top_bonus
                    )
                )
        return self


class EntrustmentTerms(InputSchema):
    """PIPL art. 21 (个人信息委托处理): what the agency may do with personal data, and how."""

    model_config = INPUT_CONFIG

    purpose: LongText
    duration: ShortText
    processing_method: LongText
    data_categories: list[DataCategory] = Field(min_length=1)
    protection_measures: LongText

    @field_validator("data_categories")
    @classmethod
    def _categories_without_repeats(cls, categories: list[str]) -> list[str]:
        return unique_in_order(categories)


class _ContractTermsValidation(InputSchema):
    """Validators shared by ContractCreate and ContractUpdate (fields may be absent in a patch)."""

    model_config = INPUT_CONFIG

    @field_validator("permitted_channels", "permitted_regions", check_fields=False)
    @classmethod
    def _without_repeats(cls, values: list | None) -> list | None:
        return None if values is None else unique_in_order(values)

    @field_validator("compliance_terms", check_fields=False)
    @classmethod
    def _compliance_terms(cls, terms: dict | None) -> dict | None:
        """Overrides that only tighten the lender's compliance pack, and thresholds (docs/compliance.md)."""
        if terms is None:
            return None
        from weiwai.compliance.terms import validate_terms

        try:
            return validate_terms(terms)
        except RuleViolation as exc:
            raise ValueError(exc.message) from None

    @field_validator("handover_fields", check_fields=False)
    @classmethod
    def _releasable_fields(cls, policy: dict[str, str] | None) -> dict[str, str] | None:
        """Only fields a handover package may carry, each "full" or "masked" (docs/handover.md)."""
        if policy is None:
            return None
        try:
            return {field: str(mode) for field, mode in validate_policy(policy).items()}
        except RuleViolation as exc:
            raise ValueError(exc.message) from None

    @field_validator("masking_policy", check_fields=False)
    @classmethod
    def _masking_policy(cls, policy: dict[str, Any] | None) -> dict[str, Any] | None:
        """Per field "hidden", "masked" (bounded shapes) or "full", for the agency's principals (docs/masking.md)."""
        if policy is None:
            return None
        from weiwai.security.masking_policy import policy_json, validate_policy

        try:
            return policy_json(validate_policy(policy))
        except RuleViolation as exc:
            raise ValueError(exc.message) from None

    @field_validator("fee_schedule", check_fields=False)
    @classmethod
    def _rates_for_configured_buckets(cls, schedule: FeeSchedule | None) -> FeeSchedule | None:
        if schedule is not None:
            configured = configured_bucket_labels()
            unknown = [label for label in schedule.rates_by_bucket if label not in configured]
            if unknown:
                raise ValueError(_unknown_buckets_reason(unknown, configured))
        return schedule

    @field_validator("permitted_buckets", check_fields=False)
    @classmethod
    def _buckets_configured_and_priced(cls, buckets: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if buckets is None:
            return None
        buckets = unique_in_order(buckets)
        configured = configured_bucket_labels()
        unknown = [label for label in buckets if label not in configured]
        if unknown:
            raise ValueError(_unknown_buckets_reason(unknown, configured))
        schedule = info.data.get("fee_schedule")
        if schedule is not None:
            unpriced = [label for label in buckets if label not in schedule.rates_by_bucket]
            if unpriced:
                raise ValueError(
                    _("no rate in fee_schedule.rates_by_bucket for permitted bucket(s) {buckets}").format(
                        buckets=", ".join(unpriced)
                    )
                )
        return buckets

    @field_validator("ends_on", check_fields=False)
    @classmethod
    def _term_not_reversed(cls, ends_on: date | None, info: ValidationInfo) -> date | None:
        starts_on = info.data.get("starts_on")
        if ends_on is not None and starts_on is not None and ends_on < starts_on:
            raise ValueError(_("the term ends before it starts ({starts_on})").format(starts_on=starts_on))
        return ends_on


def _unknown_buckets_reason(unknown: list[str], configured: list[str]) -> str:
    return _("unknown bucket(s) {unknown}; configured buckets are {configured}").format(
        unknown=", ".join(unknown), configured=", ".join(configured)
    )


class ContractCreate(_ContractTermsValidation):
    """A new contract (always a draft). Give the agency by code or by id."""

    contract_no: ContractNo
    agency_code: str | None = None
    agency_id: int | None = None
    starts_on: date
    ends_on: date
    signed_on: date | None = None
    confidentiality_signed_on: date | None = None
    fee_schedule: FeeSchedule
    permitted_channels: list[Channel] = Field(min_length=1)
    permitted_buckets: list[BucketLabel] = Field(min_length=1)
    permitted_regions: list[Region] = Field(
        default_factory=list, description="Empty: every region the agency serves."
    )
    placement_days: int = Field(gt=0, description="How long a case stays with the agency.")
    post_recall_grace_days: int = Field(
        ge=0, description="Days after recall during which a payment still counts for the agency."
    )
    retention_days: int = Field(ge=0, description="Days the agency may keep a case's data after it ends.")
    reporting_cadence: ReportingCadence = ReportingCadence.weekly
    entrustment: EntrustmentTerms
    handover_fields: dict[str, str] = Field(
        default_factory=dict,
        description='Fields a handover package carries and how, e.g. {"mobile": "masked"}; '
                    "empty: the default minimum-necessary policy.",
    )
    compliance_terms: dict[str, Any] = Field(
        default_factory=dict,
        description='How the contract tightens the compliance pack and its thresholds, e.g. '
                    '{"overrides": {"CN-02": {"max_per_local_day": 2}}, "thresholds": {"severe_violations": '
                    '{"limit": 0, "period_days": 30}}}; empty: the pack as it is, no thresholds.',
    )
    masking_policy: dict[str, Any] = Field(
        default_factory=dict,
        description='What the agency\'s users and tokens see of a debtor on this contract\'s cases, per field: '
                    '"hidden", "masked", "full" or {"mode": "masked", "keep_start": 0, "keep_end": 4}, e.g. '
                    '{"mobile": "full", "national_id": "hidden"}; empty: the role defaults (docs/masking.md).',
    )

    @model_validator(mode="after")
    def _one_agency_reference(self) -> ContractCreate:
        if (self.agency_code is None) == (self.agency_id is None):
            raise ValueError(_("give the agency either by agency_code or by agency_id"))
        return self


class ContractUpdate(Patch, _ContractTermsValidation):
    """Changes to a draft contract. Number and agency are fixed once created."""

    nullable_fields: ClassVar[frozenset[str]] = frozenset({"signed_on", "confidentiality_signed_on"})

    starts_on: date | None = None
    ends_on: date | None = None
    signed_on: date | None = None
    confidentiality_signed_on: date | None = None
    fee_schedule: FeeSchedule | None = None
    permitted_channels: list[Channel] | None = Field(default=None, min_length=1)
    permitted_buckets: list[BucketLabel] | None = Field(default=None, min_length=1)
    permitted_regions: list[Region] | None = None
    placement_days: int | None = Field(default=None, gt=0)
    post_recall_grace_days: int | None = Field(default=None, ge=0)
    retention_days: int | None = Field(default=None, ge=0)
    reporting_cadence: ReportingCadence | None = None
    entrustment: EntrustmentTerms | None = None
    handover_fields: dict[str, str] | None = None
    compliance_terms: dict[str, Any] | None = None
    masking_policy: dict[str, Any] | None = None


class ContractRead(BaseModel):
    id: int
    contract_no: str
    agency_id: int
    agency_code: str
    status: ContractStatus
    starts_on: date
    ends_on: date
    signed_on: date | None
    confidentiality_signed_on: date | None
    fee_schedule: FeeSchedule
    permitted_channels: list[Channel]
    permitted_buckets: list[str]
    permitted_regions: list[str]
    placement_days: int
    post_recall_grace_days: int
    retention_days: int
    reporting_cadence: ReportingCadence
    entrustment: EntrustmentTerms
    handover_fields: dict[str, str]
    compliance_terms: dict[str, Any]
    masking_policy: dict[str, Any]
    usable_today: bool = Field(description="Active, in term and signed today (lender's time zone).")
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, contract: Contract, *, today: date) -> ContractRead:
        """The read view of a stored contract, usability judged on `today`."""
        return cls(
            **{name: getattr(contract, name) for name in CONTRACT_COLUMNS_READ},
            agency_code=contract.agency.code,
            fee_schedule=FeeSchedule.model_validate(contract.fee_schedule),
            entrustment=entrustment_of(contract),
            usable_today=contract.is_usable(today),
        )


CONTRACT_COLUMNS_READ = (
    "id", "contract_no", "agency_id", "status", "starts_on", "ends_on", "signed_on",
    "confidentiality_signed_on", "permitted_channels", "permitted_buckets", "permitted_regions",
    "placement_days", "post_recall_grace_days", "retention_days", "reporting_cadence",
    "handover_fields", "compliance_terms", "masking_policy", "version", "created_at", "updated_at",
)
# EntrustmentTerms field -> Contract column.
ENTRUSTMENT_COLUMNS = {name: f"entrustment_{name}" for name in EntrustmentTerms.model_fields}


def entrustment_of(contract: Contract) -> EntrustmentTerms:
    return EntrustmentTerms.model_validate(
        {name: getattr(contract, column) for name, column in ENTRUSTMENT_COLUMNS.items()}
    )
