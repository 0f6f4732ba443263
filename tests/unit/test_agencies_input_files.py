"""Reading agency and contract files: documents, precise RowErrors, translated reasons."""

import pytest

from weiwai.agencies.input_errors import describe, load_documents, validate_documents
from weiwai.agencies.schemas import AgencyCreate
from weiwai.errors import InputRejected
from weiwai.i18n import using_locale

GOOD = """
code: HZ-A
legal_name: 杭州甲
uscc: 91330106MA2H3K7L5P
regions_served: [浙江]
capacity_cases: 10
capacity_balance: "1000.00"
"""


def test_several_yaml_documents_are_several_records(tmp_path):
    path = tmp_path / "agencies.yaml"
    path.write_text(GOOD + "---\n" + GOOD.replace("HZ-A", "HZ-B"), encoding="utf-8")
    records = validate_documents(AgencyCreate, load_documents(path), file=str(path))
    assert [r.code for r in records] == ["HZ-A", "HZ-B"]


def test_json_object_or_list(tmp_path):
    path = tmp_path / "agency.json"
    path.write_text('{"code": "X1"}', encoding="utf-8")
    assert load_documents(path) == [{"code": "X1"}]
    path.write_text('[{"code": "X1"}, {"code": "X2"}]', encoding="utf-8")
    assert len(load_documents(path)) == 2


def test_errors_name_document_field_value_and_reason_and_reject_everything(tmp_path):
    path = tmp_path / "agencies.yaml"
    bad = GOOD.replace("HZ-B", "x").replace("capacity_cases: 10", "capacity_cases: -5")
    path.write_text(GOOD + "---\n" + bad.replace("HZ-A", "HZ-B") + "extra: 1\n", encoding="utf-8")
    with using_locale("en"), pytest.raises(InputRejected) as rejected:
        validate_documents(AgencyCreate, load_documents(path), file="agencies.yaml")
    errors = {(e.row, e.column): e for e in rejected.value.errors}
    assert set(errors) == {(2, "capacity_cases"), (2, "extra")}
    assert errors[2, "capacity_cases"].value == "-5"
    assert errors[2, "capacity_cases"].reason == "must be at least 0"
    assert errors[2, "extra"].reason == "unknown field (check the spelling)"
    assert errors[2, "extra"].file == "agencies.yaml"


def test_reasons_are_in_chinese_by_default(tmp_path):
    path = tmp_path / "agency.yaml"
    path.write_text(GOOD.replace("91330106MA2H3K7L5P", "91330106MA2H3K7L5Q").replace("code: HZ-A\n", ""),
                    encoding="utf-8")
    with using_locale("zh_CN"), pytest.raises(InputRejected) as rejected:
        validate_documents(AgencyCreate, load_documents(path), file="agency.yaml")
    reasons = {e.column: e.reason for e in rejected.value.errors}
    assert reasons == {"code": "必填", "uscc": "校验码为 Q，应为 P：有字符输入错误"}


@pytest.mark.parametrize(
    "text,needle",
    [("code: [unclosed\n", "not valid YAML"), ("", "the file is empty"), ("- a\n- b\n", "mapping")],
)
def test_unreadable_files_are_rejected_with_a_reason(tmp_path, text, needle):
    path = tmp_path / "agency.yaml"
    path.write_text(text, encoding="utf-8")
    with using_locale("en"), pytest.raises(InputRejected) as rejected:
        load_documents(path)
    assert needle in rejected.value.errors[0].reason


def test_a_missing_file_is_rejected(tmp_path):
    with pytest.raises(InputRejected):
        load_documents(tmp_path / "nope.yaml")


def test_unknown_error_types_fall_back_to_pydantic_wording():
    assert describe({"type": "something_new", "msg": "Something new", "ctx": {}}) == "Something new"
    with using_locale("en"):
        enum_error = {"type": "enum", "msg": "", "ctx": {"expected": "'a', 'b' or 'c'"}}
        assert describe(enum_error) == "must be one of: 'a', 'b', 'c'"
