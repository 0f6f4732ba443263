"""HTTP API of commission statements, under /api/v1.

Every route needs statements.read. Lender staff see every statement; agency users see
only the issued statements of their own agency (weiwai.security.scope): anything else,
drafts included (the lender's work in progress), answers 404, exactly like a statement
that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from weiwai.errors import NotFound
from weiwai.i18n import _
from weiwai.security import audit
from weiwai.security.permissions import Permission
from weiwai.security.scope import check_owned, own_agency
from weiwai.settlement.models import CommissionStatement, StatementStatus
from weiwai.settlement.schemas import StatementRead
from weiwai.settlement.service import list_statements, statement_document
from weiwai.settlement.statements import get_statement
from weiwai.web.deps import Allowed, Principal, SessionDep
from weiwai.web.pagination import Page
from weiwai.web.params import OptionalRowId, RowId

router = APIRouter(prefix="/api/v1", tags=["statements"])

MAX_PAGE_SIZE = 200
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Reader = Allowed(Permission.statements_read)


def _visible(session, principal: Principal, statement_id: int) -> CommissionStatement:
    """The statement, if this principal may see it; 404 alike for missing, foreign and draft ones."""
    statement = get_statement(session=session, ref=statement_id)
    check_owned(principal, statement.agency_id, ref=statement_id, what=_("statement"))
    if not principal.is_lender and statement.status != StatementStatus.issued:
        raise NotFound(_("no {what} {ref}").format(what=_("statement"), ref=statement_id))
    return statement


@router.get("/statements", response_model=Page[StatementRead])
def get_statements(
    session: SessionDep,
    principal: Reader,
    agency_id: OptionalRowId = None,
    period: Annotated[str | None, Query(description="YYYY-MM.")] = None,
    statement_status: Annotated[StatementStatus | None, Query(alias="status")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> Page[StatementRead]:
    """Statements, newest period first; agency users get their agency's issued ones only."""
    empty = Page[StatementRead](items=[], total=0, offset=offset, limit=limit)
    if not principal.is_lender:
        if principal.agency_id is None or (agency_id is not None and agency_id != principal.agency_id) or (
            statement_status is not None and statement_status != StatementStatus.issued
        ):
            return empty
        agency_id, statement_status = own_agency(principal, agency_id), StatementStatus.issued
    items, total = list_statements(session=session, agency_id=agency_id, period=period, status=statement_status,
                                   offset=offset, limit=limit)
    return Page(items=[StatementRead.model_validate(item) for item in items], total=total, offset=offset, limit=limit)


@router.get("/statements/{statement_id}", response_model=StatementRead)
def get_statement_by_id(session: SessionDep, principal: Reader, statement_id: RowId) -> StatementRead:
    return StatementRead.model_validate(_visible(session, principal, statement_id))


@router.get("/statements/{statement_id}/xlsx", response_class=FileResponse)
def get_statement_xlsx(session: SessionDep, principal: Reader, statement_id: RowId) -> FileResponse:
    """The statement document; for an issued statement, verified against the SHA-256 kept at issue."""
    statement = _visible(session, principal, statement_id)
    path = statement_document(session=session, statement=statement)
    audit.record(session=session, actor=principal.actor, action="export", entity="commission_statement",
                 entity_id=statement.id, details={"statement_no": statement.statement_no,
                                                  "sha256": statement.document_sha256})
    return FileResponse(path, media_type=XLSX_MEDIA_TYPE, filename=f"{statement.statement_no}.xlsx",
                        background=BackgroundTask(path.unlink, missing_ok=True))
