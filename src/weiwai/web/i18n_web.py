"""The language of each web request, and the Jinja2 templates that speak it.

The language comes from the `lang` cookie (set by the language switch), else the
browser's Accept-Language, else settings.default_locale. LocaleMiddleware sets it for the
whole request, so templates, error messages and every `_()` agree.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from babel.numbers import format_percent
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from weiwai import __version__
from weiwai.i18n import (
    SUPPORTED,
    _,
    default_locale,
    format_day,
    format_money,
    format_number,
    format_timestamp,
    get_locale,
    normalise_locale,
    using_locale,
)

LANG_COOKIE = "lang"
TEMPLATES_DIR = Path(__file__).parent / "templates"
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


def supported_or_none(value: str | None) -> str | None:
    """The supported locale `value` names, or None (where normalise_locale would fall back)."""
    if not value:
        return None
    lowered = value.strip().replace("-", "_").lower()
    if lowered.startswith(("zh", "en")):
        return normalise_locale(lowered)
    return None


def negotiate_locale(*, cookie: str | None, accept_language: str | None) -> str:
    """The request's locale: cookie, else the best Accept-Language match, else the default."""
    chosen = supported_or_none(cookie)
    if chosen:
        return chosen
    for tag in _by_preference(accept_language or ""):
        chosen = supported_or_none(tag)
        if chosen:
            return chosen
    return default_locale()


def _by_preference(accept_language: str) -> list[str]:
    """Language tags of an Accept-Language header, highest q first (stable for ties)."""
    weighted = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _q, _p, tag in sorted(weighted)]


class LocaleMiddleware:
    """Sets weiwai.i18n's locale for the duration of each HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        locale = negotiate_locale(
            cookie=HTTPConnection(scope).cookies.get(LANG_COOKIE),
            accept_language=Headers(scope=scope).get("accept-language"),
        )
        with using_locale(locale):
            await self.app(scope, receive, send)


# Labels of stored codes, in English here and translated by _() when shown.
LABELS: dict[str, dict[str, str]] = {
    "role": {
        "admin": "Administrator",
        "operations": "Operations",
        "compliance": "Compliance",
        "infosec": "Information security",
        "finance": "Finance",
        "auditor": "Auditor",
        "agency_manager": "Agency manager",
        "collector": "Collector",
    },
    "account_status": {"open": "Open", "paid_off": "Paid off", "written_off": "Written off", "closed": "Closed"},
    "agency_status": {
        "applying": "Applying",
        "approved": "Approved",
        "active": "Active",
        "suspended": "Suspended",
        "terminated": "Terminated",
    },
    "relation": {"spouse": "Spouse", "relative": "Relative", "colleague": "Colleague", "friend": "Friend", "other": "Other"},
    "flag": {
        "deceased": "Deceased",
        "bankrupt": "Bankrupt",
        "in_litigation": "In litigation",
        "disputed": "Disputed",
        "cease_contact": "Cease contact",
        "vulnerable": "Vulnerable",
    },
    "change_source": {"import": "Import", "payment": "Payment", "reversal": "Reversal", "adjustment": "Adjustment"},
    "payment_status": {"posted": "Posted", "reversed": "Reversed"},
}


def label(kind: str, code: str) -> str:
    """The translated label of a stored code (the code itself when it has no label)."""
    english = LABELS.get(kind, {}).get(str(code))
    return _(english) if english else str(code)


def _amount(value: Decimal | None, currency: str = "CNY") -> str:
    return "" if value is None else format_money(Decimal(value), currency)


def label_for(kind: str):
    """A one-argument labeller for `kind`, for templates that map a list of codes."""
    return lambda code: label(kind, code)


def _percent(value: Decimal | float | None) -> str:
    return "" if value is None else format_percent(value, format="#,##0.0%", locale=get_locale())


def _count(value: int | None) -> str:
    return "" if value is None else format_number(value)


def _day(value: date | None) -> str:
    return "" if value is None else format_day(value)


def _moment(value: datetime | None) -> str:
    if value is None:
        return ""
    from weiwai.config import get_settings

    return format_timestamp(value, tz=get_settings().default_time_zone)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html"]),
        # A misspelt variable fails the render (and the tests) instead of printing nothing.
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from weiwai.web.csrf import csrf_token

    env.globals.update(_=_, label=label, label_for=label_for, version=__version__, supported_locales=SUPPORTED,
                       csrf_token=csrf_token)
    env.filters.update(money=_amount, count=_count, percent=_percent, day=_day, moment=_moment)
    return env


templates = Jinja2Templates(env=_environment())


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """Render a page template; `viewer` (the signed-in person, or None) is always defined."""
    full = {"viewer": None, "html_lang": HTML_LANG.get(get_locale(), "zh-CN"), "locale": get_locale()}
    full.update(context or {})
    return templates.TemplateResponse(request, name, full, status_code=status_code)
