"""User-facing text in Simplified Chinese (default) and English.

Messages are written in English in the code and wrapped in `_()`. Translations live
in gettext catalogs, one .po file per domain under weiwai/locales/<locale>/, read
with Babel at first use (no compile step). Placeholders use str.format names:
    _("row {row}: {reason}").format(row=3, reason=...)
The locale is a context variable: the CLI sets it from WEIWAI_LOCALE / settings, the
web app per request from the user's choice or Accept-Language.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

LOCALES_DIR = Path(__file__).parent / "locales"
SUPPORTED = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"

_current: ContextVar[str | None] = ContextVar("weiwai_locale", default=None)


def normalise_locale(value: str | None) -> str:
    """Map 'zh', 'zh-CN', 'zh_Hans', 'en-US'… to a supported locale."""
    if not value:
        return default_locale()
    value = value.replace("-", "_").lower()
    if value.startswith("zh"):
        return "zh_CN"
    if value.startswith("en"):
        return "en"
    return default_locale()


def default_locale() -> str:
    try:
        from weiwai.config import get_settings

        configured = get_settings().default_locale
    except Exception:  # settings not usable yet (e.g. missing secrets): still speak
        configured = DEFAULT_LOCALE
    return configured if configured in SUPPORTED else DEFAULT_LOCALE


def get_locale() -> str:
    return _current.get() or default_locale()


def set_locale(locale: str | None) -> None:
    _current.set(normalise_locale(locale) if locale else None)


@contextmanager
def using_locale(locale: str):
    token = _current.set(normalise_locale(locale))
    try:
        yield
    finally:
        _current.reset(token)


@lru_cache(maxsize=len(SUPPORTED))
def _catalog(locale: str) -> dict[str, str]:
    messages: dict[str, str] = {}
    folder = LOCALES_DIR / locale
    for po_file in sorted(folder.glob("*.po")):
        with po_file.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for message in catalog:
            if message.id and message.string and not message.fuzzy:
                messages[str(message.id)] = str(message.string)
    return messages


def gettext(message: str) -> str:
    """The message in the current locale (the English original when untranslated)."""
    locale = get_locale()
    if locale == "en":
        return message
    return _catalog(locale).get(message, message)


_ = gettext


def format_money(amount: Decimal, currency: str = "CNY", locale: str | None = None) -> str:
    return format_currency(amount, currency, locale=Locale.parse(locale or get_locale()))


def format_number(value: Decimal | int, locale: str | None = None) -> str:
    return format_decimal(value, locale=Locale.parse(locale or get_locale()))


def format_day(value: date, locale: str | None = None) -> str:
    return _babel_format_date(value, format="medium", locale=Locale.parse(locale or get_locale()))


def format_timestamp(value: datetime, tz: str = "Asia/Shanghai", locale: str | None = None) -> str:
    return _babel_format_datetime(value, format="medium", tzinfo=tz, locale=Locale.parse(locale or get_locale()))
