"""Placement batches (委案批次): preview an allocation, keep it as a draft, confirm it.

`preview_placement` screens and allocates and writes nothing. `create_batch` keeps the
same allocation in a draft batch (in `summary["allocation"]`: account ids per agency,
contract and arm). `confirm_batch` checks everything again as it is now — every account
still passes the rules and is not placed, every agency is active with a usable contract
that permits the account, no cooling-off applies, capacities hold — and then writes all
cases and their first status in one go (COPY on PostgreSQL) and activates the batch. If
anything changed it refuses and writes nothing: the operator creates a new batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl
import psycopg
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency
from weiwai.db import utcnow
from weiwai.errors import Conflict, NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.placements import bulk_write
from weiwai.placements.agencies_view import AgencyView, agency_view, latest_rates
from weiwai.placements.allocation import allocate
from weiwai.placements.common import money_of
from weiwai.placements.eligibility import unallocated_labels
from weiwai.placements.lifecycle import transition_batch
from weiwai.placements.models import OPEN_CASE_STATUSES, BatchStatus, Case, PlacementBatch, ScreeningRuleSet
from weiwai.placements.schemas import (
    AgencyAllocation,
    BatchRead,
    PlacementPreview,
    ReasonTally,
    SkippedAgency,
    Tally,
)
from weiwai.placements.screening import REASON_CODES, ScreeningRules, reason_label
from weiwai.placements.screening_frame import fail_column
from weiwai.placements.screening_service import rules_of, screen_book
from weiwai.placements.screening_sql import returned_within
from weiwai.placements.strategy import StrategySpec
from weiwai.security import audit

PLACED_REASON = "placement batch confirmed"


@dataclass(frozen=True)
class Plan:
    """A screening and its allocation, in memory."""

    evaluated: pl.DataFrame
    allocation: pl.DataFrame  # account_id, agency_id, contract_id, arm, reason (+ balance_fen)
    agencies: AgencyView
    preview: PlacementPreview


def plan_placement(
    *,
    session: Session,
    rules: ScreeningRules,
    strategy: StrategySpec,
    as_of: date,
    agencies: list[str] | None = None,
) -> Plan:
    """Screen the book and allocate the eligible accounts; writes nothing."""
    evaluated = screen_book(session=session, rules=rules, as_of=as_of)
    view = agency_view(session=session, as_of=as_of, codes=agencies)
    pool = evaluated.filter(pl.col("eligible")).select(
        "account_id", balance_fen=pl.col("outstanding_fen"), bucket="bucket", band="band", region="region"
    )
    cooled = returned_within(session=session, as_of=as_of, days=rules.exclude.cooling_off_days)
    rates = latest_rates(session=session, agency_ids=[s.agency_id for s in view.slots]) \
        if _uses_performance(strategy) else None
    allocation = allocate(pool, slots=view.slots, terms=view.terms, cooled=cooled, strategy=strategy, rates=rates)
    allocation = allocation.join(pool.select("account_id", "balance_fen"), on="account_id", how="left")
    return Plan(evaluated=evaluated, allocation=allocation, agencies=view,
                preview=_preview(evaluated, allocation, view, strategy, as_of))


def preview_placement(
    *, session: Session, rules: ScreeningRules, strategy: StrategySpec, as_of: date, agencies: list[str] | None = None
) -> PlacementPreview:
    """Per agency counts and balances, and what stays unallocated and why; writes nothing."""
    return plan_placement(session=session, rules=rules, strategy=strategy, as_of=as_of, agencies=agencies).preview


def create_batch(
    *,
    session: Session,
    rule_set: ScreeningRuleSet,
    strategy: StrategySpec,
    as_of: date,
    actor: str,
    agencies: list[str] | None = None,
) -> PlacementBatch:
    """A draft batch holding the allocation the preview shows (no cases yet)."""
    plan = plan_placement(session=session, rules=rules_of(rule_set), strategy=strategy, as_of=as_of,
                          agencies=agencies)
    allocated = plan.allocation.filter(pl.col("agency_id").is_not_null())
    if allocated.height == 0:
        raise RuleViolation(_("nothing to place: no account could be allocated (see the preview)"),
                            code="nothing_allocated")
    groups = (
        allocated.group_by("agency_id", "contract_id", "arm")
        .agg(pl.col("account_id").sort())
        .sort("agency_id", "contract_id", "arm")
    )
    summary = plan.preview.model_dump(mode="json")
    summary["allocation"] = groups.to_dicts()
    batch = PlacementBatch(
        batch_no=next_batch_no(session, as_of),
        status=BatchStatus.draft,
        rule_set_id=rule_set.id,
        strategy=strategy.as_data(),
        as_of=as_of,
        summary=summary,
        created_by=actor,
    )
    session.add(batch)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(_("another batch took number {batch_no} at the same moment; try again").format(
            batch_no=batch.batch_no), code="batch_no_taken") from None
    return batch


def lock_agencies(session: Session, agency_ids: list[int]) -> None:
    """Hold the agencies' rows until commit, so that two placements with the same agency run
    one after the other and each sees the other's cases when it checks capacity."""
    if agency_ids:
        session.execute(select(Agency.id).where(Agency.id.in_(agency_ids)).order_by(Agency.id).with_for_update())


