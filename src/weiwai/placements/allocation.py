"""Allocation (分案): which agency gets which screened account. Pure: no database.

Input: the pool (account_id, balance_fen, bucket, band, region), the agencies as `Slot`s
with their free capacity, their usable contracts (`Terms`), the (account, agency) pairs
in cooling-off, and a `StrategySpec`. Output: one row per account with agency_id and
contract_id, or the reason it stayed unallocated, and the arm it was allocated under.

How it stays fast: accounts with the same allowed agencies form a class
(`eligibility.classify`). Count strategies decide per class how many accounts each agency
gets (water-filling towards equal levels of count ÷ weight, exact in fractions) and hand
the class's accounts out in blocks in random order; `balanced_amount` deals each class's
accounts, largest first, in snake order to the least-loaded agencies. Capacity is then
checked per agency on cumulative counts and balances; an agency that could not take all it
was offered is full, and what it refused goes round again to the others. Last, capacity
the strategy left idle is filled by rerouting whole classes (`rerouting`).

Randomness is a hash of (account id, seed) — splitmix64, the same in Python and polars (a
unit test holds the two together) — so an allocation depends only on the seed and the
data, not on row order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from math import floor

import polars as pl

from weiwai.placements.eligibility import CAPACITY, Slot, Terms, classify, contract_table
from weiwai.placements.rerouting import reroute
from weiwai.placements.strategy import (
    ChampionChallengerParams,
    PerformanceParams,
    RegionMatchParams,
    StrategySpec,
    arm_spec,
)

POOL_SCHEMA = {
    "account_id": pl.Int64(),
    "balance_fen": pl.Int64(),
    "bucket": pl.String(),
    "band": pl.String(),
    "region": pl.String(),
}
RESULT_SCHEMA = {
    "account_id": pl.Int64(),
    "agency_id": pl.Int64(),
    "contract_id": pl.Int64(),
    "arm": pl.String(),
    "reason": pl.String(),
}
# Latest recovery rate by amount per (agency_id, bucket, band, region); "*" = rolled up.
RateTable = Mapping[tuple[int, str, str, str], Fraction]

_MASK = (1 << 64) - 1
_ARM_STREAM = 0xA5A5_5A5A_C3C3_3C3C


def splitmix64(value: int) -> int:
    """The splitmix64 finaliser: a well-mixed 64-bit hash of an integer."""
    z = (value + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def random_key(ids: pl.Expr, seed: int) -> pl.Expr:
    """splitmix64(id XOR splitmix64(seed)) in polars, whose UInt64 arithmetic wraps as in C;
    shifts are floor divisions by powers of two."""

    def lit(value: int) -> pl.Expr:
        return pl.lit(value, dtype=pl.UInt64)

    z = ids.cast(pl.UInt64).xor(lit(splitmix64(seed))) + lit(0x9E3779B97F4A7C15)
    z = z.xor(z // lit(1 << 30)) * lit(0xBF58476D1CE4E5B9)
    z = z.xor(z // lit(1 << 27)) * lit(0x94D049BB133111EB)
    return z.xor(z // lit(1 << 31))


def allocate(
    pool: pl.DataFrame,
    *,
    slots: Sequence[Slot],
    terms: Sequence[Terms],
    cooled: pl.DataFrame,
    strategy: StrategySpec,
    rates: RateTable | None = None,
) -> pl.DataFrame:
    """Allocate every account of the pool: one result row per account (RESULT_SCHEMA), in no
    particular order."""
    # Everything below keeps this order, so "first" always means "first in random order"
    # without sorting a million rows again.
    pool = pool.select(list(POOL_SCHEMA)).with_columns(key=random_key(pl.col("account_id"), strategy.seed)).sort("key")
    if strategy.name != "champion_challenger":
        return _allocate_arm(pool, slots=slots, terms=terms, cooled=cooled, spec=strategy, rates=rates,
                             arm=strategy.name)
    params = strategy.parsed()
    assert isinstance(params, ChampionChallengerParams)
    share = Fraction(params.challenger_share)
    challengers = floor(pool.height * share + Fraction(1, 2))
    in_challenger = random_key(pl.col("account_id"), strategy.seed ^ _ARM_STREAM).rank("ordinal") <= challengers
    challenger_slots = [
        replace(s, cases_left=floor(s.cases_left * share), balance_left_fen=floor(s.balance_left_fen * share))
        for s in slots
    ]
    champion_slots = [
        replace(s, cases_left=s.cases_left - c.cases_left, balance_left_fen=s.balance_left_fen - c.balance_left_fen)
        for s, c in zip(slots, challenger_slots, strict=True)
    ]
    split = pool.with_columns(challenger=in_challenger)
    return pl.concat([
        _allocate_arm(split.filter(~pl.col("challenger")).drop("challenger"), slots=champion_slots, terms=terms,
                      cooled=cooled, spec=arm_spec(params.champion, strategy.seed), rates=rates, arm="champion"),
        _allocate_arm(split.filter(pl.col("challenger")).drop("challenger"), slots=challenger_slots, terms=terms,
                      cooled=cooled, spec=arm_spec(params.challenger, strategy.seed), rates=rates,
                      arm="challenger"),
    ])


# --- one arm ----------------------------------------------------------------------------


@dataclass
class _Book:
    """Capacity bookkeeping of one arm: what each slot may take, has taken, and if it is full."""

    room_cases: list[int]
    room_fen: list[int]
    taken: list[int] = field(default_factory=list)
    taken_fen: list[int] = field(default_factory=list)
    full: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        size = len(self.room_cases)
        self.taken, self.taken_fen = [0] * size, [0] * size
        self.full = [cases <= 0 or fen <= 0 for cases, fen in zip(self.room_cases, self.room_fen, strict=True)]

    def cases_free(self, slot: int) -> int:
        return self.room_cases[slot] - self.taken[slot]

    def fen_free(self, slot: int) -> int:
        return self.room_fen[slot] - self.taken_fen[slot]

    def open_slots(self, members: Sequence[int]) -> list[int]:
        return [s for s in members if not self.full[s] and self.cases_free(s) > 0]


def _allocate_arm(
    pool: pl.DataFrame,
    *,
    slots: Sequence[Slot],
    terms: Sequence[Terms],
    cooled: pl.DataFrame,
    spec: StrategySpec,
    rates: RateTable | None,
    arm: str,
) -> pl.DataFrame:
    name, params = spec.name, spec.parsed()
    if isinstance(params, RegionMatchParams):
        name = params.split
    classified, members, pair_keys = classify(pool, slots=slots, terms=terms, cooled=cooled,
                                              region_match=spec.name == "region_match")
    blocked = classified.filter(pl.col("cls") < 0).select("account_id", reason=pl.col("blocked"))
    strata = ["bucket", "band", "region"] if name == "performance_weighted" else []
    work = classified.filter(pl.col("cls") >= 0).select("account_id", "balance_fen", "pair", "cls", *strata)
    book = _Book(room_cases=[s.cases_left for s in slots], room_fen=[s.balance_left_fen for s in slots])
    propose = _proposer(name, params, slots=slots, members=members, rank=_slot_ranks(slots, spec.seed), rates=rates)
    accepted, stuck = [], []
    offset = 0  # so that positions (priorities) of later rounds come after earlier ones
    for _round in range(len(slots) + 1):
        if work.height == 0:
            break
        proposed = propose(work, book).with_columns(pos=pl.col("pos").cast(pl.Int64) + offset)
        offset += proposed.height
        stuck.append(proposed.filter(pl.col("slot") < 0).select(_WAITING))
        taken, work = _accept(proposed.filter(pl.col("slot") >= 0), book)
        accepted.append(taken)
    stuck.append(work.select(_WAITING))
    placed, waiting = _fill_idle_capacity(_concat(accepted, _PLACED_SCHEMA), _concat(stuck, _WAITING_SCHEMA),
                                          book=book, members=members)
    contracts = contract_table(pair_keys, slots=slots, terms=terms)
    return _result(placed, waiting, blocked, slots=slots, contracts=contracts, arm=arm)


_WAITING = ("account_id", "cls", "pair", "balance_fen")
_WAITING_SCHEMA = {"account_id": pl.Int64, "cls": pl.Int32, "pair": pl.Int32, "balance_fen": pl.Int64}
_PLACED_SCHEMA = {**_WAITING_SCHEMA, "slot": pl.Int32, "pos": pl.Int64}


def _concat(parts: list[pl.DataFrame], schema: dict) -> pl.DataFrame:
    parts = [part.select(list(schema)).cast(schema) for part in parts if part.height]
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def _fill_idle_capacity(
    placed: pl.DataFrame, waiting: pl.DataFrame, *, book: _Book, members: Sequence[tuple[int, ...]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Reroute classes (see `rerouting`) so that accounts left out for capacity take what
    agencies still have free; rerouted accounts come last for the balance check."""
    room = [0 if book.full[s] else book.cases_free(s) for s in range(len(book.taken))]
    if waiting.height == 0 or not any(room):
        return placed, waiting
    counts = {(cls, slot): n for cls, slot, n in placed.group_by("cls", "slot").agg(pl.len()).iter_rows()}
    left_out = dict(waiting.group_by("cls").agg(pl.len()).iter_rows())
    moves = reroute(counts, left_out, room, members)
    if not moves:
        return placed, waiting
    next_pos = (placed["pos"].max() or 0) + 1
    for move in moves:
        if move.from_slot is None:
            chosen = waiting.filter(pl.col("cls") == move.cls).head(move.count)
            waiting = waiting.join(chosen.select("account_id"), on="account_id", how="anti", maintain_order="left")
            placed = pl.concat([placed, chosen.with_columns(
                slot=pl.lit(move.to_slot, dtype=pl.Int32),
                pos=pl.int_range(next_pos, next_pos + chosen.height, dtype=pl.Int64),
            ).select(list(_PLACED_SCHEMA))])
        else:
            # The least favoured accounts of the class at that agency move.
            chosen = (placed.filter((pl.col("cls") == move.cls) & (pl.col("slot") == move.from_slot))
                      .sort("pos", descending=True).head(move.count).select("account_id")
                      .with_columns(new_pos=pl.int_range(next_pos, next_pos + move.count, dtype=pl.Int64)))
            placed = placed.join(chosen, on="account_id", how="left", maintain_order="left").with_columns(
                slot=pl.when(pl.col("new_pos").is_not_null()).then(pl.lit(move.to_slot, dtype=pl.Int32))
                .otherwise(pl.col("slot")),
                pos=pl.coalesce("new_pos", "pos"),
            ).drop("new_pos")
        next_pos += move.count
    # Rerouting keeps every agency within its case capacity; balances may differ.
    free_fen = pl.Series(book.room_fen, dtype=pl.Int64)
    checked = placed.sort("pos").with_columns(
        fits=pl.col("balance_fen").cum_sum().over("slot") <= pl.lit(free_fen).gather(pl.col("slot"))
    )
    cut = checked.filter(~pl.col("fits"))
    return checked.filter(pl.col("fits")).drop("fits"), pl.concat([waiting, cut.select(list(_WAITING_SCHEMA))])


