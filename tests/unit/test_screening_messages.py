"""Every user-facing message of screening, placement, cases and jobs has a Chinese translation."""

import ast
from pathlib import Path

from babel.messages.pofile import read_po

SRC = Path(__file__).parents[2] / "src" / "weiwai"
MODULES = [
    *sorted((SRC / "placements").glob("*.py")),
    *sorted((SRC / "jobs").glob("*.py")),
    *(SRC / "cli" / name for name in ("screen_cmd.py", "placement_cmd.py", "case_cmd.py", "jobs_cmd.py")),
]
CATALOG = SRC / "locales" / "zh_CN" / "placements.po"


def messages_in(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"
                and node.args and isinstance(node.args[0], ast.Constant)):
            found.add(node.args[0].value)
    return found


def test_every_message_is_translated():
    with CATALOG.open("rb") as fh:
        catalog = {str(m.id): str(m.string) for m in read_po(fh, locale="zh_CN") if m.id}
    missing = {(path.name, message) for path in MODULES for message in messages_in(path)
               if not catalog.get(message)}
    assert missing == set()


def test_placeholders_survive_translation():
    import string

    with CATALOG.open("rb") as fh:
        for message in read_po(fh, locale="zh_CN"):
            if not message.id:
                continue
            names = {field for _, field, _, _ in string.Formatter().parse(str(message.id)) if field}
            translated = {field for _, field, _, _ in string.Formatter().parse(str(message.string)) if field}
            assert names == translated, message.id


def test_chinese_is_the_default():
    from weiwai.i18n import using_locale
    from weiwai.placements.screening import reason_label

    with using_locale("zh_CN"):
        assert reason_label("in_house_hold") == "保留内催"
    with using_locale("en"):
        assert reason_label("in_house_hold") == "held for in-house collection"
