"""Importing an agency's action log file (CSV or XLSX), all rows or none.

Every row is checked against the same rules as a single action; any problem rejects the
whole file with row, column, value and reason, and nothing is written. Rows are then
logged in the order they happened, in the caller's one transaction. Rows whose
idempotency key was logged before are skipped; an identical file is refused.

Times without an offset (XLSX cells never carry one) are read in the lender's time zone
(settings.default_time_zone).
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from weiwai.agencies.input_errors import describe
from weiwai.agencies.models import Agency
from weiwai.collection import service
from weiwai.collection.days import default_time_zone, zone
from weiwai.collection.models import CollectionAction, Outcome
from weiwai.collection.rules import PROMISE_MAX_DAYS, Checked, check_action
from weiwai.collection.schemas import ActionCreate
from weiwai.db import utcnow
from weiwai.errors import InputRejected, NotFound, RowError
from weiwai.i18n import _
from weiwai.placements.models import Case
from weiwai.portfolio import personal_data
from weiwai.portfolio.models import ImportRun
from weiwai.security import audit

IMPORT_KIND = "actions"
COLUMNS = ("case_no", *ActionCreate.model_fields)
REQUIRED_COLUMNS = ("case_no", "channel", "occurred_at", "outcome")
MAX_ROWS = 200_000


@dataclass(frozen=True)
class ImportSummary:
    file: str
    rows: int
    created: int
    already_logged: int
    promises: int


@dataclass
class _Row:
    number: int
    case_no: str
    data: ActionCreate
    checked: Checked | None = None
    case: Case | None = None


def import_actions(
    *,
    session: Session,
    path: Path,
    agency_code: str,
    actor: str,
    at: datetime | None = None,
    promise_max_days: int = PROMISE_MAX_DAYS,
) -> ImportSummary:
    """Log every action of an agency's file, or reject the file whole (InputRejected)."""
    at = at or utcnow()
    name = path.name
    agency = session.scalars(select(Agency).where(Agency.code == agency_code)).first()
    if agency is None:
        raise NotFound(_("no agency {ref}").format(ref=agency_code))
    content = _read_bytes(path)
    sha256 = hashlib.sha256(content).hexdigest()
    earlier = session.scalars(
        select(ImportRun).where(ImportRun.kind == IMPORT_KIND, ImportRun.file_sha256 == sha256)
    ).first()
    if earlier is not None:
        raise InputRejected(errors=[RowError(file=name, row=1, column="*", value="", reason=_(
            "this file was already imported (import run {run}, {when})").format(
                run=earlier.id, when=earlier.started_at.isoformat()))])

    rows, errors = _parse(name, path.suffix.lower(), content)
    cases = _cases(session, agency, {row.case_no for row in rows})
    for row in rows:
        row.case = cases.get(row.case_no)
        if row.case is None:
            errors.append(RowError(file=name, row=row.number, column="case_no", value=row.case_no,
                                   reason=_("no case {case} of agency {agency}").format(
                                       case=row.case_no, agency=agency.code)))
    _note_canaries(session, {row.case_no for row in rows if row.case is None}, actor, agency)
    rows = [row for row in rows if row.case is not None]
    contexts = service.load_contexts(session=session, cases={row.case.id: row.case for row in rows}.values())
    service.attach_number_refs(session=session, contexts={
        row.case.id: contexts[row.case.id] for row in rows if getattr(row.data, "number_ref", None)}.values())
    replayed = _replayed(session, name, rows, errors)
    for row in rows:
        if row.number in replayed:
            continue
        row.checked = check_action(
            context=contexts[row.case.id], data=row.data, at=at, phone_index=personal_data.phone_index,
            promise_max_days=promise_max_days,
        )
        errors.extend(RowError(file=name, row=row.number, column=p.column, value=p.value, reason=p.reason)
                      for p in row.checked.problems)
    if errors:
        raise InputRejected(errors=sorted(errors, key=lambda e: e.row))

    fresh = sorted((row for row in rows if row.number not in replayed),
                   key=lambda row: (row.data.occurred_at, row.number))
    _apply_enforced(session, name, fresh, contexts, actor=actor, at=at)
    summary = ImportSummary(
        file=name, rows=len(rows), created=len(fresh), already_logged=len(replayed),
        promises=sum(1 for row in fresh if row.data.outcome == Outcome.promise_to_pay),
    )
    _record_run(session, summary, sha256=sha256, agency=agency, actor=actor, at=at)
    return summary


