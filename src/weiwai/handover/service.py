"""Handover packages (提供客户信息): build, record, list, download and verify them.

A package goes only to an active agency under a contract usable that day, and carries
only open cases of that agency under that contract. Every package and every download is
an audit event; the package row lists exactly which cases it released.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency, AgencyStatus, Contract
from weiwai.collection.days import local_day
from weiwai.db import utcnow
from weiwai.errors import Conflict, NotFound, RuleViolation
from weiwai.handover import package as files
from weiwai.handover.models import HandoverPackage, HandoverPackageCase
from weiwai.handover.policy import effective_policy
from weiwai.handover.rows import package_rows
from weiwai.i18n import _
from weiwai.placements.models import OPEN_CASE_STATUSES, Case, PlacementBatch
from weiwai.privacy import canaries
from weiwai.privacy.entrustment import in_force_entrustment
from weiwai.security import audit

# Where packages made through the API are written (relative to the working directory,
# like the default database); the CLI writes wherever the operator says.
DEFAULT_STORE = Path("var/handover")
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "manifest": "application/json",
}


@dataclass(frozen=True)
class Page:
    items: list[HandoverPackage]
    total: int


@dataclass(frozen=True)
class PackageFile:
    name: str
    content: bytes
    media_type: str


def create_package(
    *,
    session: Session,
    contract_no: str,
    out_dir: Path,
    actor: str,
    batch_no: str | None = None,
    at: datetime | None = None,
) -> HandoverPackage:
    """Write a package of the contract's open cases (or of one batch's) into `out_dir` and record it."""
    at = at or utcnow()
    today = local_day(at)
    contract = _contract(session, contract_no)
    agency = session.get(Agency, contract.agency_id)
    if not contract.is_usable(today):
        raise RuleViolation(
            _("contract {contract} is not usable on {day}: it must be active, in term and signed "
              "(contract and confidentiality)").format(contract=contract.contract_no, day=today.isoformat())
        )
    if agency.status != AgencyStatus.active:
        raise RuleViolation(
            _("agency {agency} is {status}: only an active agency receives data").format(
                agency=agency.code, status=agency.status
            )
        )
    entrustment = in_force_entrustment(session=session, contract=contract)  # refuses without one
    policy = effective_policy(contract.handover_fields)
    batch = _batch(session, batch_no) if batch_no else None
    case_ids = _open_case_ids(session, contract, batch)
    if not case_ids:
        raise RuleViolation(_("no open cases of agency {agency} under contract {contract}{batch}").format(
            agency=agency.code, contract=contract.contract_no,
            batch=_(" in batch {batch}").format(batch=batch.batch_no) if batch else "",
        ))

    package_no = f"HP{today:%Y%m%d}{secrets.token_hex(4).upper()}"
    header = files.PackageHeader(
        package_no=package_no, agency_code=agency.code, agency_name=agency.legal_name,
        contract_no=contract.contract_no, batch_no=batch.batch_no if batch else None,
        created_at=at, created_by=actor,
        entrustment={"id": entrustment.id, "version": entrustment.version},
    )
    rows = package_rows(session=session, case_ids=case_ids, policy=policy, as_of=today)
    # Canary records (weiwai.privacy.canaries) among the rows, in both files.
    planted = canaries.prepare(session=session, agency_id=agency.id, case_ids=case_ids, policy=policy, as_of=today)
    written = files.write_package(out_dir=out_dir, header=header, policy=policy, rows=planted.plant(rows))
    try:
        package = _record(session, header, contract, batch, policy, case_ids, written, out_dir,
                          canary_count=planted.count)
        planted.save(session=session, package=package)
    except BaseException:
        # Files without a record would be an untraceable release: remove them.
        for path in (written.xlsx, written.csv, written.manifest):
            path.unlink(missing_ok=True)
        raise
    return package


def _record(session, header, contract, batch, policy, case_ids, written, out_dir, *, canary_count: int = 0
            ) -> HandoverPackage:
    package = HandoverPackage(
        package_no=header.package_no,
        agency_id=contract.agency_id,
        contract_id=contract.id,
        batch_id=batch.id if batch else None,
        entrustment_id=header.entrustment["id"],
        entrustment_version=header.entrustment["version"],
        fields={field: str(mode) for field, mode in policy.items()},
        row_count=written.row_count - canary_count,
        files=written.sha256,
        directory=str(out_dir.resolve()),
        created_by=header.created_by,
        created_at=header.created_at,
    )
    session.add(package)
    session.flush()
    session.execute(insert(HandoverPackageCase), [{"package_id": package.id, "case_id": cid} for cid in case_ids])
    audit.record(
        session=session, actor=header.created_by, action="handover.package", entity="handover_package",
        entity_id=package.package_no,
        details={
            "agency": header.agency_code, "contract": header.contract_no, "batch": header.batch_no,
            "row_count": written.row_count - canary_count, "canary_count": canary_count,
            "fields": package.fields, "files": written.sha256, "entrustment": header.entrustment,
        },
    )
    return package


def _contract(session: Session, contract_no: str) -> Contract:
    contract = session.scalars(select(Contract).where(Contract.contract_no == contract_no)).first()
    if contract is None:
        raise NotFound(_("no contract {ref}").format(ref=contract_no))
    return contract


def _batch(session: Session, batch_no: str) -> PlacementBatch:
    batch = session.scalars(select(PlacementBatch).where(PlacementBatch.batch_no == batch_no)).first()
    if batch is None:
        raise NotFound(_("no batch {ref}").format(ref=batch_no))
    return batch


def _open_case_ids(session: Session, contract: Contract, batch: PlacementBatch | None) -> list[int]:
    query = select(Case.id).where(
        Case.contract_id == contract.id,
        Case.agency_id == contract.agency_id,
        Case.status.in_([str(status) for status in OPEN_CASE_STATUSES]),
    )
    if batch is not None:
        query = query.where(Case.batch_id == batch.id)
    return list(session.scalars(query.order_by(Case.case_no)))


def list_packages(
    *,
    session: Session,
    agency_id: int | None = None,
    contract_no: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page:
    """Packages, newest first, optionally of one agency or contract."""
    query = select(HandoverPackage)
    if agency_id is not None:
        query = query.where(HandoverPackage.agency_id == agency_id)
    if contract_no is not None:
        query = query.where(HandoverPackage.contract_id == _contract(session, contract_no).id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    items = session.scalars(
        query.order_by(HandoverPackage.created_at.desc(), HandoverPackage.id.desc()).offset(offset).limit(limit)
    ).all()
    return Page(items=list(items), total=total or 0)


def get_package(*, session: Session, package_id: int) -> HandoverPackage:
    package = session.get(HandoverPackage, package_id)
    if package is None:
        raise NotFound(_("no handover package {ref}").format(ref=package_id))
    return package


def get_package_by_no(*, session: Session, package_no: str) -> HandoverPackage:
    package = session.scalars(select(HandoverPackage).where(HandoverPackage.package_no == package_no)).first()
    if package is None:
        raise NotFound(_("no handover package {ref}").format(ref=package_no))
    return package


def package_case_ids(*, session: Session, package: HandoverPackage) -> list[int]:
    """The cases a package released."""
    return list(session.scalars(
        select(HandoverPackageCase.case_id).where(HandoverPackageCase.package_id == package.id)
        .order_by(HandoverPackageCase.case_id)
    ))


def read_package_file(*, session: Session, package: HandoverPackage, kind: str, actor: str) -> PackageFile:
    """One file of a package as it was recorded (refused if changed since) and the download audited."""
    if kind not in MEDIA_TYPES:
        raise NotFound(_("no file {kind}; choose xlsx, csv or manifest").format(kind=kind))
    xlsx_name, csv_name, manifest_name = files.file_names(package.package_no)
    name = {"xlsx": xlsx_name, "csv": csv_name, "manifest": manifest_name}[kind]
    path = Path(package.directory) / name
    try:
        content = path.read_bytes()
    except OSError:
        raise NotFound(_("file {name} is no longer where it was written").format(name=name)) from None
    if hashlib.sha256(content).hexdigest() != package.files.get(name):
        raise Conflict(_("file {name} has changed since it was recorded; it is not served").format(name=name))
    audit.record(
        session=session, actor=actor, action="handover.download", entity="handover_package",
        entity_id=package.package_no, details={"file": name, "agency_id": package.agency_id},
    )
    return PackageFile(name=name, content=content, media_type=MEDIA_TYPES[kind])


def verify_against_record(*, session: Session, manifest: Path) -> list[files.FileCheck]:
    """Compare the files next to a manifest (the manifest included) with the hashes recorded."""
    try:
        package_no = files.read_manifest(manifest)["package_no"]
    except ValueError as exc:
        raise RuleViolation(str(exc)) from None
    package = get_package_by_no(session=session, package_no=str(package_no))
    checks = []
    for name, expected in package.files.items():
        path = manifest.parent / name
        checks.append(files.FileCheck(name=name, expected=expected,
                                      actual=files.sha256_of(path) if path.is_file() else None))
    return checks
