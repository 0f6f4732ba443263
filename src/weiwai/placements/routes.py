"""HTTP API of screening, placement batches, cases after placement and jobs, under /api/v1.

Each route names the one permission it needs (weiwai.security.permissions, docs/roles.md).
Which cases a caller sees is weiwai.security.scope's rule: agency users and tokens
read their agency's open cases here (GET /cases, /cases/{case_no}, its history), with
the lender-only fields left out; any other case is 404. POSTs that create (a batch,
its confirmation) take an Idempotency-Key; extend and return honour If-Match.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from weiwai.jobs.registry import registered_jobs
from weiwai.placements import batches, cases, queries, screening_service
from weiwai.placements.common import local_today
from weiwai.placements.models import BatchStatus
from weiwai.placements.schemas import (
    AccountExplanation,
    BatchRead,
    CaseChangeRead,
    CaseFilters,
    CaseOutcome,
    CaseRead,
    CaseSummary,
    ExplainRequest,
    ExtendRequest,
    JobRunRead,
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
from weiwai.security.permissions import Permission as P
from weiwai.security.scope import visible_case
from weiwai.web.deps import Allowed, SessionDep
from weiwai.web.etag import check_if_match, set_etag
from weiwai.web.idempotency import Idempotency
from weiwai.web.pagination import DEFAULT_PAGE_SIZE, Limit, Offset, Page
from weiwai.web.params import PathRef, QueryRef

router = APIRouter(prefix="/api/v1", tags=["placements"])


# --- screening ----------------------------------------------------------------------------


@router.post("/screening/preview", response_model=ScreeningPreview)
def preview_screening(
    session: SessionDep, _principal: Allowed(P.screening_read), body: ScreenRequest
) -> ScreeningPreview:
    """Counts and balances of a screening; writes nothing."""
    return screening_service.preview_screening(session=session, rules=body.rules, as_of=body.as_of or local_today())


@router.post("/screening/explain", response_model=AccountExplanation)
def explain_account(
    session: SessionDep, _principal: Allowed(P.screening_read), body: ExplainRequest
) -> AccountExplanation:
    """Every criterion the rules apply to one account, passed or failed."""
    return screening_service.explain_account(
        session=session, rules=body.rules, account_no=body.account_no, as_of=body.as_of or local_today()
    )


@router.get("/screening/rule-sets", response_model=Page[RuleSetRead])
def list_rule_sets(
    session: SessionDep,
    _principal: Allowed(P.screening_read),
    name: QueryRef = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[RuleSetRead]:
    """Saved rule set versions, by name then version."""
    return queries.list_rule_sets(session=session, name=name, offset=offset, limit=limit)


@router.post("/screening/rule-sets", response_model=RuleSetRead, status_code=status.HTTP_201_CREATED)
def save_rule_set(
    session: SessionDep, principal: Allowed(P.screening_write), body: RuleSetCreate, response: Response
) -> RuleSetRead:
    """201 with a new version; 200 with the existing version when the rules are unchanged."""
    rule_set, created = screening_service.save_rule_set(
        session=session, rules=body.rules, name=body.name, actor=principal.actor
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return RuleSetRead.model_validate(rule_set)


# --- placement batches ------------------------------------------------------------------------


@router.post("/placements/preview", response_model=PlacementPreview)
def preview_placement(
    session: SessionDep, _principal: Allowed(P.placements_read), body: PlacementRequest
) -> PlacementPreview:
    """An allocation as it would be made; writes nothing."""
    return batches.preview_placement(
        session=session, rules=_rules(session, body), strategy=body.strategy, as_of=body.as_of or local_today(),
        agencies=body.agencies,
    )


@router.post("/placements", response_model=BatchRead, status_code=status.HTTP_201_CREATED)
def create_batch(
    session: SessionDep, principal: Allowed(P.placements_write), body: PlacementRequest, idempotency: Idempotency
) -> BatchRead:
    """A draft batch holding the allocation; confirm it to create the cases."""

    def work() -> BatchRead:
        if body.rules is not None:
            rule_set, _created = screening_service.save_rule_set(
                session=session, rules=body.rules, name=body.save_as, actor=principal.actor
            )
        else:
            rule_set = screening_service.get_rule_set(
                session=session, name=body.rule_set, version=body.rule_set_version)
        batch = batches.create_batch(
            session=session, rule_set=rule_set, strategy=body.strategy, as_of=body.as_of or local_today(),
            actor=principal.actor, agencies=body.agencies,
        )
        return batches.batch_read(session=session, batch=batch)

    return idempotency.run(work, body=body, status_code=status.HTTP_201_CREATED)


@router.get("/placements", response_model=Page[BatchRead])
def list_batches(
    session: SessionDep,
    _principal: Allowed(P.placements_read),
    status_: Annotated[BatchStatus | None, Query(alias="status")] = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[BatchRead]:
    """Placement batches, newest first."""
    return queries.list_batches(session=session, status=status_, offset=offset, limit=limit)


@router.get("/placements/{batch_no}", response_model=BatchRead)
def get_batch(session: SessionDep, _principal: Allowed(P.placements_read), batch_no: PathRef) -> BatchRead:
    return batches.batch_read(session=session, batch=batches.get_batch(session=session, batch_no=batch_no))


@router.post("/placements/{batch_no}/confirm", response_model=BatchRead)
def confirm_batch(
    session: SessionDep, principal: Allowed(P.placements_write), batch_no: PathRef, idempotency: Idempotency
) -> BatchRead:
    """Create the draft's cases, if nothing changed since it was made (else 409 batch_stale)."""

    def work() -> BatchRead:
        batch = batches.confirm_batch(session=session, batch_no=batch_no, actor=principal.actor)
        return batches.batch_read(session=session, batch=batch)

    return idempotency.run(work)


