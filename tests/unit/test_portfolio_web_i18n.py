"""The web's language choice, safe redirects, and complete Chinese catalogs for the
portfolio and web messages."""

import re
from pathlib import Path

import pytest

import weiwai
from weiwai.i18n import _catalog, using_locale
from weiwai.web.i18n_web import LABELS, label, negotiate_locale
from weiwai.web.pages import local_path

PACKAGE = Path(weiwai.__file__).parent
MESSAGE = re.compile(r'''\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)''')
TRANSLATED_SOURCES = [
    *sorted((PACKAGE / "web" / "templates").glob("*.html")),
    PACKAGE / "web" / "pages.py",
    PACKAGE / "portfolio" / "service.py",
    PACKAGE / "portfolio" / "routes.py",
    PACKAGE / "cli" / "portfolio_cmd.py",
    PACKAGE / "cli" / "user_cmd.py",
    PACKAGE / "security" / "service.py",
    PACKAGE / "security" / "demo_users.py",
]


@pytest.mark.parametrize(
    "cookie, accept_language, expected",
    [
        ("en", "zh-CN", "en"),
        ("zh_CN", "en-US", "zh_CN"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "fr-FR,fr;q=0.9,en;q=0.8,zh;q=0.7", "en"),
        (None, "de;q=0.9, zh-Hans-CN;q=0.95", "zh_CN"),
        (None, "en;q=0, zh;q=0.1", "zh_CN"),
        (None, "fr-FR", "zh_CN"),
        (None, None, "zh_CN"),
        ("klingon", "en", "en"),
        (None, "en;q=abc", "zh_CN"),
    ],
)
def test_locale_is_cookie_then_accept_language_then_default(cookie, accept_language, expected):
    assert negotiate_locale(cookie=cookie, accept_language=accept_language) == expected


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/accounts?bucket=M1", "/accounts?bucket=M1"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("accounts", "/"),
    ],
)
def test_redirect_targets_stay_on_the_site(target, expected):
    assert local_path(target) == expected


def _messages() -> dict[str, Path]:
    found = {}
    for source in TRANSLATED_SOURCES:
        for match in MESSAGE.finditer(source.read_text(encoding="utf-8")):
            found.setdefault(match.group(1) if match.group(1) is not None else match.group(2), source)
    for labels in LABELS.values():
        for english in labels.values():
            found.setdefault(english, PACKAGE / "web" / "i18n_web.py")
    return found


def test_every_message_has_a_chinese_translation():
    catalog = _catalog("zh_CN")
    messages = _messages()
    assert len(messages) > 150  # the extraction really found the messages
    missing = {message: source.name for message, source in messages.items() if message not in catalog}
    assert missing == {}


def test_translations_keep_their_placeholders():
    catalog = _catalog("zh_CN")
    placeholder = re.compile(r"\{(\w+)\}")
    for message in _messages():
        assert set(placeholder.findall(catalog[message])) == set(placeholder.findall(message)), message


def test_labels_translate_known_codes_and_pass_unknown_ones_through():
    with using_locale("zh_CN"):
        assert label("account_status", "written_off") == "已核销"
        assert label("role", "collector") == "催收员"
        assert label("account_status", "frozen") == "frozen"
    with using_locale("en"):
        assert label("relation", "spouse") == "Spouse"
