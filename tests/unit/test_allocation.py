"""Allocation strategies: their properties, the constraints that always hold, determinism."""

from fractions import Fraction

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weiwai.placements.allocation import allocate, random_key, splitmix64, water_fill
from weiwai.placements.eligibility import UNALLOCATED_REASONS, Slot, Terms
from weiwai.placements.strategy import StrategySpec

BUCKETS = ["M1", "M2", "M3", "M4"]
REGIONS = ["广东", "浙江", "北京"]
NO_COOLING = pl.DataFrame(schema={"account_id": pl.Int64, "agency_id": pl.Int64})
HUGE = 10**15


def make_pool(n: int, *, buckets=BUCKETS, regions=REGIONS, max_fen: int = 5_000_000, start: int = 1) -> pl.DataFrame:
    ids = list(range(start, start + n))
    return pl.DataFrame({
        "account_id": ids,
        "balance_fen": [1 + splitmix64(i) % max_fen for i in ids],
        "bucket": [buckets[splitmix64(i + 7) % len(buckets)] for i in ids],
        "band": ["0-2k"] * n,
        "region": [regions[splitmix64(i + 13) % len(regions)] for i in ids],
    }, schema={"account_id": pl.Int64, "balance_fen": pl.Int64, "bucket": pl.String, "band": pl.String,
               "region": pl.String})


def make_slot(agency_id: int, *, cases: int = HUGE, fen: int = HUGE, regions=REGIONS) -> Slot:
    return Slot(agency_id=agency_id, code=f"A{agency_id}", cases_left=cases, balance_left_fen=fen,
                regions_served=frozenset(regions))


def every_bucket(slots) -> list[Terms]:
    return [Terms(contract_id=100 + s.agency_id, agency_id=s.agency_id, buckets=frozenset(BUCKETS),
                  regions=frozenset()) for s in slots]


def run(pool, slots, *, terms=None, cooled=NO_COOLING, name="equal_count", params=None, seed=0, rates=None):
    spec = StrategySpec(name=name, params=params or {}, seed=seed)
    return allocate(pool, slots=slots, terms=every_bucket(slots) if terms is None else terms, cooled=cooled,
                    strategy=spec, rates=rates).sort("account_id")


def counts(result: pl.DataFrame) -> dict[int, int]:
    placed = result.filter(pl.col("agency_id").is_not_null())
    return dict(placed.group_by("agency_id").agg(pl.len()).iter_rows())


def amounts(result: pl.DataFrame, pool: pl.DataFrame) -> dict[int, int]:
    placed = result.filter(pl.col("agency_id").is_not_null()).join(pool, on="account_id")
    return dict(placed.group_by("agency_id").agg(pl.col("balance_fen").sum()).iter_rows())


# --- strategies ---------------------------------------------------------------------------


def test_equal_count_splits_within_one():
    pool = make_pool(1003)
    result = run(pool, [make_slot(i) for i in range(1, 8)])
    assert result.height == 1003 and result["reason"].null_count() == 1003
    per_agency = counts(result)
    assert len(per_agency) == 7 and max(per_agency.values()) - min(per_agency.values()) <= 1


def test_balanced_amount_evens_out_balances():
    pool = make_pool(2000, max_fen=20_000_000)
    slots = [make_slot(i) for i in range(1, 6)]
    balanced = amounts(run(pool, slots, name="balanced_amount"), pool)
    by_count = amounts(run(pool, slots), pool)
    largest = pool["balance_fen"].max()
    assert max(balanced.values()) - min(balanced.values()) <= largest
    assert max(balanced.values()) - min(balanced.values()) < max(by_count.values()) - min(by_count.values())
    per_agency = counts(run(pool, slots, name="balanced_amount"))
    assert max(per_agency.values()) - min(per_agency.values()) <= 1


