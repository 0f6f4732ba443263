"""What an import did, the progress it reports while it runs, and its permanent record
(an ImportRun row and an audit event)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from weiwai.db import utcnow
from weiwai.portfolio.models import ImportRun
from weiwai.security.audit import record

# progress(stage, done, total): stage is a translated label; total is None when unknown.
ProgressCallback = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class ImportReport:
    """The outcome of one accepted file."""

    kind: str  # "accounts" or "payments"
    file: str
    rows: int
    created: int = 0  # accounts: new accounts
    updated: int = 0  # accounts: changed accounts; payments: accounts whose balance changed
    unchanged: int = 0  # accounts: rows identical to what is stored
    posted: int = 0  # payments: new payments applied
    duplicates: int = 0  # payments: already imported earlier, skipped
    warnings: tuple[str, ...] = ()
    import_run_id: int | None = None


class Steps:
    """Reports stages and progress to an optional callback."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._stage = ""
        self._done = 0
        self._total: int | None = None

    def start(self, stage: str, total: int | None = None) -> None:
        self._stage, self._done, self._total = stage, 0, total
        if self._callback:
            self._callback(stage, 0, total)

    def advance(self, count: int) -> None:
        self._done += count
        if self._callback:
            self._callback(self._stage, self._done, self._total)


def file_sha256(path: Path) -> str:
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def record_run(
    *, session: Session, report: ImportReport, sha256: str, started_at: datetime, actor: str
) -> ImportReport:
    """Add the ImportRun row and the audit event; returns the report with the run's id."""
    run = ImportRun(
        kind=report.kind,
        file_name=report.file[:300],
        file_sha256=sha256,
        rows=report.rows,
        created=report.created or report.posted,
        updated=report.updated,
        unchanged=report.unchanged or report.duplicates,
        started_at=started_at,
        finished_at=utcnow(),
        imported_by=actor,
        notes="\n".join(report.warnings) or None,
    )
    session.add(run)
    session.flush()
    details = {key: value for key, value in asdict(report).items() if key not in ("warnings", "import_run_id")}
    details["sha256"] = sha256
    record(
        session=session,
        actor=actor,
        action=f"import.{report.kind}",
        entity="import_run",
        entity_id=run.id,
        details=details,
    )
    return replace(report, import_run_id=run.id)
