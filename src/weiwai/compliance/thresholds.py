"""Contract thresholds → placement blocks and lender notices; what keeps an agency from new cases.

`evaluate_thresholds` computes, for an agency, the figures its active contracts set limits
on (weiwai.compliance.terms) over each rolling period ending on the day:

- complaint rate: complaints about the agency received in the period and not rejected,
  per 1,000 cases the agency held during the period (placed on or before its last day,
  not ended before its first);
- severe violations: compliance_violations of severity `severe` that occurred in the
  period, plus complaints of severity `severe` received in it and not rejected.

A figure above its limit blocks new placements to the agency: one live PlacementBlock
per reason (`complaint_rate`, `severe_violations`; evaluating again while a block is live
creates nothing) and a LenderNotice. A block stays until someone lifts it, with a reason.

`placement_exclusions` is what allocation asks (weiwai.placements.agencies_view): live
blocks and CN-11 review problems (weiwai.compliance.reviews), with the reason shown in
the placement preview.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency, Contract, ContractStatus
from weiwai.compliance.models import (
    Complaint,
    ComplaintStatus,
    ComplianceViolation,
    LenderNotice,
    PlacementBlock,
    Severity,
)
from weiwai.compliance.terms import Thresholds, thresholds_of
from weiwai.config import get_settings
from weiwai.db import utcnow
from weiwai.errors import Conflict, NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.placements.models import Case


class BlockReason(StrEnum):
    complaint_rate = "complaint_rate"
    severe_violations = "severe_violations"
    manual = "manual"
    # Set and lifted by the data-protection jobs (weiwai.privacy.deletion, weiwai.privacy.infosec).
    deletion_overdue = "deletion_overdue"
    infosec_critical_overdue = "infosec_critical_overdue"


# --- notices ------------------------------------------------------------------------------------


def add_notice(*, session: Session, kind: str, message: str, agency_id: int | None = None,
               details: dict | None = None) -> LenderNotice:
    notice = LenderNotice(kind=kind, agency_id=agency_id, message=message, details=details or {})
    session.add(notice)
    session.flush()
    return notice


def notice_exists(*, session: Session, kind: str, agency_id: int | None, key: str, value) -> bool:
    """Whether a notice of `kind` about the agency already carries details[key] == value."""
    query = select(LenderNotice.details).where(LenderNotice.kind == kind)
    query = query.where(LenderNotice.agency_id == agency_id) if agency_id is not None \
        else query.where(LenderNotice.agency_id.is_(None))
    return any((details or {}).get(key) == value for details in session.scalars(query))


def list_notices(*, session: Session, agency_id: int | None = None, unacknowledged: bool | None = None,
                 kind: str | None = None, offset: int = 0, limit: int = 50) -> tuple[list[LenderNotice], int]:
    """Notices, newest first."""
    query = select(LenderNotice)
    if agency_id is not None:
        query = query.where(LenderNotice.agency_id == agency_id)
    if unacknowledged is not None:
        query = query.where(LenderNotice.acknowledged_at.is_(None) if unacknowledged
                            else LenderNotice.acknowledged_at.is_not(None))
    if kind:
        query = query.where(LenderNotice.kind == kind)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(LenderNotice.created_at.desc(), LenderNotice.id.desc())
                           .offset(offset).limit(limit))
    return list(rows), total


def acknowledge_notice(*, session: Session, notice_id: int, actor: str) -> LenderNotice:
    """Mark a notice as seen (once; acknowledging again changes nothing)."""
    notice = session.get(LenderNotice, notice_id)
    if notice is None:
        raise NotFound(_("no notice {ref}").format(ref=notice_id))
    if notice.acknowledged_at is None:
        notice.acknowledged_at, notice.acknowledged_by = utcnow(), actor
        session.flush()
    return notice


# --- blocks -------------------------------------------------------------------------------------


def live_blocks(*, session: Session, agency_ids: Sequence[int] | None = None) -> list[PlacementBlock]:
    query = select(PlacementBlock).where(PlacementBlock.lifted_at.is_(None))
    if agency_ids is not None:
        query = query.where(PlacementBlock.agency_id.in_(list(agency_ids)))
    return list(session.scalars(query.order_by(PlacementBlock.agency_id, PlacementBlock.id)))


def ensure_block(*, session: Session, agency_id: int, reason: str, details: dict, actor: str,
                 message: str | None = None) -> tuple[PlacementBlock, bool]:
    """The agency's live block for `reason`, created (with a notice) if there is none; (block, created)."""
    existing = session.scalars(select(PlacementBlock).where(
        PlacementBlock.agency_id == agency_id, PlacementBlock.reason == reason, PlacementBlock.lifted_at.is_(None)
    ).order_by(PlacementBlock.id)).first()
    if existing is not None:
        return existing, False
    block = PlacementBlock(agency_id=agency_id, reason=reason, details=details, created_by=actor)
    session.add(block)
    session.flush()
    code = session.scalar(select(Agency.code).where(Agency.id == agency_id))
    add_notice(session=session, kind="placement_blocked", agency_id=agency_id,
               message=message or _("new placements to agency {code} are stopped: {reason}").format(
                   code=code, reason=block_label(reason)),
               details={"block_id": block.id, "reason": reason, **details})
    return block, True


