"""HTTP API of screening, placement batches, cases after placement and jobs, under /api/v1.

Lender roles read (previews read too: they write nothing); admin and operations write;
only admin runs jobs by hand. Agency users have no access here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from weiwai.jobs.registry import registered_jobs
from weiwai.placements import batches, cases, screening_service
from weiwai.placements.common import local_today
from weiwai.placements.models import BatchStatus
from weiwai.placements.schemas import (
    AccountExplanation,
    BatchRead,
    CaseOutcome,
    CaseRead,
    ExplainRequest,
    ExtendRequest,
    JobRunRequest,
    PlacementPreview,
    PlacementRequest,
    ReasonRequest,
    ReassignRequest,
    RecallRequest,
    RuleSetCreate,
    RuleSetRead,
    ScreeningPreview,
    ScreenRequest,
)
from weiwai.placements.screening import ScreeningRules
from weiwai.security.models import Role
from weiwai.web.deps import LENDER_ROLES, Principal, SessionDep, require_roles

router = APIRouter(prefix="/api/v1", tags=["placements"])

Reader = Annotated[Principal, Depends(require_roles(*LENDER_ROLES))]
Writer = Annotated[Principal, Depends(require_roles(Role.admin, Role.operations))]
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]


# --- screening ----------------------------------------------------------------------------


@router.post("/screening/preview", response_model=ScreeningPreview)
def preview_screening(session: SessionDep, _principal: Reader, body: ScreenRequest) -> ScreeningPreview:
    return screening_service.preview_screening(session=session, rules=body.rules, as_of=body.as_of or local_today())


@router.post("/screening/explain", response_model=AccountExplanation)
def explain_account(session: SessionDep, _principal: Reader, body: ExplainRequest) -> AccountExplanation:
    return screening_service.explain_account(
        session=session, rules=body.rules, account_no=body.account_no, as_of=body.as_of or local_today()
    )


@router.get("/screening/rule-sets", response_model=list[RuleSetRead])
def list_rule_sets(session: SessionDep, _principal: Reader) -> list[RuleSetRead]:
    return [RuleSetRead.model_validate(r) for r in screening_service.list_rule_sets(session=session)]


@router.post("/screening/rule-sets", response_model=RuleSetRead, status_code=status.HTTP_201_CREATED)
def save_rule_set(session: SessionDep, principal: Writer, body: RuleSetCreate, response: Response) -> RuleSetRead:
    """201 with a new version; 200 with the existing version when the rules are unchanged."""
    rule_set, created = screening_service.save_rule_set(
        session=session, rules=body.rules, name=body.name, actor=principal.actor
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return RuleSetRead.model_validate(rule_set)


# --- placement batches ------------------------------------------------------------------------


@router.post("/placements/preview", response_model=PlacementPreview)
def preview_placement(session: SessionDep, _principal: Reader, body: PlacementRequest) -> PlacementPreview:
    return batches.preview_placement(
        session=session, rules=_rules(session, body), strategy=body.strategy, as_of=body.as_of or local_today(),
        agencies=body.agencies,
    )


@router.post("/placements", response_model=BatchRead, status_code=status.HTTP_201_CREATED)
def create_batch(session: SessionDep, principal: Writer, body: PlacementRequest) -> BatchRead:
    """A draft batch holding the allocation; confirm it to create the cases."""
    if body.rules is not None:
        rule_set, _created = screening_service.save_rule_set(
            session=session, rules=body.rules, name=body.save_as, actor=principal.actor
        )
    else:
        rule_set = screening_service.get_rule_set(session=session, name=body.rule_set, version=body.rule_set_version)
    batch = batches.create_batch(
        session=session, rule_set=rule_set, strategy=body.strategy, as_of=body.as_of or local_today(),
        actor=principal.actor, agencies=body.agencies,
    )
    return batches.batch_read(session=session, batch=batch)


@router.get("/placements", response_model=list[BatchRead])
def list_batches(
    session: SessionDep, _principal: Reader, status_: Annotated[BatchStatus | None, Query(alias="status")] = None
) -> list[BatchRead]:
    return [batches.batch_read(session=session, batch=b)
            for b in batches.list_batches(session=session, status=status_)]


@router.get("/placements/{batch_no}", response_model=BatchRead)
def get_batch(session: SessionDep, _principal: Reader, batch_no: str) -> BatchRead:
    return batches.batch_read(session=session, batch=batches.get_batch(session=session, batch_no=batch_no))


@router.post("/placements/{batch_no}/confirm", response_model=BatchRead)
def confirm_batch(session: SessionDep, principal: Writer, batch_no: str) -> BatchRead:
    batch = batches.confirm_batch(session=session, batch_no=batch_no, actor=principal.actor)
    return batches.batch_read(session=session, batch=batch)


@router.post("/placements/{batch_no}/discard", response_model=BatchRead)
def discard_batch(session: SessionDep, principal: Writer, batch_no: str) -> BatchRead:
    batch = batches.discard_batch(session=session, batch_no=batch_no, actor=principal.actor)
    return batches.batch_read(session=session, batch=batch)


# --- cases -------------------------------------------------------------------------------------


@router.post("/cases/recall", response_model=CaseOutcome)
def recall_cases(session: SessionDep, principal: Writer, body: RecallRequest) -> CaseOutcome:
    return cases.recall_cases(session=session, reason=body.reason, actor=principal.actor, case_nos=body.case_nos,
                              agency=body.agency, batch=body.batch)


@router.post("/cases/reassign", response_model=CaseOutcome, status_code=status.HTTP_201_CREATED)
def reassign_cases(session: SessionDep, principal: Writer, body: ReassignRequest) -> CaseOutcome:
    return cases.reassign_cases(session=session, case_nos=body.case_nos, agency=body.agency, reason=body.reason,
                                actor=principal.actor, as_of=body.as_of)


@router.get("/cases/{case_no}", response_model=CaseRead)
def get_case(session: SessionDep, _principal: Reader, case_no: str) -> CaseRead:
    return cases.case_read(session=session, case=cases.get_case(session=session, case_no=case_no))


@router.post("/cases/{case_no}/extend", response_model=CaseRead)
def extend_case(session: SessionDep, principal: Writer, case_no: str, body: ExtendRequest) -> CaseRead:
    case = cases.extend_case(session=session, case_no=case_no, days=body.days, reason=body.reason,
                             actor=principal.actor)
    return cases.case_read(session=session, case=case)


@router.post("/cases/{case_no}/return", response_model=CaseOutcome)
def return_case(session: SessionDep, principal: Writer, case_no: str, body: ReasonRequest) -> CaseOutcome:
    return cases.return_case(session=session, case_no=case_no, reason=body.reason, actor=principal.actor)


# --- jobs --------------------------------------------------------------------------------------


@router.get("/jobs")
def list_jobs(_principal: Reader) -> list[dict[str, Any]]:
    today = local_today()
    return [{"name": job.name, "order": job.order, "description": job.description, "due_today": job.due(today)}
            for job in registered_jobs()]


@router.get("/jobs/runs")
def job_runs(session: SessionDep, _principal: Reader, job: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    from weiwai.jobs.runner import job_history

    return [{"job": run.job, "run_for": run.run_for, "started_at": run.started_at, "finished_at": run.finished_at,
             "result": run.result} for run in job_history(session=session, job=job, limit=min(limit, 500))]


@router.post("/jobs/run")
def run_jobs(_principal: Admin, body: JobRunRequest) -> list[dict[str, Any]]:
    """Run due jobs now (each job in its own transaction, not the request's)."""
    from weiwai.jobs.runner import run_due_jobs

    outcomes = run_due_jobs(run_for=body.run_for or local_today(), only=body.only)
    return [{"job": o.job, "run_for": o.run_for, "status": o.status, "result": o.result, "error": o.error}
            for o in outcomes]


def _rules(session, body: PlacementRequest) -> ScreeningRules:
    if body.rules is not None:
        return body.rules
    rule_set = screening_service.get_rule_set(session=session, name=body.rule_set, version=body.rule_set_version)
    return screening_service.rules_of(rule_set)
