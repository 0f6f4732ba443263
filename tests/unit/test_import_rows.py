"""The row rules of accounts and payments files, without a database."""

from datetime import UTC, date, datetime, timedelta

import pytest

from weiwai.config import get_settings
from weiwai.errors import InputRejected
from weiwai.i18n import using_locale
from weiwai.portfolio.identity import national_id_check_char
from weiwai.portfolio.importing import account_rows, payment_rows
from weiwai.portfolio.importing.columns import (
    ACCOUNT_COLUMNS,
    ACCOUNT_EITHER_OF,
    PAYMENT_COLUMNS,
    match_columns,
)
from weiwai.portfolio.importing.readers import read_table

AS_OF = date(2026, 6, 30)


@pytest.fixture(autouse=True)
def english():
    with using_locale("en"):
        yield


def national_id(serial: int, birth: str = "19900307") -> str:
    first17 = f"110101{birth}{serial:03d}"
    return first17 + national_id_check_char(first17)


def account(**overrides) -> dict[str, str]:
    row = {
        "account_no": "LN001",
        "debtor_name": "张三",
        "national_id": national_id(1),
        "mobile": "13812345678",
        "product": "消费贷",
        "original_amount": "10000.00",
        "principal_outstanding": "8000.00",
        "interest_outstanding": "120.50",
        "fee_outstanding": "0",
        "penalty_outstanding": "35.2",
        "due_date": "2026-05-01",
        "credit_grade": "b",
        "region": "北京",
    }
    row.update(overrides)
    return row