@router.post("/placements/{batch_no}/discard", response_model=BatchRead)
def discard_batch(
    session: SessionDep, principal: Allowed(P.placements_write), batch_no: PathRef
) -> BatchRead:
    batch = batches.discard_batch(session=session, batch_no=batch_no, actor=principal.actor)
    return batches.batch_read(session=session, batch=batch)


# --- cases -------------------------------------------------------------------------------------


@router.get("/cases", response_model=Page[CaseSummary])
def list_cases(
    session: SessionDep,
    principal: Allowed(P.cases_read),
    filters: Annotated[CaseFilters, Query()],
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[CaseSummary]:
    """The cases the caller may see that match the filters, by case number."""
    return queries.list_cases(session=session, principal=principal, filters=filters, offset=offset, limit=limit)


@router.post("/cases/recall", response_model=CaseOutcome)
def recall_cases(session: SessionDep, principal: Allowed(P.cases_manage), body: RecallRequest) -> CaseOutcome:
    """Recall named cases, or every open case of an agency or a batch."""
    return cases.recall_cases(session=session, reason=body.reason, actor=principal.actor, case_nos=body.case_nos,
                              agency=body.agency, batch=body.batch)


@router.post("/cases/reassign", response_model=CaseOutcome, status_code=status.HTTP_201_CREATED)
def reassign_cases(session: SessionDep, principal: Allowed(P.cases_manage), body: ReassignRequest) -> CaseOutcome:
    """Place ended cases again with another agency, as new cases in a new batch."""
    return cases.reassign_cases(session=session, case_nos=body.case_nos, agency=body.agency, reason=body.reason,
                                actor=principal.actor, as_of=body.as_of)


@router.get("/cases/{case_no}", response_model=CaseRead)
def get_case(
    session: SessionDep, principal: Allowed(P.cases_read), case_no: PathRef, response: Response
) -> CaseRead:
    """One case with its history; the ETag is its version."""
    case = visible_case(session=session, principal=principal, case_no=case_no)
    set_etag(response, case.version)
    return cases.case_read(session=session, case=case, lender=principal.is_lender)


@router.get("/cases/{case_no}/history", response_model=list[CaseChangeRead])
def get_case_history(
    session: SessionDep, principal: Allowed(P.cases_read), case_no: PathRef
) -> list[CaseChangeRead]:
    """The case's status changes, oldest first."""
    case = visible_case(session=session, principal=principal, case_no=case_no)
    return cases.case_history(session=session, case=case, lender=principal.is_lender)


@router.post("/cases/{case_no}/extend", response_model=CaseRead)
def extend_case(
    session: SessionDep, principal: Allowed(P.cases_manage), case_no: PathRef, body: ExtendRequest, request: Request,
    response: Response,
) -> CaseRead:
    """Keep an open case with its agency longer (留案); honours If-Match."""
    case = visible_case(session=session, principal=principal, case_no=case_no, lock=True)
    check_if_match(request, case.version)
    case = cases.extend_case(session=session, case_no=case.case_no, days=body.days, reason=body.reason,
                             actor=principal.actor)
    set_etag(response, case.version)
    return cases.case_read(session=session, case=case, lender=principal.is_lender)


@router.post("/cases/{case_no}/return", response_model=CaseOutcome)
def return_case(
    session: SessionDep, principal: Allowed(P.cases_manage), case_no: PathRef, body: ReasonRequest, request: Request,
    response: Response,
) -> CaseOutcome:
    """The agency gives an open case back (退案); honours If-Match."""
    case = visible_case(session=session, principal=principal, case_no=case_no, lock=True)
    check_if_match(request, case.version)
    outcome = cases.return_case(session=session, case_no=case.case_no, reason=body.reason, actor=principal.actor)
    set_etag(response, case.version)
    return outcome


# --- jobs --------------------------------------------------------------------------------------


@router.get("/jobs")
def list_jobs(_principal: Allowed(P.jobs_read)) -> list[dict[str, Any]]:
    """The registered jobs in the order they run, and whether each is due today."""
    today = local_today()
    return [{"name": job.name, "order": job.order, "description": job.description, "due_today": job.due(today)}
            for job in registered_jobs()]


@router.get("/jobs/runs", response_model=Page[JobRunRead])
def job_runs(
    session: SessionDep,
    _principal: Allowed(P.jobs_read),
    job: QueryRef = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[JobRunRead]:
    """Runs of the jobs, latest day first."""
    return queries.list_job_runs(session=session, job=job, offset=offset, limit=limit)


@router.post("/jobs/run")
def run_jobs(_principal: Allowed(P.jobs_run), body: JobRunRequest) -> list[dict[str, Any]]:
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
