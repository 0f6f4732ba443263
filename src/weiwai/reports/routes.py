"""HTTP API of evaluations and scorecards, under /api/v1.

Evaluations compare agencies with each other: they need evaluations.read, which only
lender roles hold. Scorecards need scorecards.read: lender staff see every agency's, agency
users only their own agency's (weiwai.security.scope; asking for another agency answers
404, like an agency that does not exist). Every XLSX export is audited.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from weiwai.clock import today_local
from weiwai.i18n import _
from weiwai.reports.evaluation import evaluate_agencies, evaluate_batch
from weiwai.reports.export import evaluation_workbook
from weiwai.reports.schemas import Evaluation, ScorecardRead
from weiwai.reports.scorecards import list_scorecards
from weiwai.security import audit
from weiwai.security.permissions import Permission
from weiwai.security.scope import own_agency
from weiwai.web.deps import Allowed, Principal, SessionDep
from weiwai.web.pagination import Page
from weiwai.web.params import OptionalRowId, PathRef, QueryRef

router = APIRouter(prefix="/api/v1", tags=["evaluation"])

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_PAGE_SIZE = 500

Lender = Allowed(Permission.evaluations_read)
ScorecardReader = Allowed(Permission.scorecards_read)
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
def get_batch_evaluation(session: SessionDep, _principal: Lender, batch_no: PathRef, as_of: AsOf = None) -> Evaluation:
    """The batch's agencies side by side in each stratum, and mix-adjusted overall."""
    return evaluate_batch(session=session, batch_no=batch_no, as_of=as_of or today_local())


@router.get("/evaluations/batches/{batch_no}/export.xlsx", response_class=Response)
def export_batch_evaluation(session: SessionDep, principal: Lender, batch_no: PathRef, as_of: AsOf = None) -> Response:
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


@router.get("/scorecards", response_model=Page[ScorecardRead])
def get_scorecards(
    session: SessionDep,
    principal: ScorecardReader,
    agency_id: OptionalRowId = None,
    batch_no: QueryRef = None,
    as_of: Annotated[date | None, Query(description="Scoring day (default: the newest of each batch).")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> Page[ScorecardRead]:
    """Stored scorecards; agency users get only their own agency's."""
    if not principal.is_lender and principal.agency_id is None:
        return Page(items=[], total=0, offset=offset, limit=limit)
    rows, total = list_scorecards(
        session=session, agency_id=own_agency(principal, agency_id, what=_("agency")), batch_no=batch_no,
        as_of=as_of, offset=offset, limit=limit,
    )
    return Page(items=[ScorecardRead.model_validate(row) for row in rows], total=total, offset=offset, limit=limit)
