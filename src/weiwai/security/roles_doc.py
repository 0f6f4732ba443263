"""docs/roles.md, generated from the data that decides access, so that it cannot drift.

    python -m weiwai.security.roles_doc > docs/roles.md

Three parts: the role × permission table (weiwai.security.permissions.ROLE_PERMISSIONS and
the scopes an API token may carry), the route → permission table read back from the
routers the app mounts (each route's `require(permission)` dependency carries
`.permission`), and the data-level rules (the docstring of weiwai.security.scope).
tests/unit/test_roles_doc.py fails when docs/roles.md differs from what this renders, and
when an API route names no permission without being listed in OPEN_ROUTES.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from fastapi.routing import APIRoute

from weiwai.security import permissions as permissions_module
from weiwai.security import scope
from weiwai.security.models import Role
from weiwai.security.permissions import DEFAULT_TOKEN_SCOPES, ROLE_PERMISSIONS, TOKEN_SCOPES, Permission

API_PREFIX = "/api/v1"

# API routes that need no permission: signing in and out, and a principal's own record.
# Anything else under /api/v1 must name exactly one permission.
OPEN_ROUTES: dict[str, str] = {
    "/api/v1/me": "who is signed in: every principal, about themselves",
    "/api/v1/session": "signing in and out (no principal yet, or only their own session)",
    "/api/v1/users/{user_id}/password": (
        "a person's own password, with the current one; someone else's needs users.write (checked in the route)"
    ),
}

PERMISSION_MEANINGS: dict[Permission, str] = {
    Permission.portfolio_read: "read debtors, accounts, balances and the portfolio summary (personal data masked)",
    Permission.personal_data_reveal: "reveal a debtor's personal data in full, with a reason (audited)",
    Permission.agencies_read: "read agencies, their admission checks and status history",
    Permission.agencies_write: "register agencies, change their details and status, file admission checks",
    Permission.contracts_read: "read contracts and their status history",
    Permission.contracts_write: "draft contracts and change a draft's terms",
    Permission.contracts_approve: "activate, suspend or terminate a contract",
    Permission.screening_read: "preview screening, explain an account, read rule sets",
    Permission.screening_write: "save screening rule sets",
    Permission.placements_read: "preview allocations and read placement batches",
    Permission.placements_write: "create, confirm and discard placement batches",
    Permission.cases_read: "read cases (an agency: its open cases; a collector: those assigned to them)",
    Permission.cases_manage: "the lender's decisions on a case: recall, reassign, extend, return",
    Permission.cases_assign: "give a case of the agency to one of its collectors",
    Permission.queue_read: "read the work queue",
    Permission.queue_policy_write: "set the work-queue policy",
    Permission.actions_read: "read a case's collection log and promises to pay",
    Permission.actions_write: "log collection actions and promises to pay",
    Permission.handover_read: "read handover packages",
    Permission.handover_write: "create handover packages",
    Permission.handover_download: "download a handover package's files (audited)",
    Permission.payments_read: "read payments and their attribution",
    Permission.payments_write: "record and reverse payments",
    Permission.statements_read: "read commission statements and download them (an agency: its issued ones)",
    Permission.evaluations_read: "compare agencies: batch and period evaluations and their export",
    Permission.scorecards_read: "read agency scorecards (an agency: its own)",
    Permission.jobs_read: "read the scheduled jobs and their runs",
    Permission.jobs_run: "run due jobs by hand",
    Permission.users_read: "read user accounts (an agency manager: their agency's)",
    Permission.users_write: "create and change user accounts (an agency manager: their agency's collectors)",
    Permission.tokens_manage: "issue, list and revoke agency API tokens and read their use",
    Permission.audit_read: "read the audit trail",
    Permission.compliance_check: "ask whether a contact is allowed now, and reserve or release its slot",
    Permission.holds_read: "read debtors' contact holds and preferences",
    Permission.holds_write: "set and lift contact holds; record and revoke contact preferences",
    Permission.holds_report: "report a dispute, a request to stop contact or a refusal on a case in reach",
    Permission.violations_read: "read compliance violations (an agency manager: their agency's)",
    Permission.templates_read: "read message templates and render approved ones (an agency: approved only)",
    Permission.templates_write: "draft message templates, change drafts, check content and submit for approval",
    Permission.templates_approve: "approve, reject or retire message templates (never one's own: four-eyes)",
    Permission.complaints_read: "read complaints (an agency manager: those about their agency)",
    Permission.complaints_write: "record complaints, move them along their lifecycle, acknowledge notices",
    Permission.agency_reviews_read: "read agency reviews (CN-11; an agency manager: their agency's)",
    Permission.agency_reviews_write: "record agency reviews and lift placement blocks",
    Permission.collectors_qualify: "read and record collectors' qualifications (CN-10; an agency manager: their own)",
    Permission.numbers_resolve: "turn a number reference into the number to dial (where the contract allows; recorded)",
    Permission.entrustments_read: "read entrustment records and impact assessments (an agency manager: their own)",
    Permission.entrustments_write: "record and change entrustment records (PIPL art. 21)",
    Permission.impact_assessments_write: "file and approve personal-information impact assessments (PIPL art. 55-56)",
    Permission.deletion_read: "read handover copies due for deletion and deletion certificates (an agency: its own)",
    Permission.deletion_certify: "certify that the agency deleted its handover copies",
    Permission.leaks_read: "read canary sightings and leak traces",
    Permission.leaks_trace: "trace a leaked file to the agency and package it came from",
    Permission.infosec_reviews_read: "read information-security reviews and findings (an agency manager: their own)",
    Permission.infosec_reviews_write: "record information-security reviews, findings and their remediation",
}

METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class RouteRule:
    """One method of one route and the permissions its dependencies require."""

    method: str
    path: str
    permissions: tuple[Permission, ...]
    summary: str


def route_permissions(route: APIRoute) -> tuple[Permission, ...]:
    """Every permission a route's dependencies require (walked recursively), in order, without repeats."""
    found: list[Permission] = []

    def walk(dependant) -> None:
        for dependency in dependant.dependencies:
            permission = getattr(dependency.call, "permission", None)
            if permission is not None and permission not in found:
                found.append(Permission(permission))
            walk(dependency)

    walk(route.dependant)
    return tuple(found)


