"""FastAPI application factory. Domain routers are mounted under /api/v1."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from weiwai import __version__
from weiwai.errors import DomainError, InputRejected

STATIC_DIR = Path(__file__).parent / "static"


def problem(status: int, code: str, title: str, detail: str | None = None, **extra) -> JSONResponse:
    """An RFC 9457 problem+json response with a stable `code`."""
    body = {"type": f"https://weiwai.dev/problems/{code}", "title": title, "status": status, "code": code}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def create_app() -> FastAPI:
    app = FastAPI(title="weiwai", version=__version__, openapi_url="/openapi.json", docs_url="/api/docs")

    @app.exception_handler(InputRejected)
    async def _input_rejected(_request: Request, exc: InputRejected) -> JSONResponse:
        errors = [e.__dict__ for e in exc.errors[:500]]
        return problem(exc.http_status, exc.code, "Input rejected", exc.message, errors=errors)

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.http_status, exc.code, type(exc).__name__, exc.message)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        from sqlalchemy import text

        from weiwai.db import get_engine

        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    STATIC_DIR.mkdir(exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _include_routers(app)
    return app


def _include_routers(app: FastAPI) -> None:
    from weiwai.web import routers

    for router in routers.all_routers():
        app.include_router(router)