def _slot_ranks(slots: Sequence[Slot], seed: int) -> list[int]:
    """A seeded order of the slots, to break ties without favouring the first agency listed."""
    order = sorted(range(len(slots)), key=lambda i: (splitmix64(slots[i].agency_id ^ splitmix64(seed)), i))
    ranks = [0] * len(slots)
    for position, slot in enumerate(order):
        ranks[slot] = position
    return ranks


Proposer = Callable[[pl.DataFrame, _Book], pl.DataFrame]
Weights = Callable[[tuple, list[int]], list[Fraction]]


def _proposer(name: str, params, *, slots, members, rank, rates) -> Proposer:
    if name == "balanced_amount":
        return lambda work, book: _propose_snake(work, book, members=members, rank=rank)
    group_by: tuple[str, ...] = ("cls",)
    if name == "capacity_weighted":
        capacity = [Fraction(max(s.cases_left, 0)) for s in slots]

        def weights(_group: tuple, open_slots: list[int]) -> list[Fraction]:
            return [capacity[s] for s in open_slots]
    elif name == "performance_weighted":
        assert isinstance(params, PerformanceParams)
        weights = _rate_weights(slots, rates or {}, Fraction(params.floor))
        group_by = ("cls", "bucket", "band", "region")
    else:
        def weights(_group: tuple, open_slots: list[int]) -> list[Fraction]:
            return [Fraction(1)] * len(open_slots)

    return lambda work, book: _propose_quota(work, book, members=members, rank=rank, weights=weights,
                                             group_by=group_by)