def _apply_enforced(session: Session, name: str, fresh: list[_Row], contexts: dict, *, actor: str, at) -> None:
    """Log the rows in the order they happened, each through the contact check (weiwai.compliance.enforcement).

    The debtors are locked first, in id order (two files cannot deadlock); each row is then
    judged with the rows before it already counted. Under "refuse" any denied row rejects
    the whole file (nothing written: the rows logged so far are rolled back with their
    savepoint); under "record" every row is logged and its denials become violations.
    """
    from weiwai.compliance import enforcement
    from weiwai.compliance import facts as compliance_facts
    from weiwai.portfolio.models import Account

    account_ids = sorted({row.case.account_id for row in fresh})
    debtor_of: dict[int, int] = {}
    for start in range(0, len(account_ids), 1000):
        debtor_of.update(session.execute(select(Account.id, Account.debtor_id).where(
            Account.id.in_(account_ids[start : start + 1000]))).all())
    compliance_facts.lock_debtors(session=session, debtor_ids=set(debtor_of.values()))
    debtors: dict[int, compliance_facts.DebtorRow] = {}
    refused: list[RowError] = []
    savepoint = session.begin_nested()
    for row in fresh:
        case = row.case
        if case.id not in debtors:
            debtors[case.id] = compliance_facts.lock_debtor(session=session, account_id=case.account_id,
                                                            contract_id=case.contract_id, lock=False)
        verdict = enforcement.judge_action(session=session, context=contexts[case.id], data=row.data,
                                           checked=row.checked, debtor=debtors[case.id])
        if not verdict.decision.allowed and enforcement.refusing():
            refused.append(RowError(file=name, row=row.number, column="*", value=row.case_no,
                                    reason=enforcement.describe(verdict.decision)))
            continue
        logged = service.apply_action(session=session, context=contexts[case.id], data=row.data,
                                      checked=row.checked, actor=actor, at=at)
        if logged.created:
            enforcement.after_logged(session=session, verdict=verdict, action=logged.action, actor=actor)
    if refused:
        savepoint.rollback()
        raise InputRejected(errors=refused)
    savepoint.commit()


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputRejected(errors=[RowError(file=path.name, row=1, column="*", value="", reason=str(exc))]) from None


def _parse(name: str, suffix: str, content: bytes) -> tuple[list[_Row], list[RowError]]:
    """Rows validated against the schema, and every error found so far."""
    def reject(reason: str, row: int = 1, column: str = "*", value: str = "") -> InputRejected:
        return InputRejected(errors=[RowError(file=name, row=row, column=column, value=value, reason=reason)])

    if suffix == ".xlsx":
        table = _xlsx_rows(content, reject)
    elif suffix == ".csv":
        table = _csv_rows(content, reject)
    else:
        raise reject(_("unsupported file type {suffix}: use .csv or .xlsx").format(suffix=suffix or "-"))
    header = [str(cell or "").strip().lower() for cell in (table[0] if table else [])]
    errors = _header_errors(name, header)
    if errors:
        raise InputRejected(errors=errors)
    rows: list[_Row] = []
    for number, cells in enumerate(table[1:], start=2):
        if all(cell is None or str(cell).strip() == "" for cell in cells):
            continue
        record = {column: _cell(value) for column, value in zip(header, cells, strict=False)}
        record = {column: value for column, value in record.items() if value is not None}
        row = _validate(name, number, record, errors)
        if row is not None:
            rows.append(row)
    if not rows and not errors:
        raise reject(_("the file has no rows"))
    if len(rows) > MAX_ROWS:
        raise reject(_("at most {count} rows per file").format(count=MAX_ROWS))
    return rows, errors


