"""The statement document (XLSX): a summary sheet and the lines it is made of.

The document is a pure function of the statement's stored, immutable data, and the file
is byte-for-byte reproducible (fixed creation time = issue time, xlsxwriter writes fixed
zip timestamps). Issuing stores its SHA-256; a download later rebuilds the file and must
find the same hash. For that reason the labels are fixed bilingual text here rather than
translated messages: a change of translation must never change what an agency was sent.
It also shows only what cannot change later (agency code and USCC, not the legal name).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from weiwai.agencies.models import Agency, Contract
from weiwai.placements.models import Case
from weiwai.portfolio.models import Account, Payment
from weiwai.settlement.models import CommissionEntry, CommissionStatement
from weiwai.settlement.periods import lender_tz

LINES_PER_SHEET = 1_000_000  # below Excel's 1,048,576 rows per sheet, header included

SUMMARY_LABELS = (
    ("statement_no", "对账单编号 Statement no."),
    ("agency_code", "机构代码 Agency code"),
    ("agency_uscc", "统一社会信用代码 USCC"),
    ("period", "账期 Period"),
    ("status", "状态 Status"),
    ("issued_at", "出具时间 Issued at"),
    ("issued_by", "出具人 Issued by"),
    ("currency", "币种 Currency"),
    ("recovered", "净回款 Net recovered"),
    ("commission", "佣金 Commission"),
    ("fixed_fees", "固定服务费 Fixed fees"),
    ("clawbacks", "追回 Clawbacks"),
    ("total", "应付合计 Total payable"),
    ("entry_count", "明细行数 Lines"),
)
LINE_HEADERS = (
    "案件编号 case_no",
    "账号 account_no",
    "交易流水号 txn_id",
    "还款时间 paid_at",
    "账龄 bucket",
    "计佣基数 base amount",
    "费率 rate",
    "金额 amount",
    "类型 kind",
    "入账账期 period",
)
MONEY_FIELDS = {"recovered", "commission", "fixed_fees", "clawbacks", "total"}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_statement(*, session: Session, statement: CommissionStatement, path: Path) -> str:
    """Write the statement's XLSX to `path` and return its SHA-256 (hex)."""
    tz = lender_tz()
    # In UTC whatever zone the caller gave: the rebuilt document must carry the same stamp.
    created = (statement.issued_at or statement.created_at or datetime(2000, 1, 1, tzinfo=UTC)).astimezone(UTC)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "remove_timezone": True})
    workbook.set_properties({"title": statement.statement_no, "created": created, "author": "weiwai"})
    formats = {
        "bold": workbook.add_format({"bold": True}),
        "money": workbook.add_format({"num_format": "#,##0.00"}),
        "rate": workbook.add_format({"num_format": "0.00####%"}),
        "time": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
    }
    _summary_sheet(workbook, formats, _summary_values(session, statement, tz))
    _line_sheets(workbook, formats, session, statement, tz)
    workbook.close()
    return sha256_of(path)


def _summary_values(session: Session, statement: CommissionStatement, tz) -> dict[str, object]:
    agency = session.get(Agency, statement.agency_id)
    currencies = sorted({
        (schedule or {}).get("currency", "CNY")
        for (schedule,) in session.execute(
            select(Contract.fee_schedule)
            .where(Contract.id.in_(
                select(CommissionEntry.contract_id).where(CommissionEntry.statement_id == statement.id)
            ))
        )
    })
    issued_at = statement.issued_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if statement.issued_at else ""
    return {
        "statement_no": statement.statement_no,
        "agency_code": agency.code,
        "agency_uscc": agency.uscc,
        "period": statement.period,
        "status": str(statement.status),
        "issued_at": issued_at,
        "issued_by": statement.issued_by or "",
        "currency": ", ".join(currencies) or "CNY",
        "recovered": statement.recovered,
        "commission": statement.commission,
        "fixed_fees": statement.fixed_fees,
        "clawbacks": statement.clawbacks,
        "total": statement.total,
        "entry_count": statement.entry_count,
    }


def _summary_sheet(workbook, formats, values: dict[str, object]) -> None:
    sheet = workbook.add_worksheet("Summary 汇总")
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 40)
    for row, (key, label) in enumerate(SUMMARY_LABELS):
        sheet.write_string(row, 0, label, formats["bold"])
        value = values[key]
        if key in MONEY_FIELDS:
            sheet.write_number(row, 1, float(value), formats["money"])
        elif isinstance(value, int):
            sheet.write_number(row, 1, value)
        else:
            sheet.write_string(row, 1, str(value))


def _line_rows(session: Session, statement: CommissionStatement):
    account_case = aliased(Case)
    query = (
        select(
            account_case.case_no, Account.account_no, Payment.txn_id, Payment.paid_at, account_case.bucket,
            CommissionEntry.base_amount, CommissionEntry.rate, CommissionEntry.amount, CommissionEntry.kind,
            CommissionEntry.period,
        )
        .join(account_case, account_case.id == CommissionEntry.case_id)
        .join(Account, Account.id == account_case.account_id)
        .outerjoin(Payment, Payment.id == CommissionEntry.payment_id)
        .where(CommissionEntry.statement_id == statement.id)
        .order_by(CommissionEntry.period, CommissionEntry.kind, account_case.case_no, Payment.paid_at,
                  CommissionEntry.id)
    )
    return session.execute(query, execution_options={"yield_per": 5000})


def _line_sheets(workbook, formats, session: Session, statement: CommissionStatement, tz) -> None:
    sheet, row = None, 0
    sheets = 0
    for line in _line_rows(session, statement):
        if sheet is None or row > LINES_PER_SHEET:
            sheets += 1
            sheet = _new_line_sheet(workbook, formats, sheets)
            row = 1
        case_no, account_no, txn_id, paid_at, bucket, base, rate, amount, kind, period = line
        sheet.write_string(row, 0, case_no)
        sheet.write_string(row, 1, account_no)
        sheet.write_string(row, 2, txn_id or "")
        if paid_at is not None:
            sheet.write_datetime(row, 3, paid_at.astimezone(tz).replace(tzinfo=None), formats["time"])
        sheet.write_string(row, 4, bucket)
        sheet.write_number(row, 5, float(Decimal(base)), formats["money"])
        if rate is not None:
            sheet.write_number(row, 6, float(Decimal(rate)), formats["rate"])
        sheet.write_number(row, 7, float(Decimal(amount)), formats["money"])
        sheet.write_string(row, 8, str(kind))
        sheet.write_string(row, 9, period)
        row += 1
    if sheet is None:
        _new_line_sheet(workbook, formats, 1)


def _new_line_sheet(workbook, formats, number: int):
    sheet = workbook.add_worksheet("Lines 明细" if number == 1 else f"Lines 明细 {number}")
    for column, header in enumerate(LINE_HEADERS):
        sheet.write_string(0, column, header, formats["bold"])
    sheet.set_column(0, 2, 20)
    sheet.set_column(3, 3, 20)
    sheet.set_column(5, 7, 14)
    return sheet
