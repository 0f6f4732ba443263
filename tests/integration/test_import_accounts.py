"""Importing the overdue book, on SQLite and PostgreSQL."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from weiwai.errors import InputRejected
from weiwai.i18n import using_locale
from weiwai.portfolio import personal_data
from weiwai.portfolio.identity import national_id_check_char
from weiwai.portfolio.importing import import_accounts
from weiwai.portfolio.models import (
    Account,
    AccountBalanceChange,
    AccountStatus,
    Debtor,
    DebtorContact,
    DebtorPhone,
    ImportRun,
)
from weiwai.security.models import AuditEvent

AS_OF = date(2026, 6, 30)
HEADER = [
    "account_no",
    "debtor_name",
    "national_id",
    "mobile",
    "product",
    "original_amount",
    "principal_outstanding",
    "interest_outstanding",
    "fee_outstanding",
    "penalty_outstanding",
    "due_date",
    "credit_grade",
    "region",
    "contact_name",
    "contact_relation",
    "contact_phone",
    "address",
    "overdue_reason",
]


@pytest.fixture(autouse=True)
def english():
    with using_locale("en"):
        yield


def national_id(serial: int) -> str:
    first17 = f"3101041985061{serial:04d}"
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
        "fee_outstanding": "30",
        "penalty_outstanding": "15.25",
        "due_date": "2026-05-01",
        "credit_grade": "B",
        "region": "上海",
        "contact_name": "李四",
        "contact_relation": "配偶",
        "contact_phone": "13900000001",
        "address": "上海市徐汇区漕溪北路88号",
        "overdue_reason": "失业",
    }
    row.update(overrides)
    return row


def book(tmp_path, rows, name="book.csv"):
    path = tmp_path / name
    lines = [",".join(HEADER)] + [",".join(row.get(column, "") for column in HEADER) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(session, path, as_of=AS_OF):
    return import_accounts(session=session, path=path, actor="tester", as_of=as_of)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def history(session, account_no):
    return session.scalars(
        select(AccountBalanceChange)
        .join(Account, Account.id == AccountBalanceChange.account_id)
        .where(Account.account_no == account_no)
        .order_by(AccountBalanceChange.id)
    ).all()


def by_no(session, account_no) -> Account:
    return session.scalars(select(Account).where(Account.account_no == account_no)).one()


def test_new_accounts_debtors_phones_contacts_and_history(session, tmp_path):
    path = book(
        tmp_path,
        [
            account(),
            account(
                account_no="LN002",
                mobile="13812340000",
                principal_outstanding="0",
                interest_outstanding="0",
                fee_outstanding="0",
                penalty_outstanding="0",
                contact_name="",
                contact_relation="",
                contact_phone="",
            ),
            account(
                account_no="LN003",
                debtor_name="王五",
                national_id=national_id(2),
                mobile="+86 137 0000 0000",
                contact_relation="同事",
                contact_phone="13900000002",
                address="",
            ),
        ],
    )
    report = run(session, path)
    assert (report.rows, report.created, report.updated, report.unchanged) == (3, 3, 0, 0)
    assert (count(session, Debtor), count(session, Account), count(session, AccountBalanceChange)) == (2, 3, 3)

    first = by_no(session, "LN001")
    assert first.principal_outstanding == Decimal("8000.00")
    assert first.penalty_outstanding == Decimal("15.25")
    assert first.total_outstanding == Decimal("8165.75")
    assert first.due_date == date(2026, 5, 1)
    assert first.status == AccountStatus.open
    assert first.credit_balance == Decimal("0.00")
    assert first.version == 1
    assert by_no(session, "LN002").status == AccountStatus.paid_off

    debtor = first.debtor
    assert debtor.name == "张三" and debtor.region == "上海" and debtor.time_zone == "Asia/Shanghai"
    assert personal_data.open_value(debtor.national_id_enc, personal_data.NATIONAL_ID, reveal=True) == national_id(1)
    assert (
        personal_data.open_value(debtor.address_enc, personal_data.ADDRESS, reveal=True) == "上海市徐汇区漕溪北路88号"
    )
    phones = [
        (personal_data.open_value(p.phone_enc, personal_data.DEBTOR_PHONE, reveal=True), p.is_primary)
        for p in debtor.phones
    ]
    assert phones == [("13812345678", True), ("13812340000", False)]
    assert [(c.name, c.relation) for c in debtor.contacts] == [("李四", "spouse")]
    assert debtor.phones[0].phone_bidx == personal_data.phone_index("13812345678")
    assert debtor.national_id_bidx == personal_data.national_id_index(national_id(1))

    other = by_no(session, "LN003").debtor
    assert other.address_enc is None
    assert [c.relation for c in other.contacts] == ["colleague"]

    [change] = history(session, "LN001")
    assert (change.source, change.reference, change.changed_by) == ("import", "book.csv", "tester")
    assert change.delta_total == Decimal("8165.75")
    assert change.due_date == date(2026, 5, 1)

    run_row = session.scalars(select(ImportRun)).one()
    assert (run_row.kind, run_row.rows, run_row.created, run_row.imported_by) == ("accounts", 3, 3, "tester")
    assert len(run_row.file_sha256) == 64
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "import.accounts")).one()
    assert event.entity_id == str(run_row.id) and event.details["created"] == 3


def test_rejected_file_writes_nothing_and_says_why(session, tmp_path):
    path = book(tmp_path, [account(), account(account_no="LN002", national_id="310104198506100010", mobile="1234")])
    with pytest.raises(InputRejected) as rejected:
        run(session, path)
    assert [(e.file, e.row, e.column, e.value) for e in rejected.value.errors] == [
        ("book.csv", 3, "national_id", "310104198506100010"),
        ("book.csv", 3, "mobile", "1234"),
    ]
    assert all(e.reason for e in rejected.value.errors)
    for model in (Debtor, DebtorPhone, DebtorContact, Account, AccountBalanceChange, ImportRun):
        assert count(session, model) == 0


def test_reimporting_the_same_file_changes_nothing(session, tmp_path):
    path = book(tmp_path, [account(), account(account_no="LN002", national_id=national_id(2), debtor_name="王五")])
    run(session, path)
    before = {a.account_no: (a.version, a.updated_at, a.source_hash) for a in session.scalars(select(Account))}
    report = run(session, path)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    after = {a.account_no: (a.version, a.updated_at, a.source_hash) for a in session.scalars(select(Account))}
    assert after == before
    assert count(session, AccountBalanceChange) == 2
    assert (count(session, Debtor), count(session, DebtorPhone), count(session, DebtorContact)) == (2, 2, 2)
    assert count(session, ImportRun) == 2


def test_a_changed_row_updates_the_account_and_keeps_history(session, tmp_path):
    run(session, book(tmp_path, [account(), account(account_no="LN002")], name="day1.csv"))
    changed = account(
        principal_outstanding="7000.00",
        debtor_name="张三",
        region="浙江",
        mobile="13700001111",
        contact_name="赵六",
        contact_relation="朋友",
        contact_phone="13900000009",
    )
    # The debtor's fields come from the last of their rows.
    report = run(session, book(tmp_path, [account(account_no="LN002"), changed], name="day2.csv"))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)

    updated = by_no(session, "LN001")
    assert updated.principal_outstanding == Decimal("7000.00")
    assert updated.version == 2
    changes = history(session, "LN001")
    assert [(c.reference, c.principal_outstanding, c.delta_total) for c in changes] == [
        ("day1.csv", Decimal("8000.00"), Decimal("8165.75")),
        ("day2.csv", Decimal("7000.00"), Decimal("-1000.00")),
    ]
    debtor = updated.debtor
    assert debtor.region == "浙江"
    phones = [
        (personal_data.open_value(p.phone_enc, personal_data.DEBTOR_PHONE, reveal=True), p.is_primary)
        for p in debtor.phones
    ]
    assert phones == [("13812345678", True), ("13700001111", False)]
    assert sorted(c.name for c in debtor.contacts) == ["李四", "赵六"]
    assert count(session, Debtor) == 1


def test_a_change_that_leaves_balances_alone_adds_no_history(session, tmp_path):
    run(session, book(tmp_path, [account()], name="a.csv"))
    report = run(session, book(tmp_path, [account(product="现金贷", overdue_reason="疾病")], name="b.csv"))
    assert report.updated == 1
    assert by_no(session, "LN001").product == "现金贷"
    assert len(history(session, "LN001")) == 1


def test_status_follows_the_balance_but_written_off_stays(session, tmp_path):
    run(session, book(tmp_path, [account(), account(account_no="LN002")], name="a.csv"))
    by_no(session, "LN002").status = AccountStatus.written_off
    session.flush()
    zero = {
        "principal_outstanding": "0",
        "interest_outstanding": "0",
        "fee_outstanding": "0",
        "penalty_outstanding": "0",
    }
    run(session, book(tmp_path, [account(**zero), account(account_no="LN002", **zero)], name="b.csv"))
    assert by_no(session, "LN001").status == AccountStatus.paid_off
    assert by_no(session, "LN002").status == AccountStatus.written_off


def test_a_new_account_of_a_known_debtor_reuses_the_debtor(session, tmp_path):
    run(session, book(tmp_path, [account()], name="a.csv"))
    report = run(session, book(tmp_path, [account(), account(account_no="LN777", debtor_name="张三")], name="b.csv"))
    assert (report.created, report.unchanged) == (1, 1)
    assert count(session, Debtor) == 1
    assert by_no(session, "LN777").debtor_id == by_no(session, "LN001").debtor_id


def test_an_account_cannot_move_to_another_person(session, tmp_path):
    run(session, book(tmp_path, [account()], name="a.csv"))
    with pytest.raises(InputRejected) as rejected:
        run(session, book(tmp_path, [account(national_id=national_id(9), debtor_name="李雷")], name="b.csv"))
    [error] = rejected.value.errors
    assert (error.row, error.column, error.value) == (2, "national_id", national_id(9))
    assert count(session, Debtor) == 1
    assert by_no(session, "LN001").version == 1


def test_days_past_due_file_with_chinese_headers(session, tmp_path):
    path = tmp_path / "逾期.csv"
    path.write_text(
        "借据号,客户姓名,身份证号码,手机号码,产品名称,合同金额,剩余本金,未还利息,手续费,违约金,逾期天数,客户等级,省份,备注\n"
        f'JD1,张三,{national_id(1)},13812345678,现金贷,"5,000",4000,0,0,0,45,A,广东,x\n',
        encoding="gb18030",
    )
    report = run(session, path)
    assert report.created == 1
    assert report.warnings == ("ignored unknown column(s): 备注",)
    assert by_no(session, "JD1").due_date == date(2026, 5, 16)


def test_personal_data_is_encrypted_at_rest(session, tmp_path):
    run(session, book(tmp_path, [account()]))
    plain = [national_id(1), "13812345678", "13900000001", "上海市徐汇区漕溪北路88号", "漕溪北路"]
    for table in ("debtors", "debtor_phones", "debtor_contacts", "accounts", "account_balance_changes"):
        for row in session.execute(text(f"SELECT * FROM {table}")):
            dump = " ".join(
                value.hex() + value.decode("latin-1") if isinstance(value, (bytes, memoryview)) else str(value)
                for value in (bytes(v) if isinstance(v, memoryview) else v for v in row)
            )
            for secret in plain:
                assert secret not in dump
                assert secret.encode().hex() not in dump


def test_xlsx_book(session, tmp_path):
    import xlsxwriter

    path = tmp_path / "book.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, HEADER)
    values = account()
    sheet.write_row(1, 0, [values[name] for name in HEADER])
    sheet.write_number(1, HEADER.index("principal_outstanding"), 8000)
    sheet.write_number(1, HEADER.index("mobile"), 13812345678)
    sheet.write_datetime(
        1,
        HEADER.index("due_date"),
        __import__("datetime").datetime(2026, 5, 1),
        workbook.add_format({"num_format": "yyyy/mm/dd"}),
    )
    workbook.close()
    report = run(session, path)
    assert report.created == 1
    imported = by_no(session, "LN001")
    assert imported.principal_outstanding == Decimal("8000.00") and imported.due_date == date(2026, 5, 1)
