"""Fair comparison of agencies: side by side within each stratum, and mix-adjusted overall.

Pure: works on facts already gathered. An agency's plain overall ("as placed") reflects
the mix of cases it happened to get; an agency given easier strata looks better. The
mix-adjusted overall weighs the agency's result in each stratum by that stratum's share
of the whole scope (the batch, or every case held in the period), so every agency is
measured on the same mix:

    mix_adjusted(KPI) = Σ_s w_s · KPI(agency, s) / Σ_s w_s

over the strata s where the agency's KPI has a value. w_s is the stratum's share of the
scope's balance placed for KPIs based on balance placed (recovery rate by amount, net
back) and its share of the scope's cases for every other KPI. The weights come from what
was placed, never from what agencies did. See docs/evaluation.md.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from weiwai.config import get_settings
from weiwai.placements.strata import BAND_LABELS
from weiwai.portfolio.delinquency import CURRENT
from weiwai.reports.kpis import AMOUNT_BASED_KPIS, HOURS_PLACES, KPI_NAMES, RATE_PLACES, Facts, kpi_values, ratio
from weiwai.reports.schemas import AgencyOverall, AgencyResult, FactsRead, KpiSet, StratumComparison

StratumKey = tuple[str, str, str]  # bucket, balance band, region
ROLLUP = "*"  # bucket, band and region of an agency's overall (roll-up) scorecard
GroupKey = tuple[int, str, str, str]  # agency_id, bucket, balance band, region


def stratum_weights(
    stratum_totals: dict[StratumKey, Facts],
) -> tuple[dict[StratumKey, Decimal], dict[StratumKey, Decimal]]:
    """Each stratum's exact share of the scope's cases and of its balance placed (0 if none)."""
    cases = sum(facts.cases for facts in stratum_totals.values())
    balance = sum((facts.balance_placed for facts in stratum_totals.values()), Decimal(0))
    by_cases = {key: Decimal(facts.cases) / cases if cases else Decimal(0) for key, facts in stratum_totals.items()}
    by_balance = {
        key: facts.balance_placed / balance if balance else Decimal(0) for key, facts in stratum_totals.items()
    }
    return by_cases, by_balance


def mix_adjusted(
    kpis_by_stratum: dict[StratumKey, dict[str, Decimal | None]],
    case_weights: dict[StratumKey, Decimal],
    balance_weights: dict[StratumKey, Decimal],
) -> dict[str, Decimal | None]:
    """One agency's stratum KPIs reweighted to the scope's stratum mix (see module docstring)."""
    adjusted: dict[str, Decimal | None] = {}
    for name in KPI_NAMES:
        weights = balance_weights if name in AMOUNT_BASED_KPIS else case_weights
        pairs = [
            (weights.get(stratum, Decimal(0)), values[name])
            for stratum, values in kpis_by_stratum.items()
            if values[name] is not None
        ]
        total_weight = sum((weight for weight, _value in pairs), Decimal(0))
        if not total_weight:
            adjusted[name] = None
            continue
        value = sum((weight * value for weight, value in pairs), Decimal(0)) / total_weight
        places = HOURS_PLACES if name == "time_to_first_contact_hours" else RATE_PLACES
        adjusted[name] = value.quantize(places, rounding=ROUND_HALF_UP)
    return adjusted


def stratum_order(key: StratumKey) -> tuple:
    """Buckets in their configured order, bands from small to large, then regions."""
    bucket, band, region = key
    buckets = [CURRENT, *(b.label for b in get_settings().buckets)]
    return (
        buckets.index(bucket) if bucket in buckets else len(buckets), bucket,
        BAND_LABELS.index(band) if band in BAND_LABELS else len(BAND_LABELS), band,
        region,
    )


def compare(
    facts_by_group: dict[GroupKey, Facts],
    agency_codes: dict[int, str],
    agency_medians: dict[int, Decimal],
) -> tuple[Facts, list[StratumComparison], list[AgencyOverall]]:
    """Totals, the strata side by side and each agency's overall, from per-group facts."""
    by_stratum: dict[StratumKey, dict[int, Facts]] = defaultdict(dict)
    for (agency_id, *stratum), facts in facts_by_group.items():
        by_stratum[tuple(stratum)][agency_id] = facts
    stratum_totals = {key: sum(agencies.values(), Facts()) for key, agencies in by_stratum.items()}
    case_weights, balance_weights = stratum_weights(stratum_totals)

    strata = []
    agency_strata: dict[int, dict[StratumKey, dict[str, Decimal | None]]] = defaultdict(dict)
    for key in sorted(by_stratum, key=stratum_order):
        results = []
        for agency_id in sorted(by_stratum[key], key=lambda a: agency_codes.get(a, "")):
            facts = by_stratum[key][agency_id]
            values = kpi_values(facts)
            agency_strata[agency_id][key] = values
            results.append(AgencyResult(
                agency_id=agency_id, agency_code=agency_codes.get(agency_id, str(agency_id)),
                facts=FactsRead.of(facts), kpis=KpiSet(**values),
            ))
        bucket, band, region = key
        strata.append(StratumComparison(
            bucket=bucket, balance_band=band, region=region, cases=stratum_totals[key].cases,
            balance_placed=stratum_totals[key].balance_placed, case_weight=_rounded(case_weights[key]),
            balance_weight=_rounded(balance_weights[key]), agencies=results,
        ))

    grand_total = sum(stratum_totals.values(), Facts())
    overall = []
    for agency_id in sorted(agency_strata, key=lambda a: agency_codes.get(a, "")):
        totals = sum((facts for (a, *_s), facts in facts_by_group.items() if a == agency_id), Facts())
        totals.first_contact_hours_median = agency_medians.get(agency_id)
        held = agency_strata[agency_id]
        overall.append(AgencyOverall(
            agency_id=agency_id, agency_code=agency_codes.get(agency_id, str(agency_id)),
            facts=FactsRead.of(totals), as_placed=KpiSet(**kpi_values(totals)),
            mix_adjusted=KpiSet(**mix_adjusted(held, case_weights, balance_weights)),
            mix_share=ratio(sum(stratum_totals[key].cases for key in held), grand_total.cases),
        ))
    return grand_total, strata, overall


def _rounded(weight: Decimal) -> Decimal:
    return weight.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
