"""Capacity a strategy left idle is used: allocation places as many accounts as the
constraints allow (a maximum flow), whatever the strategy."""

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weiwai.placements.allocation import allocate, splitmix64
from weiwai.placements.eligibility import Slot, Terms
from weiwai.placements.rerouting import Move, reroute
from weiwai.placements.strategy import StrategySpec

BUCKETS = ["M1", "M2", "M3"]
NO_COOLING = pl.DataFrame(schema={"account_id": pl.Int64, "agency_id": pl.Int64})


def test_early_accounts_make_room_for_late_ones():
    # Class 0 (early) may go to slots 0 and 1, class 1 (late) only to slot 1, which the
    # early accounts filled; slot 0 is idle.
    moves = reroute({(0, 1): 5}, {1: 5}, room=[5, 0], members=[(0, 1), (1,)])
    assert moves == [Move(cls=1, from_slot=None, to_slot=1, count=5), Move(cls=0, from_slot=1, to_slot=0, count=5)]


def test_nothing_to_do_without_room_or_without_a_path():
    assert reroute({(0, 0): 3}, {0: 2}, room=[0, 0], members=[(0,), (1,)]) == []
    assert reroute({(0, 0): 3}, {0: 2}, room=[0, 4], members=[(0,), (1,)]) == []


def test_longer_paths_and_partial_room():
    # c0 -> s0 (full, holds c1) -> c1 -> s1 (full, holds c2) -> c2 -> s2 (room 2)
    moves = reroute({(1, 0): 4, (2, 1): 4}, {0: 3}, room=[0, 0, 2], members=[(0,), (0, 1), (1, 2)])
    assert moves == [Move(0, None, 0, 2), Move(1, 0, 1, 2), Move(2, 1, 2, 2)]


def max_placeable(accounts, slots, allowed) -> int:
    """Maximum b-matching by plain augmenting paths on the account level (independent check)."""
    holder: dict[int, list[int]] = {slot: [] for slot in range(len(slots))}

    def augment(account, seen) -> bool:
        for slot in allowed[account]:
            if slot in seen:
                continue
            seen.add(slot)
            if len(holder[slot]) < slots[slot]:
                holder[slot].append(account)
                return True
            for other in list(holder[slot]):
                if augment(other, seen):
                    holder[slot].remove(other)
                    holder[slot].append(account)
                    return True
        return False

    return sum(augment(account, set()) for account in accounts)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 60),
    st.lists(st.tuples(st.integers(0, 25), st.lists(st.sampled_from(BUCKETS), min_size=1, unique=True)),
             min_size=1, max_size=5),
    st.sampled_from(["equal_count", "balanced_amount", "capacity_weighted", "performance_weighted"]),
    st.integers(0, 99),
)
def test_as_many_accounts_are_placed_as_capacity_and_contracts_allow(n, agencies, name, seed):
    ids = list(range(1, n + 1))
    pool = pl.DataFrame({
        "account_id": ids,
        "balance_fen": [100 + splitmix64(i) % 10_000 for i in ids],
        "bucket": [BUCKETS[splitmix64(i + seed) % 3] for i in ids],
        "band": ["0-2k"] * n,
        "region": ["广东"] * n,
    })
    slots = [Slot(agency_id=i + 1, code=f"A{i}", cases_left=cap, balance_left_fen=10**12,
                  regions_served=frozenset({"广东"})) for i, (cap, _b) in enumerate(agencies)]
    terms = [Terms(contract_id=i + 1, agency_id=i + 1, buckets=frozenset(b), regions=frozenset())
             for i, (_cap, b) in enumerate(agencies)]
    result = allocate(pool, slots=slots, terms=terms, cooled=NO_COOLING, strategy=StrategySpec(name=name, seed=seed))
    placed = result.filter(pl.col("agency_id").is_not_null()).height
    buckets = dict(zip(ids, pool["bucket"].to_list(), strict=True))
    allowed = {i: [s for s, (_cap, b) in enumerate(agencies) if buckets[i] in b] for i in ids}
    assert placed == max_placeable(ids, [cap for cap, _b in agencies], allowed)
