"""HTTP API of handover packages, under /api/v1/handover-packages.

Each route names the one permission it needs: handover.write to create a package,
handover.read to list and read them, handover.download for the files. Agency users and
API tokens see only their own agency's packages (weiwai.security.scope); anything else
answers 404, exactly like a package that does not exist. Every download is an audit
event, and a file that changed since it was recorded is not served.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from weiwai.agencies.service import get_contract
from weiwai.handover import service
from weiwai.handover.models import HandoverPackage
from weiwai.handover.schemas import PackageCreate, PackageDetail, PackageRead
from weiwai.i18n import _
from weiwai.security.permissions import Permission
from weiwai.security.scope import check_owned, own_agency
from weiwai.web.deps import Allowed, Principal, SessionDep
from weiwai.web.pagination import Page
from weiwai.web.params import PathRef, QueryRef, RowId

router = APIRouter(prefix="/api/v1/handover-packages", tags=["handover"])

MAX_PAGE_SIZE = 200


def package_store() -> Path:
    """Where packages made through the API are written (overridable, e.g. in tests)."""
    return service.DEFAULT_STORE


Store = Annotated[Path, Depends(package_store)]


def _visible(session, principal: Principal, package_id: int) -> HandoverPackage:
    """The package, if this principal may see it; 404 alike for missing and foreign packages."""
    package = service.get_package(session=session, package_id=package_id)
    check_owned(principal, package.agency_id, ref=package_id, what=_("handover package"))
    return package


@router.post("", response_model=PackageRead, status_code=status.HTTP_201_CREATED)
def create_package(
    session: SessionDep, principal: Allowed(Permission.handover_write), store: Store, data: PackageCreate
) -> PackageRead:
    """Write and record a package of the contract's open cases (or one batch's)."""
    package = service.create_package(
        session=session, contract_no=data.contract_no, batch_no=data.batch_no, out_dir=store, actor=principal.actor
    )
    return PackageRead.of(package)


@router.get("", response_model=Page[PackageRead])
def list_packages(
    session: SessionDep,
    principal: Allowed(Permission.handover_read),
    contract_no: QueryRef = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> Page[PackageRead]:
    """Packages, newest first; agency users see only their agency's."""
    if not principal.is_lender and principal.agency_id is None:
        return Page(items=[], total=0, offset=offset, limit=limit)
    if contract_no is not None:
        # Another agency's contract number answers like one that does not exist.
        contract = get_contract(session=session, contract=contract_no)
        check_owned(principal, contract.agency_id, ref=contract_no, what=_("contract"))
    page = service.list_packages(session=session, agency_id=own_agency(principal, None), contract_no=contract_no,
                                 offset=offset, limit=limit)
    return Page(items=[PackageRead.of(package) for package in page.items], total=page.total, offset=offset,
                limit=limit)


@router.get("/{package_id}", response_model=PackageDetail)
def get_package(
    session: SessionDep, principal: Allowed(Permission.handover_read), package_id: RowId
) -> PackageDetail:
    """One package, with the cases it released."""
    package = _visible(session, principal, package_id)
    case_ids = service.package_case_ids(session=session, package=package)
    return PackageDetail(**PackageRead.of(package).model_dump(), case_ids=case_ids)


@router.get("/{package_id}/files/{kind}")
def download(
    session: SessionDep, principal: Allowed(Permission.handover_download), package_id: RowId, kind: PathRef
) -> Response:
    """The package's xlsx, csv or manifest file, exactly as recorded (the download is audited)."""
    package = _visible(session, principal, package_id)
    found = service.read_package_file(session=session, package=package, kind=kind, actor=principal.actor)
    return Response(
        content=found.content,
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.name}"', "Cache-Control": "no-store"},
    )
