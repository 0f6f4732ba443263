"""Screening services: preview the book under some rules, explain one account, and keep
versions of rule sets. Nothing here writes except `save_rule_set` (which never commits)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency
from weiwai.config import get_settings
from weiwai.errors import NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.placements.common import local_day_of, money_of
from weiwai.placements.models import Case, ScreeningRuleSet
from weiwai.placements.schemas import (
    AccountExplanation,
    CheckRead,
    CoolingOffRead,
    ReasonTally,
    ScreeningPreview,
    Tally,
)
from weiwai.placements.screening import REASON_CODES, ScreeningRules, evaluate, explain, reason_label
from weiwai.placements.screening_frame import evaluate_frame, fail_column
from weiwai.placements.screening_sql import fetch_candidate, fetch_candidates, returned_within


def screen_book(
    *, session: Session, rules: ScreeningRules, as_of: date, account_ids: pl.Series | None = None
) -> pl.DataFrame:
    """Every open account (or those of `account_ids`), evaluated: the candidate columns plus
    dpd, bucket, band, fail_* and eligible."""
    frame = fetch_candidates(session=session, as_of=as_of, account_ids=account_ids)
    return evaluate_frame(rules, frame, as_of=as_of, buckets=get_settings().buckets)


def preview_screening(*, session: Session, rules: ScreeningRules, as_of: date) -> ScreeningPreview:
    """Counts and balances of eligible accounts by bucket, grade and region, and of every
    exclusion reason; writes nothing."""
    return summarise_screening(screen_book(session=session, rules=rules, as_of=as_of), as_of=as_of)


def summarise_screening(evaluated: pl.DataFrame, *, as_of: date) -> ScreeningPreview:
    eligible = evaluated.filter(pl.col("eligible"))
    bucket_order = {band.label: i for i, band in enumerate(get_settings().buckets)}
    reasons = evaluated.select(
        *(pl.col(fail_column(code)).sum().alias(f"n_{code}") for code in REASON_CODES),
        *(pl.col("outstanding_fen").filter(pl.col(fail_column(code))).sum().alias(f"b_{code}")
          for code in REASON_CODES),
    ).row(0, named=True)
    return ScreeningPreview(
        as_of=as_of,
        screened=evaluated.height,
        screened_balance=money_of(evaluated["outstanding_fen"].sum() or 0),
        eligible=eligible.height,
        eligible_balance=money_of(eligible["outstanding_fen"].sum() or 0),
        by_bucket=sorted(_tallies(eligible, "bucket"), key=lambda t: bucket_order.get(t.key, len(bucket_order))),
        by_grade=_tallies(eligible, "credit_grade"),
        by_region=_tallies(eligible, "region"),
        exclusions=[
            ReasonTally(code=code, label=reason_label(code), count=reasons[f"n_{code}"] or 0,
                        balance=money_of(reasons[f"b_{code}"] or 0))
            for code in REASON_CODES if reasons[f"n_{code}"]
        ],
    )


def _tallies(frame: pl.DataFrame, column: str) -> list[Tally]:
    grouped = frame.group_by(column).agg(pl.len().alias("count"), pl.col("outstanding_fen").sum()).sort(column)
    return [Tally(key=str(key), count=count, balance=money_of(fen)) for key, count, fen in grouped.iter_rows()]


def explain_account(*, session: Session, rules: ScreeningRules, account_no: str, as_of: date) -> AccountExplanation:
    """Every criterion applied to one account, and the agencies it is cooling off from."""
    account_id, candidate = fetch_candidate(session=session, account_no=account_no, as_of=as_of)
    buckets = get_settings().buckets
    checks = explain(rules, candidate, as_of=as_of, buckets=buckets)
    verdict = evaluate(rules, candidate, as_of=as_of, buckets=buckets)
    return AccountExplanation(
        account_no=candidate.account_no,
        as_of=as_of,
        eligible=verdict.eligible,
        dpd=verdict.dpd,
        bucket=verdict.bucket,
        balance_band=verdict.band,
        checks=[CheckRead(code=c.code, label=reason_label(c.code), passed=c.passed, detail=c.detail) for c in checks],
        failing=list(verdict.failures),
        cooling_off=_cooling_off(session, account_id, as_of, rules.exclude.cooling_off_days),
    )


def _cooling_off(session: Session, account_id: int, as_of: date, days: int) -> list[CoolingOffRead]:
    pairs = returned_within(session=session, as_of=as_of, days=days, account_ids=[account_id])
    found = []
    for agency_id in sorted(set(pairs["agency_id"].to_list())):
        ended_at = session.scalar(
            select(func.max(Case.ended_at)).where(Case.account_id == account_id, Case.agency_id == agency_id)
        )
        returned_on = local_day_of(ended_at)
        found.append(CoolingOffRead(
            agency_code=session.get(Agency, agency_id).code,
            returned_on=returned_on,
            last_day=returned_on + timedelta(days=days - 1),
        ))
    return found


# --- rule sets --------------------------------------------------------------------------


def save_rule_set(*, session: Session, rules: ScreeningRules, name: str, actor: str) -> tuple[ScreeningRuleSet, bool]:
    """Save the rules as the next version of `name`; identical rules return the existing
    version. Returns (rule set, created)."""
    name = name.strip()
    if not name:
        raise RuleViolation(_("a rule set needs a name"), code="name_required")
    digest = rules.sha256()
    existing = session.scalar(
        select(ScreeningRuleSet).where(ScreeningRuleSet.name == name, ScreeningRuleSet.sha256 == digest)
        .order_by(ScreeningRuleSet.version.desc())
    )
    if existing is not None:
        return existing, False
    latest = session.scalar(select(func.max(ScreeningRuleSet.version)).where(ScreeningRuleSet.name == name))
    rule_set = ScreeningRuleSet(
        name=name, version=(latest or 0) + 1, rules=rules.canonical(), sha256=digest, created_by=actor
    )
    session.add(rule_set)
    session.flush()
    return rule_set, True


def get_rule_set(*, session: Session, name: str, version: int | None = None) -> ScreeningRuleSet:
    """A saved rule set by name: the given version, or the latest."""
    query = select(ScreeningRuleSet).where(ScreeningRuleSet.name == name.strip())
    if version is not None:
        query = query.where(ScreeningRuleSet.version == version)
    found = session.scalar(query.order_by(ScreeningRuleSet.version.desc()).limit(1))
    if found is None:
        raise NotFound(_("no rule set {name}").format(name=name if version is None else f"{name} v{version}"))
    return found


def list_rule_sets(*, session: Session) -> list[ScreeningRuleSet]:
    """Every saved version, by name then version."""
    return list(session.scalars(select(ScreeningRuleSet).order_by(ScreeningRuleSet.name, ScreeningRuleSet.version)))


def rules_of(rule_set: ScreeningRuleSet) -> ScreeningRules:
    return ScreeningRules.model_validate(rule_set.rules)
