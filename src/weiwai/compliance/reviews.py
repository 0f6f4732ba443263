"""Agency reviews (CN-11): evaluations of compliance, quality and information security.

An agency is reviewed at least yearly (`annual`), before its contract ends (`pre_expiry`)
and whenever needed (`ad_hoc`), each with three scores 0–100 and a result. No new case
goes to an agency whose last review failed, or is older than
`settings.agency_review_max_age_days` (365): allocation skips it with the reason
(`review_problems`, read by weiwai.compliance.thresholds.placement_exclusions). An agency
never reviewed counts from its admission (the day it was first approved onto the
whitelist, else the day it was registered): the admission is its first evaluation.

A contract that ends within `settings.pre_expiry_review_days` (60) without a pre_expiry
review during its term is listed (`contracts_due_pre_expiry_review`) and the daily job
raises a notice for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency, AgencyStatus, AgencyStatusChange, Contract, ContractStatus
from weiwai.clock import local_day, today_local
from weiwai.compliance.models import AgencyEvaluation
from weiwai.config import get_settings
from weiwai.errors import NotFound, RuleViolation
from weiwai.i18n import _


class ReviewKind(StrEnum):
    annual = "annual"
    pre_expiry = "pre_expiry"
    ad_hoc = "ad_hoc"


class ReviewResult(StrEnum):
    passed = "pass"
    conditional = "conditional"
    failed = "fail"


Score = Annotated[int, Field(ge=0, le=100)]


class ReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ReviewKind
    evaluated_on: date
    compliance_score: Score
    quality_score: Score
    infosec_score: Score
    result: ReviewResult
    notes: Annotated[str | None, Field(max_length=4000)] = None

    @field_validator("notes")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class ReviewRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agency_id: int
    kind: ReviewKind
    evaluated_on: date
    compliance_score: int
    quality_score: int
    infosec_score: int
    result: ReviewResult
    notes: str | None
    evaluated_by: str | None  # null for agency users (staff names are the lender's)
    recorded_at: datetime


def record_review(*, session: Session, agency_id: int, data: ReviewCreate, actor: str,
                  today: date | None = None) -> AgencyEvaluation:
    """Record a review of the agency; a failed one also raises a notice for the lender."""
    from weiwai.compliance.thresholds import add_notice

    agency = session.get(Agency, agency_id)
    if agency is None:
        raise NotFound(_("no agency {ref}").format(ref=agency_id))
    today = today or today_local()
    if data.evaluated_on > today:
        raise RuleViolation(_("a review cannot be dated in the future ({day})").format(
            day=data.evaluated_on.isoformat()), code="review_in_future")
    if agency.status == AgencyStatus.terminated:
        raise RuleViolation(_("agency {code} is terminated").format(code=agency.code), code="agency_terminated")
    review = AgencyEvaluation(
        agency_id=agency.id, kind=data.kind.value, evaluated_on=data.evaluated_on,
        compliance_score=data.compliance_score, quality_score=data.quality_score, infosec_score=data.infosec_score,
        result=data.result.value, notes=data.notes, evaluated_by=actor,
    )
    session.add(review)
    session.flush()
    if data.result == ReviewResult.failed:
        add_notice(session=session, kind="review_failed", agency_id=agency.id,
                   message=_("agency {code} failed its {kind} review of {day}: no new placements").format(
                       code=agency.code, kind=data.kind.value, day=data.evaluated_on.isoformat()),
                   details={"review_id": review.id})
    return review


def list_reviews(*, session: Session, agency_id: int, offset: int = 0, limit: int = 50
                 ) -> tuple[list[AgencyEvaluation], int]:
    """The agency's reviews, newest first."""
    query = select(AgencyEvaluation).where(AgencyEvaluation.agency_id == agency_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AgencyEvaluation.evaluated_on.desc(), AgencyEvaluation.id.desc())
                           .offset(offset).limit(limit))
    return list(rows), total