def _rate_weights(slots: Sequence[Slot], rates: RateTable, floor_weight: Fraction) -> Weights:
    """Weights from the latest scorecards: an agency with no figure for the stratum counts as
    the average of those that have one; with no figures at all, everyone weighs the same."""

    def rate_of(agency_id: int, bucket: str, band: str, region: str) -> Fraction | None:
        for key in ((bucket, band, region), (bucket, band, "*"), (bucket, "*", "*"), ("*", "*", "*")):
            found = rates.get((agency_id, *key))
            if found is not None:
                return found
        return None

    def weights(group: tuple, open_slots: list[int]) -> list[Fraction]:
        _cls, bucket, band, region = group
        known = [rate_of(slots[s].agency_id, bucket, band, region) for s in open_slots]
        present = [rate for rate in known if rate is not None]
        if not present:
            return [Fraction(1)] * len(open_slots)
        average = sum(present, Fraction(0)) / len(present)
        return [max(average if rate is None else rate, floor_weight) for rate in known]

    return weights


def _propose_quota(
    work: pl.DataFrame,
    book: _Book,
    *,
    members: Sequence[tuple[int, ...]],
    rank: Sequence[int],
    weights: Weights,
    group_by: tuple[str, ...],
) -> pl.DataFrame:
    """Per group, quotas by water-filling; then the group's accounts, in their (random)
    order, in consecutive blocks: the first q1 to one agency, the next q2 to another…"""
    groups = work.group_by(list(group_by)).agg(n=pl.len()).sort(list(group_by))
    plans = [(len(book.open_slots(members[row[0]])), row[:-1], row[-1]) for row in groups.iter_rows()]
    # The most constrained groups first, so that the flexible ones can even out the totals.
    plans.sort(key=lambda plan: (plan[0], plan[1]))
    proposed = [0] * len(rank)
    seg_start: list[int] = []
    seg_slot: list[int] = []
    offsets = []
    offset = 0
    for _open_count, group, n in plans:
        offsets.append((*group, offset))
        open_slots = book.open_slots(members[group[0]])
        quotas = water_fill(
            n,
            loads=[book.taken[s] + proposed[s] for s in open_slots],
            weights=weights(group, open_slots),
            rooms=[book.cases_free(s) - proposed[s] for s in open_slots],
            ranks=[rank[s] for s in open_slots],
        ) if open_slots else []
        start = offset
        for slot, quota in sorted(zip(open_slots, quotas, strict=True), key=lambda item: rank[item[0]]):
            if quota > 0:
                seg_start.append(start)
                seg_slot.append(slot)
                start += quota
                proposed[slot] += quota
        if start < offset + n:
            seg_start.append(start)
            seg_slot.append(-1)
        offset += n
    offset_frame = pl.DataFrame(offsets, schema=[*group_by, "offset"], orient="row").with_columns(
        pl.col("cls").cast(pl.Int32), pl.col("offset").cast(pl.Int64)
    )
    placed = work.join(offset_frame, on=list(group_by), how="left", maintain_order="left").with_columns(
        pos=pl.col("offset") + pl.col("cls").cum_count().over(list(group_by)) - 1
    )
    segment = pl.Series(seg_start, dtype=pl.Int64).search_sorted(placed["pos"], side="right") - 1
    return placed.drop("offset").with_columns(slot=pl.Series(seg_slot, dtype=pl.Int32).gather(segment))


