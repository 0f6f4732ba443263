import pytest

from weiwai.errors import InputRejected
from weiwai.i18n import using_locale
from weiwai.portfolio.importing.columns import (
    ACCOUNT_COLUMNS,
    ACCOUNT_EITHER_OF,
    PAYMENT_COLUMNS,
    match_columns,
)

REQUIRED_ACCOUNT_HEADERS = [
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
    "逾期天数",
    "信用等级",
    "地区",
]


@pytest.fixture(autouse=True)
def english():
    with using_locale("en"):
        yield


def test_chinese_headers_are_aliases():
    columns = match_columns(REQUIRED_ACCOUNT_HEADERS, ACCOUNT_COLUMNS, file="f", either_of=ACCOUNT_EITHER_OF)
    assert columns.positions["account_no"] == 0
    assert columns.positions["dpd"] == 10
    assert columns.header("national_id") == "身份证号"
    assert columns.ignored == ()


def test_canonical_names_are_case_insensitive_and_marked_headers_accepted():
    headers = ["Account_No", "TXN ID", "amount*", " paid-at ", "渠道"]
    columns = match_columns(headers, PAYMENT_COLUMNS, file="f")
    assert columns.positions == {"account_no": 0, "txn_id": 1, "amount": 2, "paid_at": 3, "channel": 4}
    assert columns.header("amount") == "amount"


def test_unknown_columns_are_ignored_and_reported():
    columns = match_columns(["交易号", "账号", "金额", "交易时间", "备注", ""], PAYMENT_COLUMNS, file="f")
    assert columns.ignored == ("备注",)


@pytest.mark.parametrize(
    "alias,name",
    [
        ("借据号", "account_no"),
        ("客户姓名", "debtor_name"),
        ("证件号码", "national_id"),
        ("联系电话", "mobile"),
        ("合同金额", "original_amount"),
        ("未还本金", "principal_outstanding"),
        ("手续费", "fee_outstanding"),
        ("违约金", "penalty_outstanding"),
        ("最早未还到期日", "due_date"),
        ("风险等级", "credit_grade"),
        ("所属地区", "region"),
        ("联系人姓名", "contact_name"),
        ("关系", "contact_relation"),
        ("联系人手机", "contact_phone"),
        ("住址", "address"),
        ("逾期原因", "overdue_reason"),
        ("币种", "currency"),
        ("时区", "time_zone"),
    ],
)
def test_documented_account_aliases(alias, name):
    assert any(spec.name == name and alias in spec.aliases for spec in ACCOUNT_COLUMNS)


def test_missing_required_columns_are_all_listed():
    with pytest.raises(InputRejected) as rejected:
        match_columns(["交易号", "金额"], PAYMENT_COLUMNS, file="p.csv")
    assert [(e.row, e.column) for e in rejected.value.errors] == [(1, "account_no"), (1, "paid_at")]


def test_due_date_or_dpd_is_required():
    headers = [h for h in REQUIRED_ACCOUNT_HEADERS if h != "逾期天数"]
    with pytest.raises(InputRejected) as rejected:
        match_columns(headers, ACCOUNT_COLUMNS, file="a.csv", either_of=ACCOUNT_EITHER_OF)
    [error] = rejected.value.errors
    assert error.reason.startswith("one of these columns is required: due_date")
