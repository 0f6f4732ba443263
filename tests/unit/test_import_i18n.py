"""Every message of the import speaks Chinese, with the same placeholders as the English."""

import ast
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import weiwai
from weiwai.i18n import _, using_locale

PACKAGE = Path(weiwai.__file__).parent
SOURCES = [
    *sorted((PACKAGE / "portfolio" / "importing").glob("*.py")),
    PACKAGE / "portfolio" / "balances.py",
    PACKAGE / "cli" / "import_cmd.py",
]
CATALOG = PACKAGE / "locales" / "zh_CN" / "import.po"


def messages() -> list[str]:
    found: list[str] = []
    for source in SOURCES:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value not in found
            ):
                found.append(node.args[0].value)
    return found


def placeholders(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conversion in string.Formatter().parse(text) if name}


def test_sources_have_messages():
    assert len(messages()) > 50


def test_the_catalog_has_no_stale_messages():
    with CATALOG.open("rb") as fh:
        catalog = {entry.id for entry in read_po(fh, locale="zh_CN") if entry.id}
    assert catalog - set(messages()) == set()


@pytest.mark.parametrize("message", messages())
def test_every_message_has_a_chinese_translation(message):
    with CATALOG.open("rb") as fh:
        catalog = {entry.id: entry.string for entry in read_po(fh, locale="zh_CN") if entry.id}
    assert catalog.get(message), f"no translation in import.po for {message!r}"
    assert placeholders(catalog[message]) == placeholders(message)
    with using_locale("zh_CN"):
        assert _(message) != message


def test_error_lines_read_in_chinese():
    from weiwai.errors import RowError

    with using_locale("zh_CN"):
        line = str(RowError("book.csv", 3, "手机号", "1", _("a value is required")))
    assert line == "book.csv: 第 3 行，列 '手机号'，值 '1'：必须填写"
