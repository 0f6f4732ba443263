"""HTTP API of evaluations and scorecards, under /api/v1.

Evaluations compare agencies with each other, so only lender staff see them; agency users
get 404, as if they did not exist. Scorecards: lender staff see every agency's; an agency
manager sees only its own agency's (any other agency answers 404); collectors see none.
Every XLSX export is audited.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from weiwai.clock import today_local
from weiwai.errors import NotFound
from weiwai.i18n import _
from weiwai.reports.evaluation import evaluate_agencies, evaluate_batch
from weiwai.reports.export import evaluation_workbook
from weiwai.reports.schemas import Evaluation, ScorecardPage, ScorecardRead
from weiwai.reports.scorecards import list_scorecards
from weiwai.security import audit
from weiwai.security.models import Role
from weiwai.web.deps import CurrentUser, Principal, SessionDep

router = APIRouter(prefix="/api/v1", tags=["evaluation"])

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_PAGE_SIZE = 500


def lender_only(principal: CurrentUser) -> Principal:
    """The principal if lender staff; 404 for agency users, so nothing leaks about other agencies."""
    if not principal.is_lender:
        raise NotFound(_("not found"))
    return principal


def scorecard_reader(principal: CurrentUser) -> Principal:
    if principal.is_lender or (principal.role == Role.agency_manager and principal.agency_id is not None):
        return principal
    raise NotFound(_("not found"))


Lender = Annotated[Principal, Depends(lender_only)]
ScorecardReader = Annotated[Principal, Depends(scorecard_reader)]
AsOf = Annotated[date | None, Query(description="Day the figures are computed as of (default: today).")]
DateFrom = Annotated[date, Query(alias="from", description="First day of the period.")]
DateTo = Annotated[date, Query(alias="to", description="Last day of the period.")]


def _xlsx(evaluation: Evaluation, *, session, principal: Principal, name: str) -> Response:
    audit.record(session=session, actor=principal.actor, action="export", entity="evaluation", entity_id=name)
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", f"evaluation-{name}") + ".xlsx"
    return Response(
        evaluation_workbook(evaluation), media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/evaluations/batches/{batch_no}", response_model=Evaluation)
def get_batch_evaluation(session: SessionDep, _principal: Lender, batch_no: str, as_of: AsOf = None) -> Evaluation:
    """The batch's agencies side by side in each stratum, and mix-adjusted overall."""
    return evaluate_batch(session=session, batch_no=batch_no, as_of=as_of or today_local())


@router.get("/evaluations/batches/{batch_no}/export.xlsx", response_class=Response)
def export_batch_evaluation(session: SessionDep, principal: Lender, batch_no: str, as_of: AsOf = None) -> Response:
    """The batch evaluation as XLSX: by stratum, overall, scorecard."""
    day = as_of or today_local()
    evaluation = evaluate_batch(session=session, batch_no=batch_no, as_of=day)
    return _xlsx(evaluation, session=session, principal=principal, name=f"{batch_no}-{day}")


@router.get("/evaluations/agencies", response_model=Evaluation)
def get_period_evaluation(session: SessionDep, _principal: Lender, date_from: DateFrom, date_to: DateTo) -> Evaluation:
    """Agencies compared on every case they held in a period."""
    return evaluate_agencies(session=session, date_from=date_from, date_to=date_to)


@router.get("/evaluations/agencies/export.xlsx", response_class=Response)
def export_period_evaluation(session: SessionDep, principal: Lender, date_from: DateFrom, date_to: DateTo) -> Response:
    evaluation = evaluate_agencies(session=session, date_from=date_from, date_to=date_to)
    return _xlsx(evaluation, session=session, principal=principal, name=f"{date_from}-{date_to}")


@router.get("/scorecards", response_model=ScorecardPage)
def get_scorecards(
    session: SessionDep,
    principal: ScorecardReader,
    agency_id: int | None = None,
    batch_no: str | None = None,
    as_of: Annotated[date | None, Query(description="Scoring day (default: the newest of each batch).")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> ScorecardPage:
    """Stored scorecards; an agency manager gets only its own agency's."""
    if not principal.is_lender:
        if agency_id is not None and agency_id != principal.agency_id:
            raise NotFound(_("no scorecards for agency {agency_id}").format(agency_id=agency_id))
        agency_id = principal.agency_id
    rows, total = list_scorecards(
        session=session, agency_id=agency_id, batch_no=batch_no, as_of=as_of, offset=offset, limit=limit
    )
    return ScorecardPage(items=[ScorecardRead.model_validate(row) for row in rows], total=total)