def test_capacity_weighted_shares_follow_free_capacity():
    pool = make_pool(500)
    slots = [make_slot(1, cases=100), make_slot(2, cases=200), make_slot(3, cases=700)]
    per_agency = counts(run(pool, slots, name="capacity_weighted"))
    for agency_id, ideal in {1: 50, 2: 100, 3: 350}.items():
        assert abs(per_agency[agency_id] - ideal) <= 1


def test_capacity_weighted_never_exceeds_and_fills_before_leaving_out():
    pool = make_pool(600)
    slots = [make_slot(1, cases=100), make_slot(2, cases=300)]
    result = run(pool, slots, name="capacity_weighted")
    assert counts(result) == {1: 100, 2: 300}
    assert result.filter(pl.col("reason") == "capacity").height == 200


def test_performance_weighted_follows_the_latest_recovery_rates():
    pool = make_pool(1200, buckets=["M2"], regions=["广东"])
    slots = [make_slot(1), make_slot(2), make_slot(3)]
    rates = {(1, "*", "*", "*"): Fraction(30, 100), (2, "*", "*", "*"): Fraction(10, 100)}
    per_agency = counts(run(pool, slots, name="performance_weighted", rates=rates))
    # Agency 3 has no scorecard: it weighs as the average of the others (0.20).
    assert per_agency == {1: 600, 2: 200, 3: 400}


def test_performance_weighted_prefers_the_figure_of_the_stratum():
    pool = make_pool(900, buckets=["M2"], regions=["广东"])
    slots = [make_slot(1), make_slot(2)]
    rates = {
        (1, "*", "*", "*"): Fraction(1, 2), (2, "*", "*", "*"): Fraction(1, 2),
        (1, "M2", "0-2k", "广东"): Fraction(2, 10), (2, "M2", "*", "*"): Fraction(1, 10),
    }
    assert counts(run(pool, slots, name="performance_weighted", rates=rates)) == {1: 600, 2: 300}


def test_performance_weighted_without_scorecards_is_an_equal_split():
    pool = make_pool(301)
    per_agency = counts(run(pool, [make_slot(1), make_slot(2), make_slot(3)], name="performance_weighted",
                            rates={}))
    assert sorted(per_agency.values()) == [100, 100, 101]


def test_performance_floor_keeps_a_zero_performer_in_play():
    pool = make_pool(1010, buckets=["M2"], regions=["广东"])
    rates = {(1, "*", "*", "*"): Fraction(0), (2, "*", "*", "*"): Fraction(1, 10)}
    per_agency = counts(run(pool, [make_slot(1), make_slot(2)], name="performance_weighted", rates=rates,
                            params={"floor": "0.001"}))
    assert per_agency == {1: 10, 2: 1000}


def test_region_match_places_only_where_the_agency_works():
    pool = make_pool(600)
    slots = [make_slot(1, regions=["广东"]), make_slot(2, regions=["浙江"]), make_slot(3, regions=["广东", "浙江"])]
    result = run(pool, slots, name="region_match").join(pool, on="account_id")
    served = {s.agency_id: s.regions_served for s in slots}
    placed = result.filter(pl.col("agency_id").is_not_null())
    assert all(region in served[agency] for agency, region in placed.select("agency_id", "region").iter_rows())
    beijing = result.filter(pl.col("region") == "北京")
    assert beijing.height > 0 and set(beijing["reason"]) == {"region_not_served"}
    # Within a region the split is still equal.
    guangdong = counts(placed.filter(pl.col("region") == "广东"))
    assert set(guangdong) == {1, 3} and abs(guangdong[1] - guangdong[3]) <= 1


def test_region_match_can_balance_amounts_instead():
    pool = make_pool(400, regions=["广东"])
    result = run(pool, [make_slot(1, regions=["广东"]), make_slot(2, regions=["广东"])], name="region_match",
                 params={"split": "balanced_amount"})
    spread = amounts(result, pool)
    assert abs(spread[1] - spread[2]) <= pool["balance_fen"].max()


