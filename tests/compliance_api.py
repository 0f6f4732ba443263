"""A TestClient on the complaint and review routers, signed in as a principal, on the test's session."""

from __future__ import annotations

import warnings

from sqlalchemy.orm import Session


def compliance_client(session: Session, user=None, *, principal=None):
    from fastapi import FastAPI

    from weiwai.collection.routes import router as collection_router
    from weiwai.compliance.complaint_routes import router as complaint_router
    from weiwai.compliance.review_routes import router as review_router
    from weiwai.errors import DomainError
    from weiwai.security.models import Role
    from weiwai.web.app import problem
    from weiwai.web.deps import Principal, current_principal, get_session

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
        from fastapi.testclient import TestClient

    app = FastAPI()
    for router in (complaint_router, review_router, collection_router):
        app.include_router(router)

    @app.exception_handler(DomainError)
    async def _domain_error(_request, exc: DomainError):
        return problem(exc.http_status, exc.code, type(exc).__name__, exc.message)

    def test_session():
        yield session

    principal = principal or Principal(user_id=user.id, username=user.username, role=Role(user.role),
                                       agency_id=user.agency_id)
    app.dependency_overrides[get_session] = test_session
    app.dependency_overrides[current_principal] = lambda: principal
    return TestClient(app)
