"""Cross-site request forgery protection: a synchroniser token bound to the session.

Every session (signed in or not) carries a random session id `sid` in the signed session
cookie; the CSRF token is HMAC-SHA256(secret_key, sid). Signing in issues a new sid
(weiwai.web.deps.start_session), so the token of the sign-in form dies with the pre-login
session and nothing from before authentication carries over.

A request must present the token when it uses an unsafe method (POST, PUT, PATCH, DELETE)
and is authenticated by the session cookie, and always on the sign-in form (POST /login):
in the form field `csrf_token` or the header `X-CSRF-Token` (htmx sends the header, see
base.html's hx-headers). Requests with an Authorization header (API tokens) are exempt:
a browser never adds that header on its own. POST /api/v1/session (the JSON sign-in)
accepts only application/json, which no other site's form can send, and SameOriginMiddleware
refuses foreign Origins. A refusal is 403 `csrf_failed` (problem+json, or the error page).

API clients that use the session cookie read the token from the `X-CSRF-Token` header of
the sign-in response or of GET /api/v1/me.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_ID_KEY = "sid"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Always checked, signed in or not: the sign-in form (login CSRF).
ALWAYS_CHECKED = frozenset({"/login"})
# The JSON sign-in: JSON only (no cross-site form can send it) and same-origin checked.
EXEMPT = frozenset({("POST", "/api/v1/session")})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


def token_for(session_id: str) -> str:
    """The CSRF token of a session id."""
    from weiwai.config import get_settings

    key = get_settings().secret_key.encode("utf-8")
    return hmac.new(key, b"csrf:" + session_id.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_token(request: HTTPConnection) -> str:
    """The current session's CSRF token (giving the session an id if it has none yet)."""
    if "session" not in request.scope:  # an app without sessions has no cookie to protect
        return ""
    session = request.session
    if not session.get(SESSION_ID_KEY):
        session[SESSION_ID_KEY] = new_session_id()
    return token_for(session[SESSION_ID_KEY])


def _needs_token(scope: Scope, headers: Headers) -> bool:
    if scope["method"] not in UNSAFE_METHODS or (scope["method"], scope["path"]) in EXEMPT:
        return False
    if "authorization" in headers:  # API token: the cookie is not what authenticates
        return False
    if scope["path"] in ALWAYS_CHECKED:
        return True
    session = scope.get("session") or {}
    return session.get("uid") is not None


class CsrfMiddleware:
    """Refuses unsafe cookie-authenticated requests without the session's token (runs inside the session)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not _needs_token(scope, headers):
            await self.app(scope, receive, send)
            return
        presented = headers.get(CSRF_HEADER)
        if presented is None and headers.get("content-type", "").startswith(FORM_TYPES):
            receive = await _buffered(receive)
            form = await Request(scope, receive).form()
            value = form.get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
            await form.close()
            receive = await _buffered(receive)  # replay the body to the route
        session_id = (scope.get("session") or {}).get(SESSION_ID_KEY)
        if not presented or not session_id or not hmac.compare_digest(presented, token_for(session_id)):
            await _refusal(scope)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _buffered(receive: Receive) -> Receive:
    """A receive that replays the request body (read once, here), then waits on the real one."""
    original = getattr(receive, "original", receive)
    if hasattr(receive, "body"):
        body = receive.body  # type: ignore[attr-defined]
    else:
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    replay.original = original  # type: ignore[attr-defined]
    replay.body = body  # type: ignore[attr-defined]
    return replay


def _refusal(scope: Scope):
    from weiwai.i18n import _
    from weiwai.web.app import error_page, is_page, problem

    request = Request(scope)
    detail = _("the form has expired or did not come from this site; reload the page and try again")
    if is_page(request) or scope["path"] == "/login":
        return error_page(request, 403, detail)
    return problem(403, "csrf_failed", "Forbidden", detail)