def confirm_batch(*, session: Session, batch_no: str, actor: str, at: datetime | None = None) -> PlacementBatch:
    """Re-check the draft's allocation against the data as it is now, then create every case
    (status placed, with history) and make the batch active. Refuses if anything changed."""
    at = at or utcnow()
    batch = _draft(session, batch_no)
    allocation = _stored_allocation(batch)
    lock_agencies(session, allocation["agency_id"].unique().to_list())
    rules = rules_of(session.get(ScreeningRuleSet, batch.rule_set_id))
    # Only the batch's accounts: confirming costs what the batch is, not what the book is.
    evaluated = screen_book(session=session, rules=rules, as_of=batch.as_of, account_ids=allocation["account_id"])
    agency_codes = list(session.scalars(
        select(Agency.code).where(Agency.id.in_(allocation["agency_id"].unique().to_list()))
    ))
    view = agency_view(session=session, as_of=batch.as_of, codes=agency_codes, strict=False)
    rows = allocation.join(evaluated, on="account_id", how="left")
    problems = _problems(session, rows, view, rules, batch.as_of)
    if problems:
        raise Conflict(
            _("batch {batch_no} can no longer be confirmed as allocated ({problems}); nothing was written. "
              "Discard it and create a new batch.").format(batch_no=batch.batch_no, problems="; ".join(problems)),
            code="batch_stale",
        )
    cases = _case_rows(rows, batch=batch, view=view, at=at)
    try:
        bulk_write.insert_cases(session, cases)
    except (IntegrityError, psycopg.errors.UniqueViolation):
        # Another placement of one of these accounts committed between our check and our
        # write; the open-case index refused the second one.
        raise Conflict(_("batch {batch_no}: an account was placed by someone else meanwhile; nothing was "
                         "written").format(batch_no=batch.batch_no), code="batch_stale") from None
    bulk_write.insert_first_history(session, batch_id=batch.id, actor=actor, at=at, reason=PLACED_REASON)
    transition_batch(batch=batch, to=BatchStatus.confirmed, actor=actor, at=at)
    transition_batch(batch=batch, to=BatchStatus.active, actor=actor, at=at)
    summary = {key: value for key, value in batch.summary.items() if key != "allocation"}
    summary["cases"] = cases.height
    batch.summary = summary
    audit.record(session=session, actor=actor, action="placement.confirm", entity="batch", entity_id=batch.batch_no,
                 details={"cases": cases.height, "agencies": sorted(agency_codes)})
    session.flush()
    return batch


def discard_batch(*, session: Session, batch_no: str, actor: str, at: datetime | None = None) -> PlacementBatch:
    """Close a draft without creating cases (its stored allocation is dropped)."""
    batch = _draft(session, batch_no)
    transition_batch(batch=batch, to=BatchStatus.closed, actor=actor, at=at)
    batch.summary = {key: value for key, value in batch.summary.items() if key != "allocation"} | {
        "discarded_by": actor
    }
    session.flush()
    return batch


def get_batch(*, session: Session, batch_no: str) -> PlacementBatch:
    batch = session.scalar(select(PlacementBatch).where(PlacementBatch.batch_no == batch_no.strip()))
    if batch is None:
        raise NotFound(_("no placement batch {batch_no}").format(batch_no=batch_no))
    return batch


def list_batches(*, session: Session, status: BatchStatus | None = None, limit: int = 50) -> list[PlacementBatch]:
    """Newest first."""
    query = select(PlacementBatch).order_by(PlacementBatch.id.desc()).limit(limit)
    if status is not None:
        query = query.where(PlacementBatch.status == BatchStatus(status).value)
    return list(session.scalars(query))


