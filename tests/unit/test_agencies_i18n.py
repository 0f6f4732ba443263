"""Every message of the agencies domain has a Chinese translation with the same placeholders."""

import ast
import re
from pathlib import Path

from babel.messages.pofile import read_po

SRC = Path(__file__).parents[2] / "src" / "weiwai"
MODULES = sorted((SRC / "agencies").glob("*.py")) + [SRC / "cli" / "agency_cmd.py", SRC / "cli" / "contract_cmd.py"]
CATALOG = SRC / "locales" / "zh_CN" / "agencies.po"


def messages_in(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_":
            argument = node.args[0]
            # A computed message could never be found in a catalog.
            assert isinstance(argument, ast.Constant), f"{path.name}:{node.lineno}: _() of a non-literal"
            found.append((argument.value, node.lineno))
    return found


def translations() -> dict[str, str]:
    with CATALOG.open("rb") as fh:
        return {str(m.id): str(m.string) for m in read_po(fh, locale="zh_CN") if m.id}


def test_every_message_is_translated_with_the_same_placeholders():
    catalog = translations()
    found = [(path.name, message, line) for path in MODULES for message, line in messages_in(path)]
    assert len(found) > 100  # the scan did find the domain's messages
    untranslated = [f"{name}:{line} {message!r}" for name, message, line in found if not catalog.get(message)]
    assert untranslated == []
    mismatched = [
        message for _name, message, _line in found
        if set(re.findall(r"\{\w+\}", catalog[message])) != set(re.findall(r"\{\w+\}", message))
    ]
    assert mismatched == []


def test_a_missing_translation_would_be_noticed(tmp_path):
    module = tmp_path / "module.py"
    module.write_text('from weiwai.i18n import _\nmessage = _("a message nobody translated")\n')
    assert messages_in(module) == [("a message nobody translated", 2)]
    assert "a message nobody translated" not in translations()