def test_champion_challenger_split_has_exact_shares_and_records_the_arm():
    pool = make_pool(1001)
    slots = [make_slot(1), make_slot(2), make_slot(3)]
    params = {"champion": {"name": "equal_count"}, "challenger": {"name": "balanced_amount"},
              "challenger_share": "0.2"}
    result = run(pool, slots, name="champion_challenger", params=params, seed=5)
    arms = dict(result.group_by("arm").agg(pl.len()).iter_rows())
    assert arms == {"champion": 801, "challenger": 200}
    again = run(pool, slots, name="champion_challenger", params=params, seed=5)
    assert result.equals(again)
    other = run(pool, slots, name="champion_challenger", params=params, seed=6)
    assert dict(other.group_by("arm").agg(pl.len()).iter_rows()) == arms
    assert not result.filter(pl.col("arm") == "challenger")["account_id"].equals(
        other.filter(pl.col("arm") == "challenger")["account_id"])


def test_champion_challenger_splits_capacity_in_proportion():
    pool = make_pool(1000)
    slots = [make_slot(1, cases=200), make_slot(2, cases=300)]
    params = {"champion": {"name": "equal_count"}, "challenger": {"name": "equal_count"}, "challenger_share": "0.2"}
    result = run(pool, slots, name="champion_challenger", params=params)
    challenger = counts(result.filter(pl.col("arm") == "challenger"))
    champion = counts(result.filter(pl.col("arm") == "champion"))
    assert challenger == {1: 40, 2: 60} and champion == {1: 160, 2: 240}


def test_same_seed_same_allocation_different_seed_different_allocation():
    pool = make_pool(500)
    slots = [make_slot(i) for i in range(1, 5)]
    for name in ("equal_count", "balanced_amount", "capacity_weighted", "region_match"):
        first = run(pool, slots, name=name, seed=11)
        assert first.equals(run(pool, slots, name=name, seed=11))
        assert not first["agency_id"].equals(run(pool, slots, name=name, seed=12)["agency_id"])


def test_allocation_does_not_depend_on_row_order():
    pool = make_pool(300)
    slots = [make_slot(i, cases=70) for i in range(1, 5)]
    assert run(pool, slots, seed=3).equals(run(pool.reverse(), slots, seed=3))


# --- constraints --------------------------------------------------------------------------


def test_cooling_off_keeps_an_account_from_the_agency_that_returned_it():
    pool = make_pool(50)
    slots = [make_slot(1), make_slot(2)]
    cooled = pl.DataFrame({"account_id": list(range(1, 51)), "agency_id": [1] * 50})
    result = run(pool, slots, cooled=cooled)
    assert set(result["agency_id"]) == {2}
    only_one = run(pool, [make_slot(1)], cooled=cooled.head(5))
    assert only_one.filter(pl.col("account_id") <= 5)["reason"].to_list() == ["cooling_off"] * 5
    assert only_one.filter(pl.col("account_id") > 5)["agency_id"].unique().to_list() == [1]


def test_contracts_decide_buckets_and_regions_and_which_contract_is_used():
    pool = make_pool(400)
    slots = [make_slot(1), make_slot(2)]
    terms = [
        Terms(contract_id=11, agency_id=1, buckets=frozenset({"M1", "M2"}), regions=frozenset({"广东"})),
        Terms(contract_id=12, agency_id=1, buckets=frozenset({"M3"}), regions=frozenset()),
        Terms(contract_id=21, agency_id=2, buckets=frozenset({"M2"}), regions=frozenset({"浙江"})),
    ]
    result = run(pool, slots, terms=terms).join(pool, on="account_id")
    for row in result.iter_rows(named=True):
        permitting = [t for t in terms if t.permits(row["bucket"], row["region"])]
        if not permitting:
            assert row["reason"] == "no_contract" and row["agency_id"] is None
        else:
            assert row["contract_id"] == min(t.contract_id for t in permitting if t.agency_id == row["agency_id"])
    assert result.filter(pl.col("bucket") == "M4")["reason"].unique().to_list() == ["no_contract"]


