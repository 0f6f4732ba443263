"""FastAPI application factory. Domain routers are mounted under /api/v1, pages at the root.

Every error is an RFC 9457 problem+json with a stable `code`, except for people using a
browser: they are sent to the login page when not signed in, and shown an error page
for other errors on pages.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError as DBAPIDataError
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from weiwai import __version__
from weiwai.errors import DomainError, InputRejected

STATIC_DIR = Path(__file__).parent / "static"
SESSION_COOKIE = "weiwai_session"
DOCS_PATH = "/api/docs"

# Stable codes of HTTP-level errors, for clients that branch on `code`.
HTTP_ERROR_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}

# Scripts and styles only from this server: no CDN, no inline scripts on our pages.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=()"
)
HSTS = "max-age=31536000; includeSubDomains"
# Swagger UI starts itself with an inline script.
DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


def problem(status: int, code: str, title: str, detail: str | None = None, **extra) -> JSONResponse:
    """An RFC 9457 problem+json response with a stable `code`."""
    body = {"type": f"https://weiwai.dev/problems/{code}", "title": title, "status": status, "code": code}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def wants_html(request: Request) -> bool:
    """A browser navigating (or HTMX swapping), rather than an API client."""
    return "text/html" in request.headers.get("accept", "") or "hx-request" in request.headers


def is_page(request: Request) -> bool:
    return wants_html(request) and not request.url.path.startswith("/api/")


def login_redirect(request: Request) -> Response:
    """Send a browser to the login page, to come back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if "hx-request" in request.headers:
        # An HTMX swap would paste the login page into a fragment; make it navigate instead.
        current = urlsplit(request.headers.get("hx-current-url", "/"))
        here = current.path + (f"?{current.query}" if current.query else "")
        return Response(status_code=401, headers={"HX-Redirect": f"/login?next={quote(here)}"})
    return RedirectResponse(f"/login?next={quote(here)}", status_code=303)


def error_page(request: Request, status: int, detail: str | None) -> HTMLResponse:
    from weiwai.web.i18n_web import render

    return render(request, "error.html", {"status": status, "detail": detail}, status_code=status)


@asynccontextmanager
async def _lifespan(_app: FastAPI):
    """Run the scheduled jobs in the background when the settings ask for it (weiwai serve)."""
    from weiwai.config import get_settings
    from weiwai.jobs.scheduler import start_background_scheduler, stop_background_scheduler

    from weiwai.security.audit_chain import PeriodicSealer

    settings = get_settings()
    if settings.run_jobs:
        start_background_scheduler(poll_seconds=settings.jobs_poll_seconds)
    # Seals what the per-request sealer skipped (it gives way when another sealer is busy).
    sealer = PeriodicSealer(settings.audit_seal_interval_seconds) if settings.audit_seal_interval_seconds else None
    if sealer is not None:
        sealer.start()
    try:
        yield
    finally:
        if sealer is not None:
            sealer.stop()
        if settings.run_jobs:
            stop_background_scheduler()


def create_app() -> FastAPI:
    from weiwai.config import get_settings
    from weiwai.web.i18n_web import LocaleMiddleware

    settings = get_settings()
    app = FastAPI(
        title="weiwai", version=__version__, openapi_url="/openapi.json", docs_url=None, redoc_url=None,
        lifespan=_lifespan,
    )
    _add_error_handlers(app)

    # The last added runs first: security headers wrap everything, then the session
    # cookie, the language, the same-origin check and the CSRF token right before the routes.
    from weiwai.web.csrf import CsrfMiddleware

    app.add_middleware(CsrfMiddleware)
    app.add_middleware(SameOriginMiddleware)
    app.add_middleware(LocaleMiddleware)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        # Secure outside demo mode (the demo serves plain HTTP on localhost).
        https_only=settings.cookie_secure if settings.cookie_secure is not None else not settings.demo_mode,
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=not settings.demo_mode)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        from sqlalchemy import text

        from weiwai.db import get_engine

        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    @app.get(DOCS_PATH, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="weiwai API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

    STATIC_DIR.mkdir(exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _include_routers(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InputRejected)
    async def _input_rejected(_request: Request, exc: InputRejected) -> JSONResponse:
        errors = [e.__dict__ for e in exc.errors[:500]]
        return problem(exc.http_status, exc.code, "Input rejected", exc.message, errors=errors)

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        response = (error_page(request, exc.http_status, exc.message) if is_page(request)
                    else problem(exc.http_status, exc.code, type(exc).__name__, exc.message))
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:  # rate limits (weiwai.security.rate_limits)
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        if status == 401 and wants_html(request):
            return login_redirect(request)
        detail = exc.detail if isinstance(exc.detail, str) else None
        if is_page(request):
            response = error_page(request, status, detail)
        else:
            response = problem(status, HTTP_ERROR_CODES.get(status, f"http_{status}"), _phrase(status), detail)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(DBAPIDataError)
    async def _data_error(request: Request, exc: DBAPIDataError) -> Response:
        # The database refused a value (a NUL byte in text, a number out of range) that the
        # request's validation let through: the client's input, not a server fault.
        if is_page(request):
            return error_page(request, 422, None)
        return problem(422, "invalid_value", _phrase(422), "a value in the request cannot be stored or compared")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Logged with its traceback by the server; the client learns only that it failed.
        if is_page(request):
            return error_page(request, 500, None)
        return problem(500, "internal_error", _phrase(500))

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type", "")}
            for error in exc.errors()
        ]
        if is_page(request):
            return error_page(request, 422, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        return problem(422, "validation_error", _phrase(422), "the request is not valid", errors=jsonable_encoder(errors))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class SecurityHeadersMiddleware:
    """Headers that make the browser refuse framing, sniffing and foreign scripts, and keep
    responses out of caches (everything but static files: API answers and signed-in pages
    carry personal data). HSTS outside demo mode (which serves plain HTTP on localhost)."""

    def __init__(self, app: ASGIApp, hsts: bool = True) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_CONTENT_SECURITY_POLICY if scope["path"] == DOCS_PATH else CONTENT_SECURITY_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", policy)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                # same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on form
                # posts, which the same-origin check rightly refuses (seen in the browser tests).
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                if not scope["path"].startswith("/static/"):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SameOriginMiddleware:
    """Refuse state-changing requests that a browser sent from another origin.

    The SameSite=lax session cookie already keeps other sites' forms from acting as the
    user; this also stops them from signing a browser in to an account of their choosing.
    Requests without an Origin header (API clients, curl) are not browsers' and pass.
    """

    SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in self.SAFE_METHODS:
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and urlsplit(origin).netloc != headers.get("host", ""):
                response = problem(403, "cross_origin_request", "Forbidden", "cross-origin request refused")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _include_routers(app: FastAPI) -> None:
    from weiwai.web import routers

    for router in routers.all_routers():
        app.include_router(router)