def block_agency(*, session: Session, agency_id: int, note: str, actor: str) -> PlacementBlock:
    """Stop new placements to an agency by hand (reason manual)."""
    if session.get(Agency, agency_id) is None:
        raise NotFound(_("no agency {ref}").format(ref=agency_id))
    note = (note or "").strip()
    if not note:
        raise RuleViolation(_("give a reason"), code="reason_required")
    block, _created = ensure_block(session=session, agency_id=agency_id, reason=BlockReason.manual,
                                   details={"note": note}, actor=actor)
    return block


def lift_block(*, session: Session, block_id: int, reason: str, actor: str) -> PlacementBlock:
    """Lift a live block (placements may resume unless something else stops them)."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("give a reason"), code="reason_required")
    block = session.get(PlacementBlock, block_id)
    if block is None:
        raise NotFound(_("no placement block {ref}").format(ref=block_id))
    if block.lifted_at is not None:
        raise Conflict(_("placement block {ref} was already lifted").format(ref=block_id), code="block_lifted")
    block.lifted_at, block.lifted_by, block.lift_reason = utcnow(), actor, reason
    session.flush()
    return block


def list_blocks(*, session: Session, agency_id: int | None = None, live: bool | None = True, offset: int = 0,
                limit: int = 50) -> tuple[list[PlacementBlock], int]:
    query = select(PlacementBlock)
    if agency_id is not None:
        query = query.where(PlacementBlock.agency_id == agency_id)
    if live is not None:
        query = query.where(PlacementBlock.lifted_at.is_(None) if live else PlacementBlock.lifted_at.is_not(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(PlacementBlock.created_at.desc(), PlacementBlock.id.desc())
                           .offset(offset).limit(limit))
    return list(rows), total


def block_label(reason: str) -> str:
    labels = {
        BlockReason.complaint_rate: _("complaint rate above the contract's threshold"),
        BlockReason.severe_violations: _("severe violations above the contract's threshold"),
        BlockReason.manual: _("stopped by hand"),
        BlockReason.deletion_overdue: _("deletion of handed-over data not certified in time"),
        BlockReason.infosec_critical_overdue: _("critical information-security finding past its deadline"),
    }
    return labels.get(reason, reason)


# --- what allocation asks -----------------------------------------------------------------------


def placement_exclusions(*, session: Session, agency_ids: Sequence[int], as_of: date) -> dict[int, str]:
    """agency_id -> why it may take no new cases on `as_of`: live placement blocks, then CN-11
    review problems. Agencies that may take cases are absent."""
    from weiwai.compliance.reviews import review_problems

    ids = list(agency_ids)
    reasons: dict[int, list[str]] = {}
    for block in live_blocks(session=session, agency_ids=ids):
        reasons.setdefault(block.agency_id, []).append(
            _("placements blocked: {reason}").format(reason=block_label(block.reason)))
    for agency_id, problem in review_problems(session=session, agency_ids=ids, as_of=as_of).items():
        reasons.setdefault(agency_id, []).append(_("agency review (CN-11): {problem}").format(problem=problem))
    return {agency_id: "; ".join(parts) for agency_id, parts in reasons.items()}


# --- figures and thresholds ---------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    cases_held: int
    complaints: int
    severe: int


@dataclass(frozen=True)
class Crossing:
    reason: BlockReason
    value: Decimal | int
    limit: Decimal | int
    period_days: int
    contract_no: str
    cases_held: int | None = None

    def details(self, as_of: date) -> dict:
        data = {"value": str(self.value), "limit": str(self.limit), "period_days": self.period_days,
                "as_of": as_of.isoformat(), "contract_no": self.contract_no}
        if self.cases_held is not None:
            data["cases_held"] = self.cases_held
        return data


def rate_per_1000(complaints: int, cases: int) -> Decimal | None:
    """Complaints per 1,000 cases, to two decimals; None with no cases."""
    if cases <= 0:
        return None
    return (Decimal(complaints) * 1000 / Decimal(cases)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def crossings(thresholds: Thresholds, figures_for, *, contract_no: str) -> list[Crossing]:
    """Which thresholds the figures cross. Pure apart from `figures_for(period_days) -> Figures`."""
    found = []
    rate = thresholds.complaints_per_1000_placed
    if rate is not None:
        figures = figures_for(rate.period_days)
        if figures.complaints and figures.cases_held >= rate.min_cases:
            value = rate_per_1000(figures.complaints, figures.cases_held)
            # With complaints but no case held at all, the rate is unbounded: crossed.
            if value is None or value > rate.limit:
                found.append(Crossing(BlockReason.complaint_rate, value if value is not None else figures.complaints,
                                      rate.limit, rate.period_days, contract_no, figures.cases_held))
    severe = thresholds.severe_violations
    if severe is not None:
        figures = figures_for(severe.period_days)
        if figures.severe > severe.limit:
            found.append(Crossing(BlockReason.severe_violations, figures.severe, severe.limit, severe.period_days,
                                  contract_no))
    return found


def _period(as_of: date, days: int) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the `days` local days ending with `as_of`."""
    zone = ZoneInfo(get_settings().default_time_zone)
    first = as_of - timedelta(days=days - 1)
    start = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