def _api_routes(routes: Iterable, prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) of every APIRoute, looking into routers included in routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):  # a router included in a router (FastAPI ≥ 0.16x)
            context = getattr(route, "include_context", None)
            yield from _api_routes(route.original_router.routes, prefix + getattr(context, "prefix", ""))


def route_rules(routers: Iterable | None = None) -> list[RouteRule]:
    """The API routes (under /api/v1) of the routers the app mounts, by path and method."""
    if routers is None:
        from weiwai.web.routers import all_routers

        routers = all_routers()
    rules = []
    for router in routers:
        for path, route in _api_routes(router.routes):
            if not path.startswith(API_PREFIX + "/") and path != API_PREFIX:
                continue
            summary = route.summary or (inspect.getdoc(route.endpoint) or "").split("\n")[0]
            for method in route.methods or ():
                if method in ("HEAD", "OPTIONS"):
                    continue
                rules.append(RouteRule(method=method, path=path, permissions=route_permissions(route), summary=summary))
    order = {method: position for position, method in enumerate(METHOD_ORDER)}
    return sorted(rules, key=lambda rule: (rule.path, order.get(rule.method, len(order)), rule.method))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _roles_table() -> list[str]:
    roles = list(Role)
    lines = [
        "| Permission | Meaning | " + " | ".join(role.value for role in roles) + " | API token |",
        "|---|---|" + "---|" * len(roles) + "---|",
    ]
    for permission in Permission:
        marks = ["✓" if permission in ROLE_PERMISSIONS[role] else "" for role in roles]
        token = "default" if permission in DEFAULT_TOKEN_SCOPES else "may" if permission in TOKEN_SCOPES else ""
        meaning = PERMISSION_MEANINGS.get(permission, "")
        lines.append(f"| `{permission.value}` | {_cell(meaning)} | " + " | ".join(marks) + f" | {token} |")
    return lines


def _routes_table(rules: list[RouteRule]) -> list[str]:
    lines = ["| Method | Path | Permission | Roles holding it |", "|---|---|---|---|"]
    for rule in rules:
        if rule.permissions:
            needed = ", ".join(f"`{permission.value}`" for permission in rule.permissions)
            holders = ", ".join(
                dict.fromkeys(role.value for permission in rule.permissions for role in permissions_module.roles_with(
                    permission))
            )
            if any(permission in TOKEN_SCOPES for permission in rule.permissions):
                holders += ", API token (if granted)"
        elif rule.path in OPEN_ROUTES:
            needed, holders = "(none)", _cell(OPEN_ROUTES[rule.path])
        else:
            needed, holders = "**MISSING**", ""
        lines.append(f"| {rule.method} | `{rule.path}` | {needed} | {holders} |")
    return lines


def render(rules: list[RouteRule] | None = None) -> str:
    """The text of docs/roles.md."""
    rules = route_rules() if rules is None else rules
    lines = [
        "# Roles, permissions and who sees what",
        "",
        "<!-- Generated by `python -m weiwai.security.roles_doc > docs/roles.md`; do not edit by hand. "
        "tests/unit/test_roles_doc.py fails when this file is out of date. -->",
        "",
        "Access is decided twice. A route names the one permission it needs; a principal holds the "
        "permissions of their role (an API token: the scopes it was granted, never more than an agency "
        "manager). Which rows the route then shows is decided by the data-level rules at the end: a row "
        "outside the principal's reach answers 404, exactly like a row that does not exist, while a "
        "route the principal's role may not use answers 403, whatever the row.",
        "",
        "## Roles and permissions",
        "",
        "Source: `weiwai.security.permissions.ROLE_PERMISSIONS` and `TOKEN_SCOPES`. In the API token "
        "column, *default* scopes are granted unless others are chosen; *may* scopes can be granted.",
        "",
        *_roles_table(),
        "",
        "## Routes and the permission each needs",
        "",
        "Source: the routers the app mounts (`weiwai.web.routers`), read back from each route's "
        "`require(permission)` dependency.",
        "",
        *_routes_table(rules),
        "",
        "## Data-level rules",
        "",
        "Source: `weiwai.security.scope`.",
        "",
        inspect.cleandoc(scope.__doc__ or ""),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
