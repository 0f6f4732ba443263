"""Agency and contract schemas: what is accepted, what is refused and why, and how it serialises."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from weiwai.agencies.models import AgencyStatus
from weiwai.agencies.schemas import (
    AgencyCreate,
    AgencyUpdate,
    ContractCreate,
    ContractUpdate,
    FeeSchedule,
    StatusChangeRequest,
)
from weiwai.i18n import using_locale

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"


def example(name: str, **changes) -> dict:
    return {**yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8")), **changes}


@pytest.fixture(autouse=True)
def english():
    with using_locale("en"):
        yield


def errors_of(model, data) -> dict[str, str]:
    """{field path: message} of a refused input."""
    with pytest.raises(ValidationError) as refused:
        model.model_validate(data)
    return {".".join(map(str, e["loc"])): e["msg"] for e in refused.value.errors()}


def test_the_documented_examples_are_valid():
    agency = AgencyCreate.model_validate(example("agency.yaml"))
    contract = ContractCreate.model_validate(example("contract.yaml"))
    assert agency.code == "HZ-ANXIN" and agency.capacity_balance == Decimal("60000000.00")
    assert contract.fee_schedule.rates_by_bucket["M3"] == Decimal("0.18")
    assert contract.permitted_regions == ["浙江", "上海"]


def test_the_guide_shows_the_example_files_as_they_are():
    guide = (EXAMPLES.parent / "agencies.md").read_text(encoding="utf-8")
    for name in ("agency.yaml", "contract.yaml"):
        shown = guide.split(f"`docs/examples/{name}`:\n\n```yaml\n", 1)[1].split("```", 1)[0]
        assert shown == (EXAMPLES / name).read_text(encoding="utf-8")


# --- agencies ---------------------------------------------------------------------------


def test_agency_input_is_normalised():
    agency = AgencyCreate.model_validate(
        example("agency.yaml", code=" hz-anxin ", uscc="91330106ma2h3k7l5p", regions_served=["浙江", " 浙江 ", "上海"],
                capacity_balance="100", licence_no=330106000123456)
    )
    assert agency.code == "HZ-ANXIN"
    assert agency.uscc == "91330106MA2H3K7L5P"
    assert agency.regions_served == ["浙江", "上海"]
    assert str(agency.capacity_balance) == "100.00"
    assert agency.licence_no == "330106000123456"  # YAML reads an unquoted number as int


@pytest.mark.parametrize(
    "changes,field,needle",
    [
        ({"uscc": "91330106MA2H3K7L5Q"}, "uscc", "should be P"),
        ({"code": "A"}, "code", "2 to 32"),
        ({"code": "HZ ANXIN"}, "code", "upper-case letters"),
        ({"code": None}, "code", "must be text"),
        ({"uscc": None}, "uscc", "must be text"),
        ({"regions_served": []}, "regions_served", "at least 1"),
        ({"capacity_cases": -1}, "capacity_cases", "greater than or equal to 0"),
        ({"capacity_balance": "1.001"}, "capacity_balance", "2 decimal places"),
        ({"contact_email": "wangfang"}, "contact_email", "not an e-mail address"),
        ({"colour": "blue"}, "colour", "Extra inputs are not permitted"),
    ],
)
def test_agency_refusals(changes, field, needle):
    errors = errors_of(AgencyCreate, example("agency.yaml", **changes))
    assert needle in errors[field]


def test_agency_update_is_a_patch_that_cannot_empty_required_fields():
    assert AgencyUpdate.model_validate({"capacity_cases": 10}).model_dump(exclude_unset=True) == {"capacity_cases": 10}
    assert AgencyUpdate.model_validate({"licence_no": None}).model_dump(exclude_unset=True) == {"licence_no": None}
    assert "cannot be emptied" in errors_of(AgencyUpdate, {"legal_name": None})["legal_name"]
    assert "Extra inputs" in errors_of(AgencyUpdate, {"uscc": "91440300708461136T"})["uscc"]
    assert "Extra inputs" in errors_of(AgencyUpdate, {"code": "NEW"})["code"]


def test_status_change_needs_a_known_status_and_a_reason():
    request = StatusChangeRequest[AgencyStatus].model_validate({"to": "approved", "reason": " checked "})
    assert request.to is AgencyStatus.approved and request.reason == "checked"
    assert "reason" in errors_of(StatusChangeRequest[AgencyStatus], {"to": "approved", "reason": "  "})
    assert "to" in errors_of(StatusChangeRequest[AgencyStatus], {"to": "whitelisted", "reason": "x"})


# --- fee schedule -----------------------------------------------------------------------


def test_rates_are_exact_decimals_and_serialise_as_strings():
    schedule = FeeSchedule.model_validate(
        {"rates_by_bucket": {"M1": 0.1, "M2": "0.125"}, "fixed_fee_per_closed_case": 20}
    )
    assert schedule.rates_by_bucket == {"M1": Decimal("0.1"), "M2": Decimal("0.125")}
    dumped = schedule.model_dump(mode="json")
    assert dumped["rates_by_bucket"] == {"M1": "0.1", "M2": "0.125"}
    assert dumped["fixed_fee_per_closed_case"] == "20.00"
    assert FeeSchedule.model_validate(dumped) == schedule


@pytest.mark.parametrize(
    "schedule,field,needle",
    [
        ({"rates_by_bucket": {}}, "rates_by_bucket", "at least 1"),
        ({"rates_by_bucket": {"M1": "1.01"}}, "rates_by_bucket.M1", "less than or equal to 1"),
        ({"rates_by_bucket": {"M1": "-0.1"}}, "rates_by_bucket.M1", "greater than or equal to 0"),
        ({"rates_by_bucket": {"M1": "0.1234567"}}, "rates_by_bucket.M1", "6 decimal places"),
        ({"rates_by_bucket": {"M1": "0.1"}, "currency": "rmb"}, "currency", "pattern"),
        ({"rates_by_bucket": {"M1": "0.1"}, "fixed_fee_per_closed_case": "-1"}, "fixed_fee_per_closed_case", ">="),
        ({"rates_by_bucket": {"M1": "0.1"},
          "recovery_tiers": [{"min_recovery_rate": "0.5", "bonus_rate": "0.01"},
                             {"min_recovery_rate": "0.3", "bonus_rate": "0.02"}]},
         "recovery_tiers", "ascending order"),
        ({"rates_by_bucket": {"M1": "0.1"},
          "recovery_tiers": [{"min_recovery_rate": "0.5", "bonus_rate": "0.01"},
                             {"min_recovery_rate": "0.5", "bonus_rate": "0.02"}]},
         "recovery_tiers", "without repeats"),
        ({"rates_by_bucket": {"M1": "0.9"}, "recovery_tiers": [{"min_recovery_rate": "0.5", "bonus_rate": "0.2"}]},
         "", "exceeds 1"),
    ],
)
def test_fee_schedule_refusals(schedule, field, needle):
    errors = errors_of(FeeSchedule, schedule)
    assert field in errors, errors
    assert needle in errors[field] or (needle == ">=" and "greater than or equal" in errors[field])


# --- contracts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes,field,needle",
    [
        ({"permitted_buckets": ["M1", "M9"]}, "permitted_buckets", "unknown bucket(s) M9"),
        ({"permitted_buckets": ["M1", "M5"]}, "permitted_buckets", "no rate in fee_schedule.rates_by_bucket"),
        ({"fee_schedule": {"rates_by_bucket": {"M1": "0.1", "M0": "0.1"}}, "permitted_buckets": ["M1"]},
         "fee_schedule", "unknown bucket(s) M0"),
        ({"ends_on": date(2024, 12, 31)}, "ends_on", "ends before it starts"),
        ({"permitted_channels": []}, "permitted_channels", "at least 1"),
        ({"permitted_channels": ["phone", "fax"]}, "permitted_channels.1", "'phone'"),
        ({"placement_days": 0}, "placement_days", "greater than 0"),
        ({"post_recall_grace_days": -1}, "post_recall_grace_days", "greater than or equal to 0"),
        ({"retention_days": -1}, "retention_days", "greater than or equal to 0"),
        ({"reporting_cadence": "hourly"}, "reporting_cadence", "'daily'"),
        ({"contract_no": "HZ 1"}, "contract_no", "pattern"),
        ({"agency_id": 3}, "", "either by agency_code or by agency_id"),
    ],
)
def test_contract_refusals(changes, field, needle):
    errors = errors_of(ContractCreate, example("contract.yaml", **changes))
    assert field in errors, errors
    assert needle in errors[field]


def test_contract_needs_some_agency_reference():
    data = example("contract.yaml")
    del data["agency_code"]
    assert "either by agency_code" in errors_of(ContractCreate, data)[""]
    assert ContractCreate.model_validate({**data, "agency_id": 7}).agency_id == 7


@pytest.mark.parametrize("missing", ["purpose", "duration", "processing_method", "protection_measures"])
def test_every_entrustment_term_is_required(missing):
    data = example("contract.yaml")
    del data["entrustment"][missing]
    assert f"entrustment.{missing}" in errors_of(ContractCreate, data)


def test_entrustment_needs_data_categories():
    data = example("contract.yaml")
    data["entrustment"]["data_categories"] = []
    assert "at least 1" in errors_of(ContractCreate, data)["entrustment.data_categories"]


def test_contract_lists_lose_repeats():
    contract = ContractCreate.model_validate(
        example("contract.yaml", permitted_channels=["sms", "phone", "sms"], permitted_buckets=["M2", "M1", "M2"])
    )
    assert [c.value for c in contract.permitted_channels] == ["sms", "phone"]
    assert contract.permitted_buckets == ["M2", "M1"]


def test_buckets_come_from_the_configured_bands(monkeypatch):
    from weiwai.config import reset_settings

    bands = '[{"label": "B1", "min_dpd": 1, "max_dpd": 60}, {"label": "B2", "min_dpd": 61}]'
    monkeypatch.setenv("WEIWAI_BUCKETS", bands)
    reset_settings()
    try:
        data = example("contract.yaml", permitted_buckets=["B1", "B2"],
                       fee_schedule={"rates_by_bucket": {"B1": "0.1", "B2": "0.2"}})
        assert ContractCreate.model_validate(data).permitted_buckets == ["B1", "B2"]
        assert "configured buckets are B1, B2" in errors_of(ContractCreate, example("contract.yaml"))["fee_schedule"]
    finally:
        monkeypatch.delenv("WEIWAI_BUCKETS")
        reset_settings()


def test_contract_update_is_a_patch():
    update = ContractUpdate.model_validate({"placement_days": 60, "signed_on": None})
    assert update.model_dump(exclude_unset=True) == {"placement_days": 60, "signed_on": None}
    assert "cannot be emptied" in errors_of(ContractUpdate, {"ends_on": None})["ends_on"]
    assert "Extra inputs" in errors_of(ContractUpdate, {"contract_no": "X"})["contract_no"]
    assert "Extra inputs" in errors_of(ContractUpdate, {"agency_code": "X"})["agency_code"]
    assert "unknown bucket(s) M9" in errors_of(ContractUpdate, {"permitted_buckets": ["M9"]})["permitted_buckets"]


def test_handover_policy_is_part_of_the_contract_and_validated():
    from weiwai.agencies.schemas import ContractCreate

    contract = ContractCreate.model_validate(
        example("contract.yaml", handover_fields={"case_no": "full", "mobile": "masked", "debtor_name": "full"})
    )
    assert contract.handover_fields["mobile"] == "masked"
    assert ContractCreate.model_validate(example("contract.yaml")).handover_fields == {}
    problems = errors_of(ContractCreate, example("contract.yaml", handover_fields={"case_no": "full", "password": "full"}))
    assert "handover_fields" in problems and "password" in problems["handover_fields"]
    problems = errors_of(ContractCreate, example("contract.yaml", handover_fields={"case_no": "full", "mobile": "shown"}))
    assert "handover_fields" in problems
