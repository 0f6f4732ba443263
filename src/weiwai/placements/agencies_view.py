"""The agencies as allocation sees them on a day: active, with usable contracts, and how
much capacity they have left after their open cases; and their latest scorecards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency, AgencyStatus, Contract
from weiwai.errors import NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.placements.allocation import RateTable
from weiwai.placements.common import fen_of
from weiwai.placements.eligibility import Slot, Terms
from weiwai.placements.models import OPEN_CASE_STATUSES, Case
from weiwai.reports.models import Scorecard

RECOVERY_RATE_METRIC = "recovery_rate_amount"


@dataclass(frozen=True)
class AgencyView:
    slots: list[Slot]
    terms: list[Terms]
    contracts: dict[int, Contract]
    skipped: list[tuple[str, str]]  # (agency code, why it cannot take cases)

    def slot_of(self, agency_id: int) -> Slot | None:
        return next((slot for slot in self.slots if slot.agency_id == agency_id), None)


def open_load(session: Session, agency_ids: Sequence[int] | None = None) -> dict[int, tuple[int, int]]:
    """agency_id -> (open cases, their balance placed in fen)."""
    query = (
        select(Case.agency_id, func.count(), func.sum(cast(func.round(Case.balance_placed * 100), BigInteger)))
        .where(Case.status.in_([s.value for s in OPEN_CASE_STATUSES]))
        .group_by(Case.agency_id)
    )
    if agency_ids is not None:
        query = query.where(Case.agency_id.in_(list(agency_ids)))
    return {agency_id: (count, int(fen or 0)) for agency_id, count, fen in session.execute(query)}


def agency_view(
    *, session: Session, as_of: date, codes: Sequence[str] | None = None, strict: bool = True
) -> AgencyView:
    """Agencies that may take cases on `as_of`. Named agencies that cannot are an error when
    `strict` (the operator asked for them), otherwise listed as skipped."""
    if codes:
        wanted = [code.strip().upper() for code in codes if code.strip()]
        agencies = list(session.scalars(select(Agency).where(func.upper(Agency.code).in_(wanted))))
        missing = sorted(set(wanted) - {agency.code.upper() for agency in agencies})
        if missing:
            raise NotFound(_("no agency {ref}").format(ref=", ".join(missing)))
    else:
        agencies = list(session.scalars(select(Agency).where(Agency.status == AgencyStatus.active.value)))
    agencies.sort(key=lambda agency: agency.code)
    load = open_load(session, [agency.id for agency in agencies])
    # Hard constraint: live placement blocks and CN-11 reviews (weiwai.compliance.thresholds).
    from weiwai.compliance.thresholds import placement_exclusions

    excluded = placement_exclusions(session=session, agency_ids=[agency.id for agency in agencies], as_of=as_of)
    slots, terms, contracts, skipped = [], [], {}, []
    for agency in agencies:
        usable = sorted((c for c in agency.contracts if c.is_usable(as_of)), key=lambda c: c.id)
        problem = None
        if agency.status != AgencyStatus.active:
            problem = _("agency is {status}, not active").format(status=agency.status)
        elif not usable:
            problem = _("no usable contract on {day}").format(day=as_of.isoformat())
        elif agency.id in excluded:
            problem = excluded[agency.id]
        if problem:
            skipped.append((agency.code, problem))
            continue
        cases, fen = load.get(agency.id, (0, 0))
        slots.append(Slot(
            agency_id=agency.id,
            code=agency.code,
            cases_left=max(agency.capacity_cases - cases, 0),
            balance_left_fen=max(fen_of(agency.capacity_balance) - fen, 0),
            regions_served=frozenset(agency.regions_served or []),
        ))
        for contract in usable:
            contracts[contract.id] = contract
            terms.append(Terms(
                contract_id=contract.id,
                agency_id=agency.id,
                buckets=frozenset(contract.permitted_buckets or []),
                regions=frozenset(contract.permitted_regions or []),
            ))
    if strict and codes and skipped:
        raise RuleViolation("; ".join(f"{code}: {why}" for code, why in skipped), code="agency_not_usable")
    return AgencyView(slots=slots, terms=terms, contracts=contracts, skipped=skipped)


def latest_rates(*, session: Session, agency_ids: Sequence[int]) -> RateTable:
    """The latest recovery rate by amount per agency and stratum, from stored scorecards."""
    rows = session.execute(
        select(Scorecard.agency_id, Scorecard.bucket, Scorecard.balance_band, Scorecard.region, Scorecard.metrics)
        .where(Scorecard.agency_id.in_(list(agency_ids)))
        .order_by(Scorecard.as_of, Scorecard.id)
    )
    rates: dict[tuple[int, str, str, str], Fraction] = {}
    for agency_id, bucket, band, region, metrics in rows:
        value = (metrics or {}).get(RECOVERY_RATE_METRIC)
        try:
            rate = Fraction(Decimal(str(value)))
        except (InvalidOperation, ValueError, TypeError):
            continue
        # Rows come oldest first, so the latest figure of each stratum wins.
        rates[(agency_id, bucket, band, region)] = max(rate, Fraction(0))
    return rates
