"""HTTP API of leak tracing: upload a leaked file (leaks.trace), read canary sightings (leaks.read).

Both are the lender's (compliance, infosec; sightings also the auditor): no agency role holds
these permissions, and no answer says which rows of a package are canaries beyond the ones found.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel

from weiwai.errors import RuleViolation
from weiwai.i18n import _
from weiwai.privacy import canaries, leaks
from weiwai.security.permissions import Permission
from weiwai.security.scope import own_agency
from weiwai.web.deps import Allowed, SessionDep
from weiwai.web.pagination import DEFAULT_PAGE_SIZE, Limit, Offset, Page
from weiwai.web.params import OptionalRowId

router = APIRouter(prefix="/api/v1", tags=["privacy"])


class PackageMatchRead(BaseModel):
    package_no: str
    agency_code: str
    agency_name: str
    contract_no: str
    canaries_in_package: int
    canaries_matched: int
    matched_by: dict[str, int]


class OverlapRead(BaseModel):
    package_no: str
    agency_code: str
    contract_no: str
    real_cases_found: int


class TraceRead(BaseModel):
    file: str
    sha256: str
    agency_code: str | None
    packages: list[PackageMatchRead]
    overlaps: list[OverlapRead]
    real_cases_found: int
    tokens: dict[str, int]
    sightings: int

    @classmethod
    def of(cls, result: leaks.TraceResult) -> TraceRead:
        return cls(file=result.file, sha256=result.sha256, agency_code=result.agency_code,
                   packages=[PackageMatchRead(**vars(m)) for m in result.packages],
                   overlaps=[OverlapRead(**vars(o)) for o in result.overlaps],
                   real_cases_found=result.real_cases_found, tokens=result.tokens, sightings=result.sightings)


class SightingRead(BaseModel):
    id: int
    canary_id: int
    canary_case_no: str
    package_no: str | None
    agency_id: int
    source: str
    actor: str
    actor_agency_id: int | None
    leak_suspected: bool
    details: dict
    seen_at: datetime


@router.post("/leaks/trace", response_model=TraceRead)
def trace(session: SessionDep, principal: Allowed(Permission.leaks_trace),
                file: UploadFile = File(...)) -> TraceRead:  # noqa: B008
    """Trace a leaked file (CSV, XLSX, TXT or JSON of any shape) to the agency, contract and package it came from."""
    content = file.file.read(leaks.MAX_BYTES + 1)
    name = (file.filename or "upload")[:200]
    if len(content) > leaks.MAX_BYTES:
        raise RuleViolation(_("{file}: the file is larger than {mb} MB").format(file=name, mb=leaks.MAX_BYTES >> 20),
                            code="unreadable_file")
    result = leaks.trace_content(session=session, name=name, content=content, actor=principal.actor,
                                 actor_agency_id=principal.agency_id)
    return TraceRead.of(result)


@router.get("/canary-sightings", response_model=Page[SightingRead])
def list_sightings(
    session: SessionDep,
    principal: Allowed(Permission.leaks_read),
    agency_id: OptionalRowId = None,
    leak_suspected: bool | None = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[SightingRead]:
    """Uses of canary records (actions, contact checks, imports, traced files), newest first."""
    agency_id = own_agency(principal, agency_id)
    rows, total = canaries.list_sightings(session=session, agency_id=agency_id, leak_suspected=leak_suspected,
                                          offset=offset, limit=limit)
    items = [SightingRead(id=s.id, canary_id=c.id, canary_case_no=c.case_no, package_no=s.details.get("package_no"),
                          agency_id=c.agency_id, source=s.source, actor=s.actor, actor_agency_id=s.actor_agency_id,
                          leak_suspected=s.leak_suspected, details=s.details, seen_at=s.seen_at) for s, c in rows]
    return Page[SightingRead](items=items, total=total, offset=offset, limit=limit)
