"""Which agencies may take which accounts: the constraints every allocation respects.

An agency may take an account only under one of its usable contracts (active, in term,
signed) that permits the account's bucket and region; never if it returned the account
within the cooling-off days; and, with region matching, only in a region it serves.
(Agency status and free capacity are the allocation's inputs: see `Slot`.)

Accounts with the same set of allowed agencies form a class; the allocation works on
classes, so a million accounts need only as many decisions as there are classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

NO_CONTRACT = "no_contract"
REGION_NOT_SERVED = "region_not_served"
COOLING_OFF = "cooling_off"
CAPACITY = "capacity"
UNALLOCATED_REASONS = (NO_CONTRACT, REGION_NOT_SERVED, COOLING_OFF, CAPACITY)


def unallocated_labels() -> dict[str, str]:
    from weiwai.i18n import _

    return {
        NO_CONTRACT: _("no usable contract permits the bucket and region"),
        REGION_NOT_SERVED: _("no agency serves the region"),
        COOLING_OFF: _("returned by the agency within the cooling-off days"),
        CAPACITY: _("agencies at capacity"),
    }


@dataclass(frozen=True)
class Slot:
    """An active agency as allocation sees it: what it may still take."""

    agency_id: int
    code: str
    cases_left: int
    balance_left_fen: int
    regions_served: frozenset[str]


@dataclass(frozen=True)
class Terms:
    """A usable contract: the buckets and regions it permits (no regions = every region)."""

    contract_id: int
    agency_id: int
    buckets: frozenset[str]
    regions: frozenset[str]

    def permits(self, bucket: str, region: str) -> bool:
        return bucket in self.buckets and (not self.regions or region in self.regions)


def contract_for(agency_id: int, terms: Sequence[Terms], bucket: str, region: str) -> int | None:
    """The agency's usable contract (lowest id first) that permits bucket and region."""
    ids = sorted(t.contract_id for t in terms if t.agency_id == agency_id and t.permits(bucket, region))
    return ids[0] if ids else None


def classify(
    pool: pl.DataFrame,
    *,
    slots: Sequence[Slot],
    terms: Sequence[Terms],
    cooled: pl.DataFrame,
    region_match: bool,
) -> tuple[pl.DataFrame, list[tuple[int, ...]], list[tuple[str, str]]]:
    """Add `pair` (id of the bucket and region), `cls` (class of allowed slots, -1 when
    none) and `blocked` (why none) to the pool, keeping its row order.

    Returns the pool, per class the indices of the slots allowed to take its accounts, and
    per pair id its (bucket, region). `cooled` lists (account_id, agency_id) pairs in the
    cooling-off window.
    """
    pairs = pool.select("bucket", "region").unique().sort("bucket", "region")
    pair_keys = [(bucket, region) for bucket, region in pairs.iter_rows()]
    classes: dict[tuple[int, ...], int] = {}

    def class_of(bucket: str, region: str, cooled_slots: frozenset[int]) -> tuple[int, str | None]:
        allowed, blocked = _allowed(bucket, region, cooled_slots, slots=slots, terms=terms, region_match=region_match)
        return (classes.setdefault(allowed, len(classes)), None) if allowed else (-1, blocked)

    base = [(pair, *class_of(bucket, region, frozenset())) for pair, (bucket, region) in enumerate(pair_keys)]
    mapping = pairs.with_columns(
        pair=pl.Series([row[0] for row in base], dtype=pl.Int32),
        cls=pl.Series([row[1] for row in base], dtype=pl.Int32),
        blocked=pl.Series([row[2] for row in base], dtype=pl.String),
    )
    classified = pool.join(mapping, on=["bucket", "region"], how="left", maintain_order="left")
    overrides = _cooling_off_classes(classified, cooled, slots, pair_keys, class_of)
    if overrides.height:
        classified = classified.join(overrides, on="account_id", how="left", maintain_order="left").with_columns(
            cls=pl.coalesce("cls_cooled", "cls"),
            blocked=pl.when(pl.col("cls_cooled").is_not_null()).then(pl.col("blocked_cooled"))
            .otherwise(pl.col("blocked")),
        ).drop("cls_cooled", "blocked_cooled")
    members = [members for members, _ in sorted(classes.items(), key=lambda item: item[1])]
    return classified, members, pair_keys


def contract_table(pair_keys: Sequence[tuple[str, str]], *, slots: Sequence[Slot], terms: Sequence[Terms]) -> pl.Series:
    """contract_id of slot s for pair p at index p * len(slots) + s (null when none)."""
    return pl.Series(
        [contract_for(slot.agency_id, terms, bucket, region) for bucket, region in pair_keys for slot in slots],
        dtype=pl.Int64,
    )


def _cooling_off_classes(classified, cooled, slots, pair_keys, class_of) -> pl.DataFrame:
    """The class of each account cooling off from some of the slots (few accounts)."""
    index = {slot.agency_id: i for i, slot in enumerate(slots)}
    cooling: dict[int, set[int]] = {}
    for account_id, agency_id in cooled.select("account_id", "agency_id").iter_rows():
        if agency_id in index:
            cooling.setdefault(account_id, set()).add(index[agency_id])
    rows = []
    if cooling:
        affected = classified.filter(pl.col("account_id").is_in(list(cooling))).select("account_id", "pair")
        for account_id, pair in affected.iter_rows():
            bucket, region = pair_keys[pair]
            rows.append((account_id, *class_of(bucket, region, frozenset(cooling[account_id]))))
    return pl.DataFrame(
        rows, schema={"account_id": pl.Int64, "cls_cooled": pl.Int32, "blocked_cooled": pl.String}, orient="row"
    )


def _allowed(
    bucket: str, region: str, cooled: frozenset[int], *, slots: Sequence[Slot], terms: Sequence[Terms],
    region_match: bool,
) -> tuple[tuple[int, ...], str | None]:
    permitted = [i for i, slot in enumerate(slots) if contract_for(slot.agency_id, terms, bucket, region) is not None]
    if not permitted:
        return (), NO_CONTRACT
    if region_match:
        permitted = [i for i in permitted if region in slots[i].regions_served]
        if not permitted:
            return (), REGION_NOT_SERVED
    allowed = tuple(i for i in permitted if i not in cooled)
    return (allowed, None) if allowed else ((), COOLING_OFF)