def _propose_snake(
    work: pl.DataFrame, book: _Book, *, members: Sequence[tuple[int, ...]], rank: Sequence[int]
) -> pl.DataFrame:
    """Per class, largest balances first, dealt in snake order (0…m-1, m-1…0, …) to the
    open slots ordered from least to most loaded: amounts end up close to equal."""
    proposed_fen = [0] * len(rank)
    parts = []
    offset = 0
    by_class = work.partition_by("cls", as_dict=True)
    for cls in sorted(by_class, key=lambda c: (len(book.open_slots(members[c[0]])), c)):
        # A stable sort: equal balances stay in random order.
        part = by_class[cls].sort("balance_fen", descending=True, maintain_order=True)
        open_slots = book.open_slots(members[cls[0]])
        row = pl.int_range(0, pl.len(), dtype=pl.Int64)
        if not open_slots:
            part = part.with_columns(slot=pl.lit(-1, dtype=pl.Int32))
        else:
            dealt = sorted(open_slots, key=lambda s: (book.taken_fen[s] + proposed_fen[s], rank[s]))
            m = len(dealt)
            turn = row % m
            index = pl.when((row // m) % 2 == 0).then(turn).otherwise(m - 1 - turn)
            part = part.with_columns(slot=pl.lit(pl.Series(dealt, dtype=pl.Int32)).gather(index))
            for slot, amount in part.group_by("slot").agg(pl.col("balance_fen").sum()).iter_rows():
                proposed_fen[slot] += amount
        parts.append(part.with_columns(pos=row + offset))
        offset += part.height
    return pl.concat(parts)


def _accept(proposed: pl.DataFrame, book: _Book) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per slot, in proposal order, keep what fits its free cases and balance; slots that had
    to refuse something are full from now on. Returns (accepted, refused)."""
    totals = proposed.group_by("slot").agg(pl.len(), pl.col("balance_fen").sum()).rows()
    over = [slot for slot, count, amount in totals if count > book.cases_free(slot) or amount > book.fen_free(slot)]
    if not over:
        accepted, refused = proposed, proposed.clear()
    else:
        # Only the slots offered too much need the (sorting) prefix check.
        free_cases = pl.Series([book.cases_free(s) for s in range(len(book.taken))], dtype=pl.Int64)
        free_fen = pl.Series([book.fen_free(s) for s in range(len(book.taken))], dtype=pl.Int64)
        checked = proposed.filter(pl.col("slot").is_in(over)).sort("pos").with_columns(
            fits=(pl.col("slot").cum_count().over("slot") <= pl.lit(free_cases).gather(pl.col("slot")))
            & (pl.col("balance_fen").cum_sum().over("slot") <= pl.lit(free_fen).gather(pl.col("slot")))
        )
        accepted = pl.concat([
            proposed.filter(~pl.col("slot").is_in(over)),
            checked.filter(pl.col("fits")).drop("fits"),
        ])
        refused = checked.filter(~pl.col("fits")).drop("fits")
        for slot in over:
            book.full[slot] = True
    for slot, count, amount in accepted.group_by("slot").agg(pl.len(), pl.col("balance_fen").sum()).iter_rows():
        book.taken[slot] += count
        book.taken_fen[slot] += amount
    return accepted.select(list(_PLACED_SCHEMA)), refused.drop("slot", "pos")


def _result(
    placed: pl.DataFrame,
    waiting: pl.DataFrame,
    blocked: pl.DataFrame,
    *,
    slots: Sequence[Slot],
    contracts: pl.Series,
    arm: str,
) -> pl.DataFrame:
    agency_of = pl.Series([s.agency_id for s in slots], dtype=pl.Int64)
    taken = placed.select(
        "account_id",
        agency_id=pl.lit(agency_of).gather(pl.col("slot")),
        contract_id=pl.lit(contracts).gather(pl.col("pair").cast(pl.Int64) * len(slots) + pl.col("slot")),
        arm=pl.lit(arm),
        reason=pl.lit(None, dtype=pl.String),
    )
    unallocated = pl.concat([
        waiting.select("account_id", reason=pl.lit(CAPACITY)),
        blocked.select("account_id", "reason"),
    ]).select(
        "account_id",
        agency_id=pl.lit(None, dtype=pl.Int64),
        contract_id=pl.lit(None, dtype=pl.Int64),
        arm=pl.lit(arm),
        reason=pl.col("reason"),
    )
    return pl.concat([taken.cast(RESULT_SCHEMA), unallocated.cast(RESULT_SCHEMA)])


# --- quotas -----------------------------------------------------------------------------


def water_fill(
    n: int, *, loads: Sequence[int], weights: Sequence[Fraction], rooms: Sequence[int], ranks: Sequence[int]
) -> list[int]:
    """Give n units to slots so that (load + given) / weight is as level as possible.

    Each slot gets at most its room. The continuous level is found exactly; the integer
    remainder goes to the largest fractional shares (then the least loaded, then by rank).
    Slots of weight zero get something only when the others are full.
    """
    k = len(loads)
    if sum(rooms) <= n:
        return list(rooms)
    positive = [i for i in range(k) if weights[i] > 0]
    if not positive:
        return water_fill(n, loads=loads, weights=[Fraction(1)] * k, rooms=rooms, ranks=ranks)
    positive_room = sum(rooms[i] for i in positive)
    if positive_room <= n:
        rest = [i for i in range(k) if weights[i] <= 0]
        extra = water_fill(n - positive_room, loads=[loads[i] for i in rest], weights=[Fraction(1)] * len(rest),
                           rooms=[rooms[i] for i in rest], ranks=[ranks[i] for i in rest])
        given = [0] * k
        for i in positive:
            given[i] = rooms[i]
        for i, amount in zip(rest, extra, strict=True):
            given[i] = amount
        return given
    level = _level(n, [(Fraction(loads[i]), Fraction(weights[i]), rooms[i]) for i in positive])
    shares = [Fraction(0)] * k
    for i in positive:
        shares[i] = min(max(level * weights[i] - loads[i], Fraction(0)), Fraction(rooms[i]))
    given = [floor(share) for share in shares]
    remainder = n - sum(given)
    by_need = sorted(range(k), key=lambda i: (-(shares[i] - given[i]), loads[i], ranks[i]))
    for i in by_need[:remainder]:
        given[i] += 1
    return given


def _level(n: int, slots: list[tuple[Fraction, Fraction, int]]) -> Fraction:
    """The level L at which sum(clamp(L*w - load, 0, room)) = n (n < total room)."""
    points = sorted({load / weight for load, weight, _ in slots} | {(load + room) / weight for load, weight, room in slots})

    def filled(level: Fraction) -> Fraction:
        return sum((min(max(level * w - load, Fraction(0)), Fraction(room)) for load, w, room in slots), Fraction(0))

    previous = points[0]
    for point in points:
        if filled(point) >= n:
            break
        previous = point
    # Between two breakpoints the filling grows linearly with the weights of the slots
    # that are neither empty nor at their room.
    slope = sum(
        (w for load, w, room in slots if load / w <= previous < (load + room) / w), Fraction(0)
    )
    return previous + (n - filled(previous)) / slope if slope else previous