def write_csv(path, rows: list[dict[str, str]], header: list[str] | None = None):
    header = header or list(rows[0])
    lines = [",".join(header)] + [",".join(row.get(name, "") for name in header) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check_accounts_file(path, as_of=AS_OF):
    table = read_table(path)
    columns = match_columns(table.headers, ACCOUNT_COLUMNS, file=table.file, either_of=ACCOUNT_EITHER_OF)
    return account_rows.check_accounts(table, columns, as_of=as_of, settings=get_settings())


def rejected(path, check=check_accounts_file):
    with pytest.raises(InputRejected) as caught:
        check(path)
    return [(e.row, e.column, e.value, e.reason) for e in caught.value.errors]


def test_a_valid_file_is_normalised(tmp_path):
    rows = check_accounts_file(
        write_csv(tmp_path / "a.csv", [account(), account(account_no="LN002", mobile="+86 139 0000 0000")])
    )
    first = rows.row(0, named=True)
    assert first["principal_outstanding"] == 800000 and first["penalty_outstanding"] == 3520
    assert first["due_date"] == date(2026, 5, 1)
    assert first["credit_grade"] == "B"
    assert first["currency"] == "CNY" and first["time_zone"] == "Asia/Shanghai"
    assert rows["mobile"].to_list() == ["13812345678", "13900000000"]
    assert rows[account_rows.v.ROW].to_list() == [2, 3]


def test_every_bad_cell_is_listed_with_row_column_value_and_reason(tmp_path):
    path = write_csv(
        tmp_path / "bad.csv",
        [
            account(),
            account(account_no="LN002", national_id="110101199003071230", mobile="12345"),
            account(account_no="LN003", principal_outstanding="-5", due_date="2026-02-30", region=""),
        ],
    )
    assert rejected(path) == [
        (3, "national_id", "110101199003071230", "national ID check digit does not match"),
        (3, "mobile", "12345", "not a mainland mobile number (11 digits starting 13-19)"),
        (4, "principal_outstanding", "-5", "amount must not be negative"),
        (4, "due_date", "2026-02-30", "not a real date"),
        (4, "region", "", "a value is required"),
    ]


def test_errors_name_the_columns_as_written_in_the_file(tmp_path):
    header = [
        "账号",
        "姓名",
        "身份证号",
        "手机号",
        "产品",
        "借款金额",
        "本金",
        "利息",
        "费用",
        "罚息",
        "到期日",
        "信用等级",
        "地区",
    ]
    names = [spec.name for spec in ACCOUNT_COLUMNS if spec.name not in ("dpd",)][: len(header)]
    row = dict(zip(header, (account(mobile="1")[name] for name in names), strict=True))
    assert rejected(write_csv(tmp_path / "zh.csv", [row], header)) == [
        (2, "手机号", "1", "not a mainland mobile number (11 digits starting 13-19)")
    ]


def test_repeated_account_number_is_an_error_on_the_later_row(tmp_path):
    path = write_csv(tmp_path / "dup.csv", [account(), account(account_no="LN009"), account()])
    assert rejected(path) == [(4, "account_no", "LN001", "this account number is already on row 2")]


def test_one_national_id_with_two_names_is_an_error(tmp_path):
    path = write_csv(
        tmp_path / "names.csv",
        [account(), account(account_no="LN002"), account(account_no="LN003", debtor_name="张三丰")],
    )
    assert rejected(path) == [(4, "debtor_name", "张三丰", "the same national ID has another name on row 2")]


def test_contact_columns_go_together(tmp_path):
    header = [*account(), "contact_name", "contact_relation", "contact_phone"]
    path = write_csv(
        tmp_path / "contacts.csv",
        [
            account(contact_name="李四", contact_relation="配偶", contact_phone="13900000001"),
            account(account_no="LN002", contact_name="王五"),
            account(account_no="LN003", contact_name="赵六", contact_relation="邻居", contact_phone="139"),
        ],
        header,
    )
    errors = rejected(path)
    assert errors[:2] == [
        (3, "contact_relation", "", "give contact_name, contact_relation and contact_phone together, or none of them"),
        (3, "contact_phone", "", "give contact_name, contact_relation and contact_phone together, or none of them"),
    ]
    assert [e[:2] for e in errors[2:]] == [(4, "contact_relation"), (4, "contact_phone")]


def test_days_past_due_instead_of_due_date(tmp_path):
    header = [name for name in account() if name != "due_date"] + ["逾期天数"]
    row = {**account(), "逾期天数": "30"}
    rows = check_accounts_file(write_csv(tmp_path / "dpd.csv", [row], header))
    assert rows["due_date"].to_list() == [AS_OF - timedelta(days=30)]


def test_either_due_date_or_dpd_per_row(tmp_path):
    header = [*account(), "dpd"]
    path = write_csv(tmp_path / "both.csv", [account(), account(account_no="LN002", due_date="")], header)
    assert rejected(path) == [(3, "due_date", "", "either due_date or dpd (days past due) is required")]


def test_principal_cannot_exceed_the_original_amount(tmp_path):
    path = write_csv(tmp_path / "p.csv", [account(principal_outstanding="10000.01")])
    assert rejected(path) == [
        (2, "principal_outstanding", "10000.01", "principal outstanding is more than the original amount")
    ]


def test_time_zone_and_currency_columns(tmp_path):
    header = [*account(), "时区", "币种"]
    good = write_csv(tmp_path / "tz.csv", [{**account(), "时区": "Asia/Urumqi", "币种": "usd"}], header)
    row = check_accounts_file(good).row(0, named=True)
    assert (row["time_zone"], row["currency"]) == ("Asia/Urumqi", "USD")
    bad = write_csv(tmp_path / "tz2.csv", [{**account(), "时区": "Beijing", "币种": "RMB1"}], header)
    assert [e[1] for e in rejected(bad)] == ["时区", "币种"]


def test_blank_rows_are_skipped_and_row_numbers_kept(tmp_path):
    path = tmp_path / "blank.csv"
    good = account()
    bad = account(account_no="LN002", mobile="1")
    path.write_text(
        ",".join(good) + "\n" + ",".join(good.values()) + "\n" + ",," * 6 + "\n\n" + ",".join(bad.values()) + "\n",
        encoding="utf-8",
    )
    assert rejected(path) == [(5, "mobile", "1", "not a mainland mobile number (11 digits starting 13-19)")]


def test_too_many_errors_are_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(account_rows.v, "MAX_ERRORS", 3)
    path = write_csv(tmp_path / "many.csv", [account(account_no=f"L{i}", mobile="1") for i in range(10)])
    with pytest.raises(InputRejected) as caught:
        check_accounts_file(path)
    errors = caught.value.errors
    assert len(errors) == 4
    assert errors[-1].reason == "more than 3 errors; only the first 3 are listed"


def test_columns_missing_from_the_header(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("账号,姓名,备注\nA1,张三,x\n", encoding="utf-8")
    errors = rejected(path)
    assert errors[0] == (
        1,
        "national_id",
        "",
        "required column is missing (accepted headers: national_id, 身份证号, 身份证号码, 证件号码, 证件号)",
    )
    assert errors[-1][1] == "due_date"


def test_repeated_columns_in_the_header(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("账号,账户号\nA1,A2\n", encoding="utf-8")
    assert rejected(path)[0] == (1, "账户号", "账户号", "this column repeats column '账号' (both mean account_no)")


# Payments -------------------------------------------------------------------------------


def check_payments_file(path):
    table = read_table(path)
    columns = match_columns(table.headers, PAYMENT_COLUMNS, file=table.file)
    return payment_rows.check_payments(table, columns, settings=get_settings())


def test_payments_are_normalised(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        "交易流水号,账号,还款金额,还款时间,渠道\n"
        'T1,LN001,"1,000.5",2026-03-01 09:30:00,bank\n'
        "T2,LN001,20,2026-03-02T01:00:00Z,\n",
        encoding="utf-8",
    )
    rows = check_payments_file(path)
    assert rows["amount"].to_list() == [100050, 2000]
    assert rows["paid_at"].to_list() == [
        datetime(2026, 3, 1, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
    ]
    assert rows["channel"].to_list() == ["bank", None]


def test_bad_payments_are_listed(tmp_path):
    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")
    path = tmp_path / "p.csv"
    path.write_text(
        "txn_id,account_no,amount,paid_at\n"
        "T1,LN001,0,2026-03-01 09:30\n"
        "T2,LN001,10,yesterday\n"
        f"T3,LN001,10,{future}\n"
        "T1,LN001,10,2026-03-01 09:30\n",
        encoding="utf-8",
    )
    assert rejected(path, check_payments_file) == [
        (2, "amount", "0", "amount must be more than zero"),
        (3, "paid_at", "yesterday", "not a date and time (use YYYY-MM-DD HH:MM:SS, optionally with +08:00)"),
        (4, "paid_at", future, "the payment time is in the future"),
        (5, "txn_id", "T1", "this transaction id is already on row 2"),
    ]