def batch_read(*, session: Session, batch: PlacementBatch) -> BatchRead:
    """A batch for display: the allocation itself is left out, its counts are in the summary."""
    counts = dict(session.execute(
        select(Case.status, func.count()).where(Case.batch_id == batch.id).group_by(Case.status)
    ).all())
    rule_set = session.get(ScreeningRuleSet, batch.rule_set_id)
    return BatchRead(
        batch_no=batch.batch_no,
        status=str(batch.status),
        as_of=batch.as_of,
        rule_set=f"{rule_set.name} v{rule_set.version}",
        strategy=batch.strategy,
        summary={key: value for key, value in batch.summary.items() if key != "allocation"},
        cases=sum(counts.values()),
        open_cases=sum(count for status, count in counts.items() if status in OPEN_CASE_STATUSES),
        created_by=batch.created_by,
        created_at=batch.created_at,
        confirmed_by=batch.confirmed_by,
        confirmed_at=batch.confirmed_at,
        activated_at=batch.activated_at,
        closed_at=batch.closed_at,
    )


def next_batch_no(session: Session, as_of: date) -> str:
    """B<YYYYMMDD>-<n>: the n-th batch of the placement day."""
    prefix = f"B{as_of:%Y%m%d}-"
    taken = session.scalars(select(PlacementBatch.batch_no).where(PlacementBatch.batch_no.like(f"{prefix}%"))).all()
    numbers = [int(no[len(prefix):]) for no in taken if no[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


def case_no_prefix(batch_no: str) -> str:
    """Cases of batch B20240301-2 are C20240301-2-000001, C20240301-2-000002, …"""
    return f"C{batch_no[1:]}-"


# --- internals ---------------------------------------------------------------------------


def _uses_performance(strategy: StrategySpec) -> bool:
    if strategy.name == "performance_weighted":
        return True
    if strategy.name == "champion_challenger":
        return "performance_weighted" in {strategy.params["champion"]["name"], strategy.params["challenger"]["name"]}
    return False


def _draft(session: Session, batch_no: str) -> PlacementBatch:
    batch = session.scalar(
        select(PlacementBatch).where(PlacementBatch.batch_no == batch_no.strip()).with_for_update()
    )
    if batch is None:
        raise NotFound(_("no placement batch {batch_no}").format(batch_no=batch_no))
    if batch.status != BatchStatus.draft:
        raise Conflict(_("batch {batch_no} is {status}, not a draft").format(
            batch_no=batch.batch_no, status=batch.status), code="batch_not_draft")
    return batch


def _preview(
    evaluated: pl.DataFrame, allocation: pl.DataFrame, view: AgencyView, strategy: StrategySpec, as_of: date
) -> PlacementPreview:
    eligible = evaluated.filter(pl.col("eligible"))
    allocated = allocation.filter(pl.col("agency_id").is_not_null())
    per_arm: dict[int, dict[str, int]] = {}
    for agency_id, arm, cases in allocated.group_by("agency_id", "arm").agg(pl.len()).iter_rows():
        per_arm.setdefault(agency_id, {})[arm] = cases
    fen = dict(allocated.group_by("agency_id").agg(pl.col("balance_fen").sum()).iter_rows())
    labels = unallocated_labels()
    missed = allocation.filter(pl.col("reason").is_not_null()).group_by("reason").agg(
        pl.len(), pl.col("balance_fen").sum()).sort("reason")
    arms = allocated.group_by("arm").agg(pl.len(), pl.col("balance_fen").sum()).sort("arm")
    return PlacementPreview(
        as_of=as_of,
        strategy=strategy.as_data(),
        screened=evaluated.height,
        eligible=eligible.height,
        eligible_balance=money_of(eligible["outstanding_fen"].sum() or 0),
        allocated=allocated.height,
        allocated_balance=money_of(allocated["balance_fen"].sum() or 0),
        agencies=[
            AgencyAllocation(
                agency_id=slot.agency_id,
                code=slot.code,
                cases=sum(per_arm.get(slot.agency_id, {}).values()),
                balance=money_of(fen.get(slot.agency_id, 0)),
                cases_free_before=slot.cases_left,
                balance_free_before=money_of(slot.balance_left_fen),
                by_arm=per_arm.get(slot.agency_id, {}),
            )
            for slot in view.slots
        ],
        arms=[Tally(key=arm, count=count, balance=money_of(amount)) for arm, count, amount in arms.iter_rows()],
        unallocated=[
            ReasonTally(code=code, label=labels.get(code, code), count=count, balance=money_of(amount))
            for code, count, amount in missed.iter_rows()
        ],
        skipped_agencies=[SkippedAgency(code=code, reason=why) for code, why in view.skipped],
    )


def _stored_allocation(batch: PlacementBatch) -> pl.DataFrame:
    groups = batch.summary.get("allocation") or []
    schema = {"account_id": pl.Int64, "agency_id": pl.Int64, "contract_id": pl.Int64, "arm": pl.String}
    if not groups:
        return pl.DataFrame(schema=schema)
    frame = pl.DataFrame(groups, schema={**schema, "account_id": pl.List(pl.Int64)})
    return frame.explode("account_id").select(list(schema))


def _problems(session: Session, rows: pl.DataFrame, view: AgencyView, rules: ScreeningRules, as_of: date) -> list[str]:
    """Everything that stops the stored allocation from being confirmed now, counted by kind."""
    problems: list[str] = []

    def count(label: str, number: int) -> None:
        if number:
            problems.append(f"{label}: {number}")

    # Accounts that are gone from the open book, or fail the rules now.
    count(reason_label("not_open"), rows.filter(pl.col("eligible").is_null()).height)
    failing = rows.filter(pl.col("eligible").is_not_null() & ~pl.col("eligible"))
    for code in REASON_CODES:
        count(reason_label(code), failing.filter(pl.col(fail_column(code))).height)
    present = rows.filter(pl.col("eligible").is_not_null())
    # Agencies that may no longer take cases, and contracts that no longer permit the account.
    usable_agencies = {slot.agency_id for slot in view.slots}
    for code, why in view.skipped:
        problems.append(f"{code}: {why}")
    terms_by_id = {t.contract_id: t for t in view.terms}
    combos = present.filter(pl.col("agency_id").is_in(list(usable_agencies))).select(
        "contract_id", "bucket", "region").unique()
    refused = [
        (contract_id, bucket, region) for contract_id, bucket, region in combos.iter_rows()
        if contract_id not in terms_by_id or not terms_by_id[contract_id].permits(bucket, region)
    ]
    if refused:
        bad = pl.DataFrame(refused, schema={"contract_id": pl.Int64, "bucket": pl.String, "region": pl.String},
                           orient="row")
        count(_("contract no longer usable or no longer permits bucket and region"),
              present.join(bad, on=["contract_id", "bucket", "region"], how="semi").height)
    # Cooling-off that started after the draft was made.
    cooled = returned_within(session=session, as_of=as_of, days=rules.exclude.cooling_off_days)
    count(unallocated_labels()["cooling_off"],
          present.join(cooled, on=["account_id", "agency_id"], how="semi").height)
    # Capacity, with the cases opened since the draft and today's balances.
    totals = present.group_by("agency_id").agg(pl.len().alias("cases"), pl.col("outstanding_fen").sum().alias("fen"))
    for agency_id, cases, fen in totals.iter_rows():
        slot = view.slot_of(agency_id)
        if slot is not None and (cases > slot.cases_left or fen > slot.balance_left_fen):
            problems.append(_("{code}: over capacity ({cases} cases, {balance}; free {free_cases} cases, "
                              "{free_balance})").format(
                code=slot.code, cases=cases, balance=money_of(fen), free_cases=slot.cases_left,
                free_balance=money_of(slot.balance_left_fen)))
    return problems


def _case_rows(rows: pl.DataFrame, *, batch: PlacementBatch, view: AgencyView, at: datetime) -> pl.DataFrame:
    """The cases to write, in case number order (by account id), in the columns of `cases`."""
    days = {contract_id: contract.placement_days for contract_id, contract in view.contracts.items()}
    prefix = case_no_prefix(batch.batch_no)
    return rows.sort("account_id").select(
        case_no=pl.format("{}{}", pl.lit(prefix), (pl.int_range(1, pl.len() + 1)).cast(pl.String).str.zfill(6)),
        batch_id=pl.lit(batch.id, dtype=pl.Int64),
        account_id="account_id",
        agency_id="agency_id",
        contract_id="contract_id",
        bucket="bucket",
        dpd="dpd",
        balance_band="band",
        region="region",
        credit_grade="credit_grade",
        balance_fen="outstanding_fen",
        principal_fen="principal_fen",
        arm="arm",
        period_ends_on=pl.lit(batch.as_of)
        + pl.duration(days=pl.col("contract_id").replace_strict(days, return_dtype=pl.Int64)),
    ).with_columns(placed_at=pl.lit(at))
