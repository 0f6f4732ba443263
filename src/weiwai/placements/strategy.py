"""Allocation strategies as validated data: {"name": ..., "params": {...}, "seed": n}.

| name | params |
|---|---|
| equal_count | — (equal numbers of accounts, within one) |
| balanced_amount | — (equal balances: largest accounts first, snake order) |
| capacity_weighted | — (shares in proportion to each agency's free case capacity) |
| performance_weighted | floor (decimal, default 0.01): least weight an agency keeps |
| region_match | split: equal_count, balanced_amount or capacity_weighted (default equal_count) |
| champion_challenger | champion, challenger: {"name", "params"}; challenger_share (0 < share < 1) |
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from weiwai.i18n import _

BASE_STRATEGIES = ("equal_count", "balanced_amount", "capacity_weighted", "performance_weighted", "region_match")
STRATEGY_NAMES = (*BASE_STRATEGIES, "champion_challenger")
SPLITS = ("equal_count", "balanced_amount", "capacity_weighted")


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(_Params):
    pass


class PerformanceParams(_Params):
    floor: Decimal = Field(default=Decimal("0.01"), ge=0, le=1)


class RegionMatchParams(_Params):
    split: Literal["equal_count", "balanced_amount", "capacity_weighted"] = "equal_count"


class ArmStrategy(_Params):
    """The strategy of one arm of a champion/challenger split (not itself a split)."""

    name: Literal["equal_count", "balanced_amount", "capacity_weighted", "performance_weighted", "region_match"]
    params: dict[str, Any] = Field(default_factory=dict, validate_default=True)

    @field_validator("params")
    @classmethod
    def _params_fit(cls, params: dict[str, Any], info) -> dict[str, Any]:
        name = info.data.get("name")
        return params if name is None else _checked_params(name, params)


class ChampionChallengerParams(_Params):
    champion: ArmStrategy
    challenger: ArmStrategy
    challenger_share: Decimal = Field(gt=0, lt=1)


PARAMS_MODELS: dict[str, type[_Params]] = {
    "equal_count": NoParams,
    "balanced_amount": NoParams,
    "capacity_weighted": NoParams,
    "performance_weighted": PerformanceParams,
    "region_match": RegionMatchParams,
    "champion_challenger": ChampionChallengerParams,
}


class StrategySpec(BaseModel):
    """How to allocate: a named strategy, its parameters, and the seed of its randomness."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal[
        "equal_count", "balanced_amount", "capacity_weighted", "performance_weighted", "region_match",
        "champion_challenger",
    ]
    params: dict[str, Any] = Field(default_factory=dict, validate_default=True)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)

    @field_validator("params")
    @classmethod
    def _params_fit(cls, params: dict[str, Any], info) -> dict[str, Any]:
        name = info.data.get("name")
        return params if name is None else _checked_params(name, params)

    def parsed(self) -> _Params:
        return PARAMS_MODELS[self.name].model_validate(self.params)

    def as_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def arm_spec(arm: ArmStrategy, seed: int) -> StrategySpec:
    return StrategySpec(name=arm.name, params=arm.params, seed=seed)


def _checked_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The params normalised by the model of `name`; problems as one readable ValueError."""
    try:
        parsed = PARAMS_MODELS[name].model_validate(params)
    except ValidationError as exc:
        from weiwai.placements.rules_file import describe

        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or name}: {describe(error)}"
            for error in exc.errors(include_url=False)
        ]
        raise ValueError(_("invalid parameters for {name}: {problems}").format(
            name=name, problems="; ".join(problems))) from None
    return parsed.model_dump(mode="json")