@dataclass(frozen=True)
class ReviewStanding:
    agency_id: int
    last_review_on: date | None
    last_result: str | None
    baseline: date  # the day the review clock counts from
    due_by: date  # the last day placements may go out without a new review

    def problem(self, as_of: date) -> str | None:
        """Why the agency may not take new cases on `as_of` under CN-11, or None."""
        if self.last_result == ReviewResult.failed:
            return _("last review ({day}) failed").format(day=self.last_review_on.isoformat())
        if as_of > self.due_by:
            if self.last_review_on is None:
                return _("never reviewed since admission on {day}; a review was due by {due}").format(
                    day=self.baseline.isoformat(), due=self.due_by.isoformat())
            return _("last review on {day} is older than {days} days").format(
                day=self.last_review_on.isoformat(), days=(self.due_by - self.baseline).days)
        return None


def review_standings(*, session: Session, agency_ids: Sequence[int]) -> dict[int, ReviewStanding]:
    """Each agency's last review (by day) and when the next one is due."""
    ids = list(agency_ids)
    if not ids:
        return {}
    max_age = get_settings().agency_review_max_age_days
    last: dict[int, AgencyEvaluation] = {}
    for review in session.scalars(select(AgencyEvaluation).where(AgencyEvaluation.agency_id.in_(ids))
                                  .order_by(AgencyEvaluation.evaluated_on, AgencyEvaluation.id)):
        last[review.agency_id] = review  # the latest wins
    admitted = dict(session.execute(
        select(AgencyStatusChange.agency_id, func.min(AgencyStatusChange.changed_at))
        .where(AgencyStatusChange.agency_id.in_(ids), AgencyStatusChange.to_status == AgencyStatus.approved.value)
        .group_by(AgencyStatusChange.agency_id)
    ).all())
    created = dict(session.execute(select(Agency.id, Agency.created_at).where(Agency.id.in_(ids))).all())
    standings = {}
    for agency_id in ids:
        review = last.get(agency_id)
        if review is not None:
            baseline = review.evaluated_on
        else:
            moment = admitted.get(agency_id) or created.get(agency_id)
            baseline = local_day(_aware(moment)) if moment is not None else today_local()
        standings[agency_id] = ReviewStanding(
            agency_id=agency_id, last_review_on=review.evaluated_on if review else None,
            last_result=review.result if review else None, baseline=baseline,
            due_by=baseline + timedelta(days=max_age),
        )
    return standings


def review_problems(*, session: Session, agency_ids: Sequence[int], as_of: date) -> dict[int, str]:
    """agency_id -> why CN-11 stops new placements to it on `as_of` (agencies that may take cases are absent)."""
    standings = review_standings(session=session, agency_ids=agency_ids)
    problems = {agency_id: standing.problem(as_of) for agency_id, standing in standings.items()}
    return {agency_id: problem for agency_id, problem in problems.items() if problem}


@dataclass(frozen=True)
class PreExpiryDue:
    contract_id: int
    contract_no: str
    agency_id: int
    agency_code: str
    ends_on: date


def contracts_due_pre_expiry_review(*, session: Session, as_of: date, days: int | None = None) -> list[PreExpiryDue]:
    """Active contracts ending within `days` of `as_of` (default settings.pre_expiry_review_days) whose
    agency had no pre_expiry review during the contract's term."""
    days = get_settings().pre_expiry_review_days if days is None else days
    contracts = session.execute(
        select(Contract, Agency.code).join(Agency, Agency.id == Contract.agency_id)
        .where(Contract.status == ContractStatus.active.value, Contract.ends_on >= as_of,
               Contract.ends_on <= as_of + timedelta(days=days))
        .order_by(Contract.ends_on, Contract.contract_no)
    ).all()
    due = []
    for contract, code in contracts:
        reviewed = session.scalar(
            select(func.count()).select_from(AgencyEvaluation).where(
                AgencyEvaluation.agency_id == contract.agency_id,
                AgencyEvaluation.kind == ReviewKind.pre_expiry.value,
                AgencyEvaluation.evaluated_on >= contract.starts_on,
                AgencyEvaluation.evaluated_on <= contract.ends_on,
            )
        )
        if not reviewed:
            due.append(PreExpiryDue(contract_id=contract.id, contract_no=contract.contract_no,
                                    agency_id=contract.agency_id, agency_code=code, ends_on=contract.ends_on))
    return due


def _aware(moment):
    from datetime import UTC

    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