def _xlsx_rows(content: bytes, reject) -> list[tuple]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken or foreign file
        raise reject(_("not a readable XLSX file: {problem}").format(problem=exc)) from None
    try:
        return [tuple(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def _csv_rows(content: bytes, reject) -> list[list[str]]:
    # Agencies' systems export UTF-8 (often with a BOM) or, on Chinese Windows, GB18030.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise reject(_("the file is neither UTF-8 nor GB18030 text"))
    return list(csv.reader(io.StringIO(text, newline="")))


def _header_errors(name: str, header: list[str]) -> list[RowError]:
    errors = []
    for position, column in enumerate(header, start=1):
        if column not in COLUMNS:
            errors.append(RowError(file=name, row=1, column=column or f"#{position}", value=column,
                                   reason=_("unknown column (expected some of: {columns})").format(
                                       columns=", ".join(COLUMNS))))
        elif header.index(column) != position - 1:
            errors.append(RowError(file=name, row=1, column=column, value=column, reason=_("column repeated")))
    for column in REQUIRED_COLUMNS:
        if column not in header:
            errors.append(RowError(file=name, row=1, column=column, value="", reason=_("required column missing")))
    return errors


def _cell(value: object) -> object:
    """A cell as the schema wants it: blanks dropped, whole floats as integers, text stripped."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float):
        return int(value) if value.is_integer() else Decimal(str(value))
    return value


def _validate(name: str, number: int, record: dict[str, object], errors: list[RowError]) -> _Row | None:
    case_no = str(record.pop("case_no", "") or "")
    if "occurred_at" in record:
        record["occurred_at"] = _moment(record["occurred_at"])
    if isinstance(record.get("promise_due_on"), datetime):
        record["promise_due_on"] = record["promise_due_on"].date()
    try:
        data = ActionCreate.model_validate(record)
    except ValidationError as exc:
        for error in exc.errors():
            column = ".".join(str(part) for part in error["loc"]) or "*"
            value = record.get(column)
            shown = "" if value is None else str(value)
            if column == "phone":
                shown = _("(a phone number)")
            errors.append(RowError(file=name, row=number, column=column, value=shown, reason=describe(error)))
        data = None
    if not case_no:
        errors.append(RowError(file=name, row=number, column="case_no", value="", reason=_("required")))
    if data is None or not case_no:
        return None
    return _Row(number=number, case_no=case_no, data=data)


def _moment(value: object) -> object:
    """A time without an offset is the lender's local time; anything else is left to the schema."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=zone(default_time_zone()))
    return value


def _note_canaries(session: Session, unknown: set[str], actor: str, agency: Agency) -> None:
    """Unknown case numbers that are canaries' (weiwai.privacy.canaries): a sighting each; the rows
    are still rejected as unknown cases."""
    if not unknown:
        return
    from weiwai.privacy.canaries import note_unknown_cases

    note_unknown_cases(session=session, case_nos=unknown, source="action_import", actor=actor, agency_id=agency.id)


def _cases(session: Session, agency: Agency, case_nos: set[str]) -> dict[str, Case]:
    """The agency's cases named in the file, locked (in id order, so imports cannot deadlock)."""
    found: dict[str, Case] = {}
    numbers = sorted(case_nos)
    for start in range(0, len(numbers), 1000):
        query = (
            select(Case)
            .where(Case.case_no.in_(numbers[start : start + 1000]), Case.agency_id == agency.id)
            .order_by(Case.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        found.update({case.case_no: case for case in session.scalars(query)})
    return found


def _replayed(session: Session, name: str, rows: list[_Row], errors: list[RowError]) -> set[int]:
    """Row numbers whose idempotency key was logged before on the same case (skipped)."""
    keyed = [row for row in rows if row.data.idempotency_key]
    first_row: dict[str, int] = {}
    for row in keyed:
        key = row.data.idempotency_key
        if key in first_row:
            errors.append(RowError(file=name, row=row.number, column="idempotency_key", value=key,
                                   reason=_("repeats the key of row {row}").format(row=first_row[key])))
        else:
            first_row[key] = row.number
    existing: dict[str, int] = {}
    keys = list(first_row)
    for start in range(0, len(keys), 1000):
        existing.update(session.execute(
            select(CollectionAction.idempotency_key, CollectionAction.case_id)
            .where(CollectionAction.idempotency_key.in_(keys[start : start + 1000]))
        ).all())
    replayed = set()
    for row in keyed:
        case_id = existing.get(row.data.idempotency_key)
        if case_id is None:
            continue
        if case_id == row.case.id:
            replayed.add(row.number)
        else:
            errors.append(RowError(file=name, row=row.number, column="idempotency_key",
                                   value=row.data.idempotency_key,
                                   reason=_("already used for an action on another case")))
    return replayed


def _record_run(session: Session, summary: ImportSummary, *, sha256: str, agency: Agency, actor: str, at) -> None:
    run = ImportRun(
        kind=IMPORT_KIND, file_name=summary.file, file_sha256=sha256, rows=summary.rows, created=summary.created,
        unchanged=summary.already_logged, started_at=at, finished_at=utcnow(), imported_by=actor,
        notes=f"agency {agency.code}",
    )
    session.add(run)
    session.flush()
    audit.record(session=session, actor=actor, action="collection.import", entity="import_run", entity_id=run.id,
                 details={"agency": agency.code, "file": summary.file, "sha256": sha256, "rows": summary.rows,
                          "created": summary.created, "already_logged": summary.already_logged})
