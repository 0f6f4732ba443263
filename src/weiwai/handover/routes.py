"""HTTP API of handover packages, under /api/v1/handover-packages.

Lender admin and operations create packages. Lender roles read them; an agency manager
reads and downloads only their own agency's (anything else answers 404, as if it did not
exist). Every download is an audit event, and a file that changed since it was recorded
is not served.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from weiwai.errors import NotFound
from weiwai.handover import service
from weiwai.handover.models import HandoverPackage
from weiwai.handover.schemas import PackageCreate, PackageDetail, PackagePage, PackageRead
from weiwai.i18n import _
from weiwai.security.models import Role
from weiwai.web.deps import LENDER_ROLES, Principal, SessionDep, require_roles

router = APIRouter(prefix="/api/v1/handover-packages", tags=["handover"])

Creator = Annotated[Principal, Depends(require_roles(Role.admin, Role.operations))]
Reader = Annotated[Principal, Depends(require_roles(*LENDER_ROLES, Role.agency_manager))]
Downloader = Annotated[Principal, Depends(require_roles(Role.admin, Role.operations, Role.agency_manager))]


def package_store() -> Path:
    """Where packages made through the API are written (overridable, e.g. in tests)."""
    return service.DEFAULT_STORE


Store = Annotated[Path, Depends(package_store)]


def _visible(session, principal: Principal, package_id: int) -> HandoverPackage:
    package = service.get_package(session=session, package_id=package_id)
    if not principal.is_lender and principal.agency_id != package.agency_id:
        raise NotFound(_("no handover package {ref}").format(ref=package_id))
    return package


@router.post("", response_model=PackageRead, status_code=status.HTTP_201_CREATED)
def create_package(session: SessionDep, principal: Creator, store: Store, data: PackageCreate) -> PackageRead:
    """Write and record a package of the contract's open cases (or one batch's)."""
    package = service.create_package(
        session=session, contract_no=data.contract_no, batch_no=data.batch_no, out_dir=store, actor=principal.actor
    )
    return PackageRead.of(package)


@router.get("", response_model=PackagePage)
def list_packages(
    session: SessionDep,
    principal: Reader,
    contract_no: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PackagePage:
    """Packages, newest first; an agency manager sees only their agency's."""
    if not principal.is_lender and principal.agency_id is None:
        return PackagePage(items=[], total=0)
    own = None if principal.is_lender else principal.agency_id
    page = service.list_packages(session=session, agency_id=own, contract_no=contract_no, offset=offset, limit=limit)
    return PackagePage(items=[PackageRead.of(package) for package in page.items], total=page.total)


@router.get("/{package_id}", response_model=PackageDetail)
def get_package(session: SessionDep, principal: Reader, package_id: int) -> PackageDetail:
    """One package, with the cases it released."""
    package = _visible(session, principal, package_id)
    case_ids = service.package_case_ids(session=session, package=package)
    return PackageDetail(**PackageRead.of(package).model_dump(), case_ids=case_ids)


@router.get("/{package_id}/files/{kind}")
def download(session: SessionDep, principal: Downloader, package_id: int, kind: str) -> Response:
    """The package's xlsx, csv or manifest file, exactly as recorded (the download is audited)."""
    package = _visible(session, principal, package_id)
    found = service.read_package_file(session=session, package=package, kind=kind, actor=principal.actor)
    return Response(
        content=found.content,
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.name}"', "Cache-Control": "no-store"},
    )
