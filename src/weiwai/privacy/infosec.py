"""Information-security reviews of agencies as entrusted processors (PIPL art. 21: the lender supervises).

A review follows a checklist template (validated YAML data in weiwai/privacy/checklists/):
each item has a code, an area, zh/en titles, the severity a failure defaults to and the
evidence expected. A review is a draft until completed (outcome pass, pass_with_findings or
fail; the next review falls due `infosec_review_interval_months` later). Findings carry a
severity and a remediation deadline (by default `infosec_remediation_days` per severity)
and move open -> remediated -> verified (or open -> risk_accepted by someone other than the
reporter). An open critical finding past its deadline stops new placements to the agency
(daily job `infosec_watch`) until no overdue critical finding remains.

Not the CN-11 agency review (weiwai.compliance.reviews), which scores an agency overall.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency, AgencyStatus
from weiwai.config import get_settings
from weiwai.db import utcnow
from weiwai.errors import Conflict, IllegalTransition, NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.privacy.infosec_models import InfosecFinding, InfosecReview
from weiwai.security import audit

BLOCK_REASON = "infosec_critical_overdue"


class Area(StrEnum):
    access_control = "access_control"
    encryption = "encryption"
    retention_deletion = "retention_deletion"
    personnel_confidentiality = "personnel_confidentiality"
    sub_processing = "sub_processing"
    incident_response = "incident_response"
    logging = "logging"
    physical = "physical"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class ReviewStatus(StrEnum):
    draft = "draft"
    completed = "completed"


class Outcome(StrEnum):
    passed = "pass"
    pass_with_findings = "pass_with_findings"
    failed = "fail"


class FindingStatus(StrEnum):
    open = "open"
    remediated = "remediated"
    verified = "verified"
    risk_accepted = "risk_accepted"


FINDING_TRANSITIONS: dict[FindingStatus, frozenset[FindingStatus]] = {
    FindingStatus.open: frozenset({FindingStatus.remediated, FindingStatus.risk_accepted}),
    FindingStatus.remediated: frozenset({FindingStatus.verified, FindingStatus.open}),  # reopened if not fixed
    FindingStatus.verified: frozenset(),
    FindingStatus.risk_accepted: frozenset(),
}
REVIEW_TRANSITIONS: dict[ReviewStatus, frozenset[ReviewStatus]] = {
    ReviewStatus.draft: frozenset({ReviewStatus.completed}),
    ReviewStatus.completed: frozenset(),
}
UNRESOLVED = (FindingStatus.open.value, FindingStatus.remediated.value)

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


# --- checklists (validated data) ----------------------------------------------------------------


class Titles(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: Text200
    en: Text200


class ChecklistItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-[0-9]{2}$")]
    area: Area
    title: Titles
    default_severity: Severity
    evidence: Text200


class Checklist(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
    version: int = Field(ge=1)
    title: Titles
    items: list[ChecklistItem] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> Checklist:
        codes = [item.code for item in self.items]
        if len(set(codes)) != len(codes):
            raise ValueError("item codes must be unique")
        return self

    def item(self, code: str) -> ChecklistItem | None:
        return next((item for item in self.items if item.code == code), None)


def parse_checklist(text: str, *, source: str = "checklist") -> Checklist:
    """A checklist from YAML text; RuleViolation naming every problem."""
    try:
        return Checklist.model_validate(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        raise RuleViolation(_("{source}: not YAML ({reason})").format(source=source, reason=exc)) from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise RuleViolation(_("{source}: invalid checklist: {problems}").format(source=source,
                                                                                problems=problems)) from None


@cache
def checklists() -> dict[tuple[str, int], Checklist]:
    """Every checklist shipped, by (code, version)."""
    found = {}
    for entry in resources.files("weiwai.privacy").joinpath("checklists").iterdir():
        if entry.name.endswith(".yaml"):
            checklist = parse_checklist(entry.read_text(encoding="utf-8"), source=entry.name)
            found[(checklist.code, checklist.version)] = checklist
    return found


def get_checklist(code: str, version: int | None = None) -> Checklist:
    """The checklist `code` (its latest version unless one is named)."""
    versions = sorted(v for c, v in checklists() if c == code)
    if not versions or (version is not None and version not in versions):
        raise NotFound(_("no checklist {code}{version}").format(code=code, version=f" v{version}" if version else ""))
    return checklists()[(code, version or versions[-1])]


# --- inputs -------------------------------------------------------------------------------------


class ReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agency_id: int = Field(ge=1, le=2_147_483_647)
    checklist: Annotated[str, StringConstraints(max_length=40)] = "pipl_agency"
    checklist_version: int | None = Field(default=None, ge=1)
    reviewed_on: date
    reviewer: Text200
    period_start: date | None = None
    period_end: date | None = None
    evidence_refs: list[Text200] = Field(default_factory=list, max_length=100)
    notes: LongText | None = None

    @model_validator(mode="after")
    def _period(self) -> ReviewCreate:
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class ReviewComplete(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # item code -> pass / fail / n/a; every item of the checklist must be answered.
    results: dict[str, Literal["pass", "fail", "n/a"]]
    evidence_refs: list[Text200] = Field(default_factory=list, max_length=100)
    notes: LongText | None = None


class FindingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_code: Annotated[str, StringConstraints(max_length=40)]
    severity: Severity | None = None  # default: the item's
    description: LongText
    remediation_due_on: date | None = None  # default: by severity
    evidence_ref: Text200 | None = None


class FindingTransition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: FindingStatus
    evidence_ref: Text200 | None = None
    note: LongText | None = None


# --- reviews ------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def create_review(*, session: Session, data: ReviewCreate, actor: str) -> InfosecReview:
    """Open a draft review of an agency against a checklist."""
    if session.get(Agency, data.agency_id) is None:
        raise NotFound(_("no agency {ref}").format(ref=data.agency_id))
    checklist = get_checklist(data.checklist, data.checklist_version)
    review = InfosecReview(
        agency_id=data.agency_id, checklist_code=checklist.code, checklist_version=checklist.version,
        reviewed_on=data.reviewed_on, reviewer=data.reviewer, period_start=data.period_start,
        period_end=data.period_end, status=ReviewStatus.draft.value, results={},
        evidence_refs=list(data.evidence_refs), notes=data.notes, created_by=actor,
    )
    session.add(review)
    session.flush()
    audit.record(session=session, actor=actor, action="infosec.review.create", entity="infosec_review",
                 entity_id=review.id, details={"agency_id": review.agency_id, "checklist": checklist.code,
                                               "version": checklist.version})
    return review


def get_review(*, session: Session, review_id: int) -> InfosecReview:
    review = session.get(InfosecReview, review_id)
    if review is None:
        raise NotFound(_("no infosec review {ref}").format(ref=review_id))
    return review


def review_outcome(results: dict[str, str], severities: list[Severity]) -> Outcome:
    """Pure: fail with any failed critical item or critical finding; findings or failed items: pass_with_findings."""
    if Severity.critical in severities:
        return Outcome.failed
    if severities or any(value == "fail" for value in results.values()):
        return Outcome.pass_with_findings
    return Outcome.passed


def complete_review(*, session: Session, review: InfosecReview, data: ReviewComplete, actor: str) -> InfosecReview:
    """Complete a draft: every item answered; a failed item without a finding gets one at its default severity."""
    _check(REVIEW_TRANSITIONS, ReviewStatus(review.status), ReviewStatus.completed, _("review"))
    checklist = get_checklist(review.checklist_code, review.checklist_version)
    codes = {item.code for item in checklist.items}
    unknown = sorted(set(data.results) - codes)
    missing = sorted(codes - set(data.results))
    if unknown or missing:
        raise RuleViolation(_("results must answer every item of {checklist}: unknown {unknown}; missing {missing}")
                            .format(checklist=checklist.code, unknown=", ".join(unknown) or "-",
                                    missing=", ".join(missing) or "-"), code="checklist_results")
    existing = set(session.scalars(select(InfosecFinding.item_code).where(InfosecFinding.review_id == review.id)))
    for code, value in sorted(data.results.items()):
        if value == "fail" and code not in existing:
            item = checklist.item(code)
            add_finding(session=session, review=review, data=FindingCreate(
                item_code=code, description=_("failed: {title}").format(title=item.title.en)), actor=actor)
    severities = [Severity(s) for s in session.scalars(
        select(InfosecFinding.severity).where(InfosecFinding.review_id == review.id))]
    review.results = dict(data.results)
    review.evidence_refs = [*review.evidence_refs, *[r for r in data.evidence_refs if r not in review.evidence_refs]]
    if data.notes:
        review.notes = data.notes
    review.outcome = review_outcome(review.results, severities).value
    review.status = ReviewStatus.completed.value
    review.completed_by, review.completed_at = actor, utcnow()
    review.next_review_due = add_months(review.reviewed_on, get_settings().infosec_review_interval_months)
    session.flush()
    audit.record(session=session, actor=actor, action="infosec.review.complete", entity="infosec_review",
                 entity_id=review.id, details={"outcome": review.outcome, "findings": len(severities)})
    return review


def list_reviews(*, session: Session, agency_id: int | None = None, status: str | None = None, offset: int = 0,
                 limit: int = 50) -> tuple[list[InfosecReview], int]:
    query = select(InfosecReview)
    if agency_id is not None:
        query = query.where(InfosecReview.agency_id == agency_id)
    if status:
        query = query.where(InfosecReview.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(InfosecReview.reviewed_on.desc(), InfosecReview.id.desc())
                           .offset(offset).limit(limit))
    return list(rows), total


@dataclass(frozen=True)
class ReviewDue:
    agency_id: int
    agency_code: str
    due_on: date | None  # None: never reviewed
    last_reviewed_on: date | None


def reviews_due(*, session: Session, as_of: date) -> list[ReviewDue]:
    """Active agencies whose next infosec review is due by `as_of`, or that were never reviewed."""
    latest = (select(InfosecReview.agency_id, func.max(InfosecReview.id).label("last_id"))
              .where(InfosecReview.status == ReviewStatus.completed.value)
              .group_by(InfosecReview.agency_id).subquery())
    rows = session.execute(
        select(Agency.id, Agency.code, InfosecReview.next_review_due, InfosecReview.reviewed_on)
        .outerjoin(latest, latest.c.agency_id == Agency.id)
        .outerjoin(InfosecReview, InfosecReview.id == latest.c.last_id)
        .where(Agency.status == AgencyStatus.active.value).order_by(Agency.code)
    ).all()
    return [ReviewDue(agency_id=i, agency_code=code, due_on=due, last_reviewed_on=last)
            for i, code, due, last in rows if due is None or due <= as_of]


# --- findings -----------------------------------------------------------------------------------


def default_due(severity: Severity, day: date) -> date:
    from datetime import timedelta

    return day + timedelta(days=get_settings().infosec_remediation_days.get(severity.value, 90))


def add_finding(*, session: Session, review: InfosecReview, data: FindingCreate, actor: str) -> InfosecFinding:
    """Record a finding of a review (not of a completed one), with its severity and remediation deadline."""
    if review.status != ReviewStatus.draft.value:
        raise Conflict(_("review {ref} is completed: findings are added to a draft").format(ref=review.id),
                       code="review_completed")
    item = get_checklist(review.checklist_code, review.checklist_version).item(data.item_code)
    if item is None:
        raise RuleViolation(_("no item {code} in checklist {checklist}").format(
            code=data.item_code, checklist=review.checklist_code), code="unknown_item")
    severity = data.severity or item.default_severity
    due = data.remediation_due_on or default_due(severity, review.reviewed_on)
    if due < review.reviewed_on:
        raise RuleViolation(_("the remediation deadline is before the review"), code="deadline_before_review")
    finding = InfosecFinding(
        review_id=review.id, agency_id=review.agency_id, item_code=item.code, severity=severity.value,
        description=data.description, remediation_due_on=due, status=FindingStatus.open.value,
        evidence_ref=data.evidence_ref, reported_by=actor,
    )
    session.add(finding)
    session.flush()
    audit.record(session=session, actor=actor, action="infosec.finding.create", entity="infosec_finding",
                 entity_id=finding.id, details={"review_id": review.id, "item": item.code,
                                                "severity": severity.value, "due": due.isoformat()})
    return finding


def get_finding(*, session: Session, finding_id: int) -> InfosecFinding:
    finding = session.get(InfosecFinding, finding_id)
    if finding is None:
        raise NotFound(_("no infosec finding {ref}").format(ref=finding_id))
    return finding


def _check(table, current, to, what: str) -> None:
    if to not in table[current]:
        raise IllegalTransition(_("{what} cannot go from {current} to {to}").format(what=what, current=current,
                                                                                    to=to))


def transition_finding(
    *, session: Session, finding: InfosecFinding, data: FindingTransition, actor: str, at: datetime | None = None
) -> InfosecFinding:
    """Move a finding along its lifecycle (open -> remediated -> verified, or open -> risk_accepted)."""
    at = at or utcnow()
    current = FindingStatus(finding.status)
    _check(FINDING_TRANSITIONS, current, data.to, _("finding"))
    if data.to == FindingStatus.remediated:
        if not (data.evidence_ref or finding.evidence_ref):
            raise RuleViolation(_("remediation needs an evidence reference"), code="evidence_required")
        finding.remediated_by, finding.remediated_at = actor, at
    elif data.to == FindingStatus.verified:
        finding.verified_by, finding.verified_at = actor, at
    elif data.to == FindingStatus.risk_accepted:
        if actor == finding.reported_by:
            raise RuleViolation(_("a risk is accepted by someone other than who reported the finding"),
                                code="four_eyes")
        if not data.note:
            raise RuleViolation(_("say why the risk is accepted"), code="reason_required")
        finding.accepted_by, finding.accepted_at = actor, at
    if data.evidence_ref:
        finding.evidence_ref = data.evidence_ref
    if data.note:
        finding.note = data.note
    finding.status = data.to.value
    session.flush()
    audit.record(session=session, actor=actor, action="infosec.finding.transition", entity="infosec_finding",
                 entity_id=finding.id, details={"from": current.value, "to": data.to.value,
                                                "evidence_ref": data.evidence_ref})
    return finding


def list_findings(*, session: Session, agency_id: int | None = None, review_id: int | None = None,
                  status: str | None = None, severity: str | None = None, offset: int = 0,
                  limit: int = 50) -> tuple[list[InfosecFinding], int]:
    query = select(InfosecFinding)
    for column, value in ((InfosecFinding.agency_id, agency_id), (InfosecFinding.review_id, review_id),
                          (InfosecFinding.status, status), (InfosecFinding.severity, severity)):
        if value is not None:
            query = query.where(column == value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(InfosecFinding.remediation_due_on, InfosecFinding.id)
                           .offset(offset).limit(limit))
    return list(rows), total


def overdue_critical(*, session: Session, as_of: date) -> dict[int, list[InfosecFinding]]:
    """agency_id -> its open critical findings past their deadline (remediated ones wait for verification:
    they still count until verified)."""
    rows = session.scalars(select(InfosecFinding).where(
        InfosecFinding.severity == Severity.critical.value, InfosecFinding.status.in_(UNRESOLVED),
        InfosecFinding.remediation_due_on < as_of,
    ).order_by(InfosecFinding.agency_id, InfosecFinding.id))
    found: dict[int, list[InfosecFinding]] = {}
    for finding in rows:
        found.setdefault(finding.agency_id, []).append(finding)
    return found


def enforce_deadlines(*, session: Session, as_of: date, actor: str) -> dict:
    """Block agencies with an overdue critical finding (idempotent); lift the block (by "system") when none is left."""
    from weiwai.compliance.models import PlacementBlock
    from weiwai.compliance.thresholds import ensure_block

    overdue = overdue_critical(session=session, as_of=as_of)
    created = 0
    for agency_id, findings in overdue.items():
        code = session.scalar(select(Agency.code).where(Agency.id == agency_id))
        _block, new = ensure_block(
            session=session, agency_id=agency_id, reason=BLOCK_REASON, actor=actor,
            details={"findings": [f.id for f in findings], "as_of": as_of.isoformat()},
            message=_("new placements to agency {code} are stopped: {n} critical information-security finding(s) "
                      "past their remediation deadline").format(code=code, n=len(findings)),
        )
        created += new
    lifted = 0
    for block in session.scalars(select(PlacementBlock).where(
            PlacementBlock.reason == BLOCK_REASON, PlacementBlock.lifted_at.is_(None))):
        if block.agency_id not in overdue:
            block.lifted_at, block.lifted_by = utcnow(), "system"
            block.lift_reason = _("no critical information-security finding is overdue any more")
            lifted += 1
    session.flush()
    return {"blocks_created": created, "blocks_lifted": lifted, "agencies_overdue": len(overdue)}