def test_an_agency_without_free_capacity_gets_nothing():
    pool = make_pool(100)
    result = run(pool, [make_slot(1, cases=0), make_slot(2, fen=0), make_slot(3, cases=30)])
    assert counts(result) == {3: 30}
    assert result.filter(pl.col("reason") == "capacity").height == 70


def test_balance_capacity_is_respected():
    pool = make_pool(300, max_fen=1_000_000)
    cap = 20_000_000
    result = run(pool, [make_slot(1, fen=cap), make_slot(2, fen=cap)], name="balanced_amount")
    assert all(amount <= cap for amount in amounts(result, pool).values())
    assert result.filter(pl.col("reason") == "capacity").height > 0


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 250))
    pool = make_pool(n, max_fen=draw(st.sampled_from([100, 100_000, 5_000_000])), start=draw(st.integers(1, 10**6)))
    count = draw(st.integers(1, 6))
    slots = [
        make_slot(
            agency_id,
            cases=draw(st.one_of(st.just(HUGE), st.integers(0, 80))),
            fen=draw(st.one_of(st.just(HUGE), st.integers(0, 100_000_000))),
            regions=draw(st.lists(st.sampled_from(REGIONS), min_size=1, unique=True)),
        )
        for agency_id in range(1, count + 1)
    ]
    terms = [
        Terms(contract_id=100 * s.agency_id + k, agency_id=s.agency_id,
              buckets=frozenset(draw(st.lists(st.sampled_from(BUCKETS), min_size=1, unique=True))),
              regions=frozenset(draw(st.lists(st.sampled_from(REGIONS), unique=True))))
        for s in slots for k in range(draw(st.integers(0, 2)))
    ]
    ids = pool["account_id"].to_list()
    cooled = pl.DataFrame(
        draw(st.lists(st.tuples(st.sampled_from(ids), st.integers(1, count)), max_size=20)),
        schema={"account_id": pl.Int64, "agency_id": pl.Int64}, orient="row",
    )
    base = st.sampled_from(["equal_count", "balanced_amount", "capacity_weighted", "performance_weighted",
                            "region_match"])
    name = draw(st.sampled_from(["equal_count", "balanced_amount", "capacity_weighted", "performance_weighted",
                                 "region_match", "champion_challenger"]))
    params = {}
    if name == "champion_challenger":
        params = {"champion": {"name": draw(base)}, "challenger": {"name": draw(base)},
                  "challenger_share": draw(st.sampled_from(["0.1", "0.5", "0.9"]))}
    rates = {(s.agency_id, "*", "*", "*"): Fraction(draw(st.integers(0, 100)), 100) for s in slots
             if draw(st.booleans())}
    return pool, slots, terms, cooled, StrategySpec(name=name, params=params, seed=draw(st.integers(0, 2**40))), rates


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_constraints_always_hold(scenario):
    pool, slots, terms, cooled, spec, rates = scenario
    result = allocate(pool, slots=slots, terms=terms, cooled=cooled, strategy=spec, rates=rates)
    assert sorted(result["account_id"].to_list()) == sorted(pool["account_id"].to_list())
    rows = result.join(pool, on="account_id")
    by_id = {s.agency_id: s for s in slots}
    cooled_pairs = set(cooled.iter_rows())
    arm_names = ({spec.params["champion"]["name"], spec.params["challenger"]["name"]}
                 if spec.name == "champion_challenger" else {spec.name})
    for row in rows.iter_rows(named=True):
        if row["agency_id"] is None:
            assert row["reason"] in UNALLOCATED_REASONS and row["contract_id"] is None
            continue
        assert row["reason"] is None
        contract = next(t for t in terms if t.contract_id == row["contract_id"])
        assert contract.agency_id == row["agency_id"] and contract.permits(row["bucket"], row["region"])
        assert (row["account_id"], row["agency_id"]) not in cooled_pairs
        if arm_names == {"region_match"}:
            assert row["region"] in by_id[row["agency_id"]].regions_served
    placed = rows.filter(pl.col("agency_id").is_not_null())
    for agency_id, cases, fen in placed.group_by("agency_id").agg(pl.len(), pl.col("balance_fen").sum()).iter_rows():
        assert cases <= by_id[agency_id].cases_left and fen <= by_id[agency_id].balance_left_fen
    assert result.sort("account_id").equals(
        allocate(pool, slots=slots, terms=terms, cooled=cooled, strategy=spec, rates=rates).sort("account_id"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 300), st.lists(st.integers(0, 120), min_size=1, max_size=6), st.integers(0, 1000))
