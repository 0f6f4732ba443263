"""HTTP API of commission statements, under /api/v1.

Finance, admin and auditors see every statement. An agency manager sees only the
issued statements of their own agency; anything else answers 404, as if it did not
exist (drafts are the lender's work in progress).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from weiwai.errors import NotFound
from weiwai.i18n import _
from weiwai.security import audit
from weiwai.security.models import Role
from weiwai.settlement.models import CommissionStatement, StatementStatus
from weiwai.settlement.schemas import StatementPage, StatementRead
from weiwai.settlement.service import list_statements, statement_document
from weiwai.settlement.statements import get_statement
from weiwai.web.deps import Principal, SessionDep, require_roles

router = APIRouter(prefix="/api/v1", tags=["statements"])

MAX_PAGE_SIZE = 200
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Reader = Annotated[
    Principal, Depends(require_roles(Role.finance, Role.admin, Role.auditor, Role.agency_manager))
]


def _agency_view(principal: Principal) -> bool:
    return principal.role == Role.agency_manager


def _visible(session, principal: Principal, statement_id: int) -> CommissionStatement:
    statement = get_statement(session=session, ref=statement_id)
    if _agency_view(principal) and (
        statement.agency_id != principal.agency_id or statement.status != StatementStatus.issued
    ):
        raise NotFound(_("no statement {ref}").format(ref=statement_id))
    return statement


@router.get("/statements", response_model=StatementPage)
def get_statements(
    session: SessionDep,
    principal: Reader,
    agency_id: int | None = None,
    period: str | None = None,
    statement_status: Annotated[StatementStatus | None, Query(alias="status")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> StatementPage:
    """Statements, newest period first; an agency manager gets their agency's issued ones only."""
    if _agency_view(principal):
        if principal.agency_id is None or (agency_id is not None and agency_id != principal.agency_id) or (
            statement_status is not None and statement_status != StatementStatus.issued
        ):
            return StatementPage(items=[], total=0)
        agency_id, statement_status = principal.agency_id, StatementStatus.issued
    items, total = list_statements(session=session, agency_id=agency_id, period=period, status=statement_status,
                                   offset=offset, limit=limit)
    return StatementPage(items=[StatementRead.model_validate(item) for item in items], total=total)


@router.get("/statements/{statement_id}", response_model=StatementRead)
def get_statement_by_id(session: SessionDep, principal: Reader, statement_id: int) -> StatementRead:
    return StatementRead.model_validate(_visible(session, principal, statement_id))


@router.get("/statements/{statement_id}/xlsx", response_class=FileResponse)
def get_statement_xlsx(session: SessionDep, principal: Reader, statement_id: int) -> FileResponse:
    """The statement document; for an issued statement, verified against the SHA-256 kept at issue."""
    statement = _visible(session, principal, statement_id)
    path = statement_document(session=session, statement=statement)
    audit.record(session=session, actor=principal.actor, action="export", entity="commission_statement",
                 entity_id=statement.id, details={"statement_no": statement.statement_no,
                                                  "sha256": statement.document_sha256})
    return FileResponse(path, media_type=XLSX_MEDIA_TYPE, filename=f"{statement.statement_no}.xlsx",
                        background=BackgroundTask(path.unlink, missing_ok=True))
