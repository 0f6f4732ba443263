"""Factories for data protection (issue 6): impact assessments on file, ended cases, deletion dues."""

from __future__ import annotations

from datetime import date

from weiwai.privacy.assessments import AssessmentCreate, create_assessment, decide_assessment, submit_assessment
from weiwai.privacy.models import ImpactAssessment

RISKS = [{"risk": "泄露联系人信息", "likelihood": "low", "impact": "high", "measure": "掩码、加密、访问控制"}]


def assessment_data(agency_id: int, *, assessed_on: date = date(2024, 12, 1), conclusion: str = "acceptable",
                    **changes) -> AssessmentCreate:
    data = {"agency_id": agency_id, "assessed_on": assessed_on, "scope": "委托催收中的个人信息处理",
            "risks": RISKS, "conclusion": conclusion, "evidence_ref": "PIA/2024/001", **changes}
    if conclusion == "acceptable_with_conditions":
        data.setdefault("conditions", "每季度复核")
    return AssessmentCreate.model_validate(data)


def approve_assessment(session, agency_id: int, *, assessed_on: date = date(2024, 12, 1),
                       conclusion: str = "acceptable", **changes) -> ImpactAssessment:
    """File, submit and approve (by someone else) an impact assessment of the agency."""
    assessment = create_assessment(session=session, actor="user:assessor",
                                   data=assessment_data(agency_id, assessed_on=assessed_on, conclusion=conclusion,
                                                        **changes))
    submit_assessment(session=session, assessment=assessment, actor="user:assessor")
    decide_assessment(session=session, assessment=assessment, approve=True, actor="user:dpo")
    return assessment


def approve_assessment_committed(agency_id: int) -> None:
    """The same in its own transaction (CLI and API tests on a fresh database)."""
    from weiwai.db import session_scope

    with session_scope() as session:
        approve_assessment(session, agency_id)


def privacy_client(session, user):
    """A TestClient on the case, number-reference, collection and privacy routers, signed in as `user`."""
    import importlib

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from weiwai.errors import DomainError
    from weiwai.security.models import Role
    from weiwai.web.app import problem
    from weiwai.web.deps import Principal, current_principal, get_session

    app = FastAPI()
    for name in ("weiwai.placements.routes", "weiwai.portfolio.number_ref_routes", "weiwai.collection.routes",
                 "weiwai.privacy.entrustment_routes", "weiwai.privacy.deletion_routes"):
        app.include_router(importlib.import_module(name).router)

    @app.exception_handler(DomainError)
    async def _domain_error(_request, exc: DomainError):
        return problem(exc.http_status, exc.code, type(exc).__name__, exc.message)

    def test_session():
        yield session

    principal = Principal(user_id=user.id, username=user.username, role=Role(user.role), agency_id=user.agency_id)
    app.dependency_overrides[get_session] = test_session
    app.dependency_overrides[current_principal] = lambda: principal
    return TestClient(app, base_url="https://testserver")