def test_count_strategies_leave_nothing_out_while_an_allowed_agency_has_room(n, capacities, seed):
    pool = make_pool(n)
    slots = [make_slot(i + 1, cases=cases) for i, cases in enumerate(capacities)]
    for name in ("equal_count", "capacity_weighted", "balanced_amount"):
        per_agency = counts(run(pool, slots, name=name, seed=seed))
        assert sum(per_agency.values()) == min(n, sum(capacities))


# --- building blocks ------------------------------------------------------------------------


def test_random_key_is_splitmix64_in_polars_and_python():
    ids = [0, 1, 2, 12345, 2**31 - 1, 2**40 + 17]
    keys = pl.DataFrame({"id": ids}).select(random_key(pl.col("id"), 99))["id"].to_list()
    assert keys == [splitmix64(i ^ splitmix64(99)) for i in ids]


def test_water_fill_levels_counts_by_weight():
    assert water_fill(10, loads=[0, 0, 0], weights=[Fraction(1)] * 3, rooms=[100] * 3, ranks=[0, 1, 2]) in (
        [4, 3, 3], [3, 4, 3], [3, 3, 4])
    assert water_fill(6, loads=[5, 0, 0], weights=[Fraction(1)] * 3, rooms=[100] * 3, ranks=[0, 1, 2]) == [0, 3, 3]
    assert water_fill(9, loads=[0, 0], weights=[Fraction(2), Fraction(1)], rooms=[100, 100], ranks=[0, 1]) == [6, 3]
    assert water_fill(9, loads=[0, 0], weights=[Fraction(2), Fraction(1)], rooms=[2, 100], ranks=[0, 1]) == [2, 7]
    assert water_fill(9, loads=[0, 0], weights=[Fraction(1), Fraction(0)], rooms=[4, 100], ranks=[0, 1]) == [4, 5]
    assert water_fill(50, loads=[0, 0], weights=[Fraction(1), Fraction(1)], rooms=[4, 5], ranks=[0, 1]) == [4, 5]


# --- the strategy as data -------------------------------------------------------------------


@pytest.mark.parametrize("data,column", [
    ({"name": "round_robin"}, "name"),
    ({"name": "equal_count", "params": {"x": 1}}, "params"),
    ({"name": "performance_weighted", "params": {"floor": "2"}}, "params"),
    ({"name": "champion_challenger", "params": {"champion": {"name": "equal_count"},
                                                "challenger": {"name": "equal_count"}, "challenger_share": "1"}},
     "params"),
    ({"name": "champion_challenger", "params": {"champion": {"name": "champion_challenger"},
                                                "challenger": {"name": "equal_count"}, "challenger_share": "0.5"}},
     "params"),
    ({"name": "equal_count", "seed": -1}, "seed"),
])
def test_invalid_strategies_are_refused(data, column):
    from weiwai.errors import InputRejected
    from weiwai.placements.rules_file import validate_model

    with pytest.raises(InputRejected) as caught:
        validate_model(StrategySpec, data, file="strategy.json")
    assert [e.column for e in caught.value.errors] == [column]


def test_strategy_defaults_are_spelled_out():
    spec = StrategySpec(name="region_match")
    assert spec.as_data() == {"name": "region_match", "params": {"split": "equal_count"}, "seed": 0}
