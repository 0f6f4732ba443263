"""Reversals in bulk from the bank's file of bounced payments (CSV or XLSX).

Columns: txn_id, reversed_at, reason, and optionally reference. The file is taken whole
or not at all: every row is checked first and any problem rejects the file with its
row, column, value and reason, nothing written. Re-running a file is harmless: payments
it already reversed are skipped and counted.

reversed_at is a date-time (read in the lender's time zone unless it carries an
offset) or a bare date, meaning that local day; a bare date on the day of the payment
itself is taken as the moment of the payment, since a reversal cannot precede it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from weiwai.errors import DomainError, InputRejected, RowError
from weiwai.i18n import _
from weiwai.payments.service import reverse_payment
from weiwai.portfolio.models import Payment, PaymentStatus
from weiwai.settlement.periods import lender_tz

REQUIRED_COLUMNS = ("txn_id", "reversed_at", "reason")
OPTIONAL_COLUMNS = ("reference",)
_DATE_RE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_LOOKUP_CHUNK = 2000


@dataclass(frozen=True)
class ReversalFileResult:
    file: str
    rows: int
    reversed: int
    already_reversed: int


@dataclass(frozen=True)
class _Planned:
    row: int
    txn_id: str
    at: datetime
    reason: str
    reference: str


def reverse_file(*, session: Session, path: Path, actor: str) -> ReversalFileResult:
    """Reverse every payment listed in the file, or none of them."""
    name = path.name
    rows = read_rows(path)
    planned, skipped, errors = _check(session, name, rows)
    if errors:
        raise InputRejected(errors=errors)
    for plan in planned:
        try:
            reverse_payment(session=session, txn_id=plan.txn_id, reason=plan.reason, actor=actor, at=plan.at,
                            reference=plan.reference)
        except DomainError as exc:
            # The caller's transaction rolls back whatever earlier rows did.
            raise InputRejected(errors=[RowError(name, plan.row, "txn_id", plan.txn_id, exc.message)]) from exc
    return ReversalFileResult(file=name, rows=len(rows), reversed=len(planned), already_reversed=skipped)


# --- reading --------------------------------------------------------------------------------


def read_rows(path: Path) -> list[tuple[int, dict[str, object]]]:
    """(line number as a person sees it, {column: value}) for every non-empty data row."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        header, body = _read_csv(path)
    elif suffix in (".xlsx", ".xlsm"):
        header, body = _read_xlsx(path)
    else:
        reason = _("only .csv and .xlsx files can be read")
        raise InputRejected(errors=[RowError(path.name, 1, "", path.suffix, reason)])
    names = [str(cell or "").strip().lower() for cell in header]
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    if missing:
        raise InputRejected(errors=[
            RowError(path.name, 1, column, "", _("required column is missing")) for column in missing
        ])
    rows = []
    for number, values in body:
        record = {name: values[i] if i < len(values) else None for i, name in enumerate(names) if name}
        if any(_text(value) for value in record.values()):
            rows.append((number, record))
    return rows


def _read_csv(path: Path) -> tuple[list, list[tuple[int, list]]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Banks in mainland China often still export GBK.
        text = raw.decode("gb18030")
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        return [], []
    return lines[0], [(i + 2, line) for i, line in enumerate(lines[1:])]


def _read_xlsx(path: Path) -> tuple[list, list[tuple[int, list]]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()
    if not rows:
        return [], []
    return list(rows[0]), [(i + 2, list(row)) for i, row in enumerate(rows[1:])]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a numeric transaction id typed into a spreadsheet
    return str(value).strip()


# --- checking -------------------------------------------------------------------------------


def _check(
    session: Session, name: str, rows: list[tuple[int, dict[str, object]]]
) -> tuple[list[_Planned], int, list[RowError]]:
    errors: list[RowError] = []
    payments = _payments_by_txn(session, {_text(record.get("txn_id")) for _, record in rows})
    first_row: dict[str, int] = {}
    planned: list[_Planned] = []
    skipped = 0
    for number, record in rows:
        txn_id = _text(record.get("txn_id"))
        reason = _text(record.get("reason"))
        reference = _text(record.get("reference")) or name[:64]
        problems = len(errors)
        if not txn_id:
            errors.append(RowError(name, number, "txn_id", "", _("required")))
        elif txn_id in first_row:
            errors.append(RowError(name, number, "txn_id", txn_id,
                                   _("appears more than once in this file (first on row {row})").format(
                                       row=first_row[txn_id])))
        elif txn_id not in payments:
            errors.append(RowError(name, number, "txn_id", txn_id, _("no payment with this transaction id")))
        first_row.setdefault(txn_id, number)
        if not reason:
            errors.append(RowError(name, number, "reason", "", _("required")))
        if len(reference) > 64:
            errors.append(RowError(name, number, "reference", reference, _("at most 64 characters")))
        at = _reversal_moment(name, number, record.get("reversed_at"), payments.get(txn_id), errors)
        if len(errors) > problems or at is None:
            continue
        if payments[txn_id][1] == PaymentStatus.reversed:
            skipped += 1
            continue
        planned.append(_Planned(number, txn_id, at, reason, reference))
    return planned, skipped, errors


def _payments_by_txn(session: Session, txn_ids: set[str]) -> dict[str, tuple[datetime, str]]:
    found: dict[str, tuple[datetime, str]] = {}
    wanted = sorted(txn for txn in txn_ids if txn)
    for i in range(0, len(wanted), _LOOKUP_CHUNK):
        rows = session.execute(
            select(Payment.txn_id, Payment.paid_at, Payment.status)
            .where(Payment.txn_id.in_(wanted[i : i + _LOOKUP_CHUNK]))
        ).all()
        found.update({txn: (paid_at, status) for txn, paid_at, status in rows})
    return found


def _reversal_moment(
    name: str, number: int, value: object, payment: tuple[datetime, str] | None, errors: list[RowError]
) -> datetime | None:
    tz = lender_tz()
    shown = _text(value)
    if not shown:
        errors.append(RowError(name, number, "reversed_at", "", _("required")))
        return None
    parsed = _parse_moment(value)
    if parsed is None:
        errors.append(RowError(name, number, "reversed_at", shown,
                               _("not a date or date-time (YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])")))
        return None
    if payment is None:
        return None
    paid_at = payment[0]
    if isinstance(parsed, datetime):
        moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
        moment = moment.astimezone(UTC)
    else:
        moment = datetime.combine(parsed, time(), tz).astimezone(UTC)
        if parsed == paid_at.astimezone(tz).date():
            moment = max(moment, paid_at)
    if moment < paid_at:
        errors.append(RowError(name, number, "reversed_at", shown,
                               _("before the payment itself (paid at {paid_at})").format(
                                   paid_at=paid_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"))))
        return None
    return moment


def _parse_moment(value: object) -> datetime | date | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value
    text = _text(value).replace("/", "-")
    try:
        if _DATE_RE.match(text):
            year, month, day = (int(part) for part in text.split("-"))
            return date(year, month, day)
        return datetime.fromisoformat(text)
    except ValueError:
        return None