def agency_figures(*, session: Session, agency_id: int, as_of: date, period_days: int) -> Figures:
    """The agency's cases held, complaints and severe incidents over the period ending on `as_of`."""
    start, end = _period(as_of, period_days)
    held = session.scalar(select(func.count()).select_from(Case).where(
        Case.agency_id == agency_id, Case.placed_at < end, or_(Case.ended_at.is_(None), Case.ended_at >= start)
    )) or 0
    counted = Complaint.status != ComplaintStatus.rejected.value
    complaints = session.scalar(select(func.count()).select_from(Complaint).where(
        Complaint.agency_id == agency_id, Complaint.received_at >= start, Complaint.received_at < end, counted
    )) or 0
    severe_complaints = session.scalar(select(func.count()).select_from(Complaint).where(
        Complaint.agency_id == agency_id, Complaint.received_at >= start, Complaint.received_at < end, counted,
        Complaint.severity == Severity.severe.value,
    )) or 0
    violations = session.scalar(select(func.count()).select_from(ComplianceViolation).where(
        ComplianceViolation.agency_id == agency_id, ComplianceViolation.severity == Severity.severe.value,
        ComplianceViolation.occurred_at >= start, ComplianceViolation.occurred_at < end,
    )) or 0
    return Figures(cases_held=held, complaints=complaints, severe=violations + severe_complaints)


def evaluate_thresholds(*, session: Session, agency_id: int, as_of: date, actor: str) -> list[PlacementBlock]:
    """Check the agency against its active contracts' thresholds; block (idempotently) what is
    crossed. Returns the blocks created now."""
    contracts = list(session.scalars(select(Contract).where(
        Contract.agency_id == agency_id, Contract.status == ContractStatus.active.value
    ).order_by(Contract.id)))
    cache: dict[int, Figures] = {}

    def figures_for(days: int) -> Figures:
        if days not in cache:
            cache[days] = agency_figures(session=session, agency_id=agency_id, as_of=as_of, period_days=days)
        return cache[days]

    created = []
    seen: set[str] = set()
    for contract in contracts:
        thresholds = thresholds_of(contract.compliance_terms)
        if thresholds.empty:
            continue
        for crossing in crossings(thresholds, figures_for, contract_no=contract.contract_no):
            if crossing.reason in seen:
                continue
            seen.add(crossing.reason)
            block, new = ensure_block(session=session, agency_id=agency_id, reason=crossing.reason,
                                      details=crossing.details(as_of), actor=actor)
            if new:
                created.append(block)
    return created


def evaluate_all_thresholds(*, session: Session, as_of: date, actor: str) -> list[PlacementBlock]:
    """Every agency with an active contract, checked against its thresholds."""
    agency_ids = list(session.scalars(select(Contract.agency_id).where(
        Contract.status == ContractStatus.active.value).distinct().order_by(Contract.agency_id)))
    created = []
    for agency_id in agency_ids:
        created += evaluate_thresholds(session=session, agency_id=agency_id, as_of=as_of, actor=actor)
    return created
