"""Schemathesis against the app's own OpenAPI document: no operation answers with a server error.

Every operation of /openapi.json is called with generated requests (through ASGI, no
network) by an administrator against a seeded database (tests/authz_world.py), on SQLite
and PostgreSQL. Checked: not_a_server_error, and that answers conform to the documented
response schemas. A failure names the operation, the request (as curl) and the server's
traceback (weiwai's frames). Few examples per operation, so that each backend takes
seconds; the environment variables below allow deeper runs by hand.
"""

from __future__ import annotations

import os
import re
import traceback

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from authz_world import build_world
from weiwai.security.models import Role
from weiwai.web.deps import Principal

# Deeper local runs: WEIWAI_SCHEMATHESIS_EXAMPLES=200 (and WEIWAI_SCHEMATHESIS_SEED=random to vary).
EXAMPLES_PER_OPERATION = int(os.environ.get("WEIWAI_SCHEMATHESIS_EXAMPLES", "6"))
DERANDOMIZE = os.environ.get("WEIWAI_SCHEMATHESIS_SEED") != "random"
ONLY_PATHS = re.compile(os.environ.get("WEIWAI_SCHEMATHESIS_PATHS", ""))  # e.g. "^/api/v1/(agencies|contracts)"


class RecordErrors:
    """ASGI middleware keeping the traceback of every exception a request raised (then re-raising it)."""

    def __init__(self, app, errors: list[str] | None = None):
        self.app, self.errors = app, errors if errors is not None else []

    async def __call__(self, scope, receive, send):
        try:
            await self.app(scope, receive, send)
        except Exception:
            self.errors.append(traceback.format_exc())
            raise


def _short(trace: str) -> str:
    """A traceback cut to the frames in weiwai's own code and the exception."""
    lines = trace.rstrip().splitlines()
    ours = [i for i, line in enumerate(lines) if "/weiwai/" in line and "site-packages" not in line]
    kept = [line for i in ours for line in lines[i:i + 2]]
    return "\n".join([*kept, *lines[-1:]])


@pytest.fixture
def seeded_app(use_db, tmp_path):
    from weiwai.db import session_scope
    from weiwai.handover.routes import package_store
    from weiwai.web.app import create_app
    from weiwai.web.deps import current_principal

    with session_scope() as session:
        world = build_world(session, store=tmp_path)
    admin = Principal(user_id=world.lender_ids[Role.admin], username=world.lender_usernames[Role.admin],
                      role=Role.admin, agency_id=None)
    app = create_app()
    app.dependency_overrides[current_principal] = lambda: admin
    store = tmp_path / "api-packages"
    store.mkdir()
    app.dependency_overrides[package_store] = lambda: store
    errors: list[str] = []
    app.add_middleware(RecordErrors, errors=errors)
    return app, errors


def test_no_operation_answers_with_a_server_error(seeded_app):
    app, errors = seeded_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if not ONLY_PATHS.search(operation.path):
            continue
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=DERANDOMIZE,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def call(case):
            errors.clear()
            try:
                response = case.call()
            except Exception as exc:
                raise AssertionError(
                    f"{operation.label}: the request raised {exc!r}\n{case.as_curl_command()}\n"
                    f"{_short(''.join(errors[-1:]) or traceback.format_exc())}"
                ) from exc
            try:
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
            except Exception as exc:
                raise AssertionError(
                    f"{operation.label}: {response.status_code}\n{case.as_curl_command()}\n"
                    f"{response.text[:500]}\n{_short(''.join(errors[-1:]))}"
                ) from exc

        try:
            call()
        except Exception as exc:  # keep going: report every operation that fails
            failures.append(str(exc) or repr(exc))
    assert operations > (40 if not ONLY_PATHS.pattern else 0)
    assert failures == [], f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)
