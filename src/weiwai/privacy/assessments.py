"""Personal information protection impact assessments (PIPL art. 55-56) of agencies.

Entrusting an agency with personal data needs an assessment on file first (art. 55(2)).
An assessment goes draft -> submitted -> approved | rejected; the approver must be
someone other than the assessor (four eyes). An agency may become active only with an
approved assessment that has not expired and whose conclusion is not `unacceptable`.
Reports are kept at least three years (art. 56): `valid_until` defaults to three years
after `assessed_on`, and assessments are never deleted.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weiwai.agencies.fields import InputSchema, LongText, ShortText
from weiwai.agencies.lifecycle import check_allowed
from weiwai.agencies.models import Agency
from weiwai.clock import today_local
from weiwai.db import utcnow
from weiwai.errors import NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.privacy.models import AssessmentConclusion, AssessmentStatus, Entrustment, ImpactAssessment
from weiwai.security import audit

ASSESSMENT_TRANSITIONS: dict[AssessmentStatus, frozenset[AssessmentStatus]] = {
    AssessmentStatus.draft: frozenset({AssessmentStatus.submitted}),
    AssessmentStatus.submitted: frozenset({AssessmentStatus.approved, AssessmentStatus.rejected}),
    AssessmentStatus.approved: frozenset(),
    AssessmentStatus.rejected: frozenset(),
}
VALID_YEARS = 3


class Level(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class Risk(InputSchema):
    risk: LongText
    likelihood: Level
    impact: Level
    measure: LongText


class AssessmentCreate(InputSchema):
    """A new assessment (a draft) of an agency, optionally tied to one entrustment."""

    agency_id: int = Field(ge=1, le=2_147_483_647)
    entrustment_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    assessed_on: date
    scope: LongText
    risks: list[Risk] = Field(min_length=1, max_length=100)
    conclusion: AssessmentConclusion
    conditions: LongText | None = None
    evidence_ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    valid_until: date | None = None

    @model_validator(mode="after")
    def _conditions_when_conditional(self) -> AssessmentCreate:
        if self.conclusion == AssessmentConclusion.acceptable_with_conditions and not self.conditions:
            raise ValueError(_("an assessment acceptable with conditions states its conditions"))
        if self.valid_until is not None and self.valid_until <= self.assessed_on:
            raise ValueError(_("valid_until must be after assessed_on"))
        return self


class AssessmentDecision(InputSchema):
    approve: bool
    note: ShortText | None = None


class AssessmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agency_id: int
    entrustment_id: int | None
    assessed_on: date
    assessor: str
    scope: str
    risks: list[dict]
    conclusion: AssessmentConclusion
    conditions: str | None
    evidence_ref: str
    status: AssessmentStatus
    submitted_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    valid_until: date


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def create_assessment(*, session: Session, data: AssessmentCreate, actor: str) -> ImpactAssessment:
    """File a draft assessment; the actor is its assessor."""
    if session.get(Agency, data.agency_id) is None:
        raise NotFound(_("no agency {ref}").format(ref=data.agency_id))
    if data.entrustment_id is not None:
        entrustment = session.get(Entrustment, data.entrustment_id)
        if entrustment is None or entrustment.agency_id != data.agency_id:
            raise NotFound(_("no entrustment {ref} of this agency").format(ref=data.entrustment_id))
    if data.assessed_on > today_local():
        raise RuleViolation(_("assessed_on {day} is in the future").format(day=data.assessed_on.isoformat()))
    assessment = ImpactAssessment(
        agency_id=data.agency_id, entrustment_id=data.entrustment_id, assessed_on=data.assessed_on,
        assessor=actor, scope=data.scope, risks=[risk.model_dump(mode="json") for risk in data.risks],
        conclusion=data.conclusion.value, conditions=data.conditions, evidence_ref=data.evidence_ref,
        status=AssessmentStatus.draft.value,
        valid_until=data.valid_until or _add_years(data.assessed_on, VALID_YEARS),
    )
    session.add(assessment)
    session.flush()
    audit.record(session=session, actor=actor, action="impact_assessment.filed", entity="impact_assessment",
                 entity_id=assessment.id, details={"agency_id": data.agency_id, "conclusion": data.conclusion.value})
    return assessment


def get_assessment(*, session: Session, assessment_id: int) -> ImpactAssessment:
    found = session.get(ImpactAssessment, assessment_id)
    if found is None:
        raise NotFound(_("no impact assessment {ref}").format(ref=assessment_id))
    return found


def submit_assessment(*, session: Session, assessment: ImpactAssessment, actor: str) -> ImpactAssessment:
    """Send a draft for approval."""
    check_allowed(ASSESSMENT_TRANSITIONS, assessment.status, AssessmentStatus.submitted)
    assessment.status = AssessmentStatus.submitted.value
    assessment.submitted_at = utcnow()
    session.flush()
    audit.record(session=session, actor=actor, action="impact_assessment.submitted", entity="impact_assessment",
                 entity_id=assessment.id, details={"agency_id": assessment.agency_id})
    return assessment


def decide_assessment(*, session: Session, assessment: ImpactAssessment, approve: bool, actor: str,
                      note: str | None = None) -> ImpactAssessment:
    """Approve or reject a submitted assessment; never by its own assessor."""
    target = AssessmentStatus.approved if approve else AssessmentStatus.rejected
    check_allowed(ASSESSMENT_TRANSITIONS, assessment.status, target)
    if actor == assessment.assessor:
        raise RuleViolation(_("four eyes: the assessor cannot decide on their own assessment"),
                            code="four_eyes")
    assessment.status = target.value
    assessment.decided_by, assessment.decided_at, assessment.decision_note = actor, utcnow(), note
    session.flush()
    audit.record(session=session, actor=actor, action=f"impact_assessment.{target.value}",
                 entity="impact_assessment", entity_id=assessment.id,
                 details={"agency_id": assessment.agency_id, "note": note})
    return assessment


def list_assessments(*, session: Session, agency_id: int | None = None, status: AssessmentStatus | None = None,
                     offset: int = 0, limit: int = 50) -> tuple[list[ImpactAssessment], int]:
    """Assessments, newest first."""
    query = select(ImpactAssessment)
    if agency_id is not None:
        query = query.where(ImpactAssessment.agency_id == agency_id)
    if status is not None:
        query = query.where(ImpactAssessment.status == AssessmentStatus(status).value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(ImpactAssessment.id.desc()).offset(offset).limit(limit))
    return list(rows), total


def valid_assessment_condition(on: date):
    """SQL: an approved, unexpired assessment whose conclusion is not unacceptable."""
    return (
        (ImpactAssessment.status == AssessmentStatus.approved.value)
        & (ImpactAssessment.valid_until >= on)
        & (ImpactAssessment.conclusion != AssessmentConclusion.unacceptable.value)
    )


def has_valid_assessment(*, session: Session, agency_id: int, on: date) -> bool:
    """Whether the agency has an assessment on file that permits activation on `on`."""
    return session.scalar(select(ImpactAssessment.id).where(
        ImpactAssessment.agency_id == agency_id, valid_assessment_condition(on)).limit(1)) is not None


def agencies_with_valid_assessment(*, session: Session, on: date) -> set[int]:
    return set(session.scalars(select(ImpactAssessment.agency_id).where(valid_assessment_condition(on)).distinct()))
