"""docs/roles.md is generated from the permissions table and the routes, and every API route
names exactly one permission (or is one of the few open routes)."""

from pathlib import Path

from fastapi import APIRouter

from weiwai.security.permissions import ROLE_PERMISSIONS, Permission
from weiwai.security.roles_doc import OPEN_ROUTES, PERMISSION_MEANINGS, render, route_rules
from weiwai.web.deps import Allowed, CurrentUser, require

ROLES_DOC = Path(__file__).parents[2] / "docs" / "roles.md"
REGENERATE = "python -m weiwai.security.roles_doc > docs/roles.md"


def test_docs_roles_md_is_generated_from_the_data():
    assert ROLES_DOC.read_text(encoding="utf-8") == render(), f"docs/roles.md is out of date: run `{REGENERATE}`"


def test_every_api_route_names_exactly_one_permission():
    rules = route_rules()
    assert len(rules) > 40  # the walk did find the routes
    missing = [f"{rule.method} {rule.path}" for rule in rules if not rule.permissions and rule.path not in OPEN_ROUTES]
    assert missing == [], "routes without require(permission) / Allowed(permission)"
    several = [f"{rule.method} {rule.path}: {rule.permissions}" for rule in rules if len(rule.permissions) > 1]
    assert several == [], "a route names one permission; narrow further with weiwai.security.scope"
    needless = [f"{rule.method} {rule.path}" for rule in rules if rule.permissions and rule.path in OPEN_ROUTES]
    assert needless == [], "an open route that now names a permission: take it off OPEN_ROUTES"


def test_the_walk_sees_every_documented_operation_of_the_app():
    from weiwai.web.app import create_app

    documented = {
        (method.upper(), path)
        for path, operations in create_app().openapi()["paths"].items() if path.startswith("/api/v1")
        for method in operations
    }
    walked = {(rule.method, rule.path) for rule in route_rules()}
    assert documented - walked == set()


def test_every_permission_has_a_meaning_and_a_role():
    assert set(PERMISSION_MEANINGS) == set(Permission)
    assert all(PERMISSION_MEANINGS.values())
    held = set().union(*ROLE_PERMISSIONS.values())
    assert held == set(Permission)


def test_routers_included_in_routers_are_walked():
    inner = APIRouter(prefix="/inner")

    @inner.get("/{thing_id}")
    def read_thing(thing_id: int, _principal: Allowed(Permission.cases_read)) -> dict:
        """Read a thing."""
        return {}

    outer = APIRouter(prefix="/api/v1")

    @outer.post("/things", dependencies=[])
    def make_thing(_principal: CurrentUser) -> dict:
        return {}

    outer.include_router(inner, prefix="/nested")
    rules = {(rule.method, rule.path): rule for rule in route_rules([outer])}
    assert set(rules) == {("GET", "/api/v1/nested/inner/{thing_id}"), ("POST", "/api/v1/things")}
    assert rules["GET", "/api/v1/nested/inner/{thing_id}"].permissions == (Permission.cases_read,)
    assert rules["GET", "/api/v1/nested/inner/{thing_id}"].summary == "Read a thing."
    assert rules["POST", "/api/v1/things"].permissions == ()
    assert "**MISSING**" in render(list(rules.values()))


def test_a_permission_in_a_nested_dependency_is_found():
    from fastapi import Depends

    def scoped(principal=Depends(require(Permission.audit_read))):
        return principal

    router = APIRouter(prefix="/api/v1")

    @router.get("/audit-ish")
    def audit_ish(_principal=Depends(scoped)) -> dict:
        return {}

    (rule,) = route_rules([router])
    assert rule.permissions == (Permission.audit_read,)
