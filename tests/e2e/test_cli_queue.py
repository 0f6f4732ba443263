"""`weiwai queue …` end to end on a fresh migrated database: show, assign, distribute, policy."""

import json

import pytest
import typer
from typer.testing import CliRunner

from factories_collection import english_messages, make_case, make_user, make_world  # noqa: F401
from weiwai.cli import queue_cmd
from weiwai.errors import NotFound, RuleViolation

runner = CliRunner()


@pytest.fixture
def cli(monkeypatch):
    root = typer.Typer()
    root.add_typer(queue_cmd.app, name="queue")
    monkeypatch.setenv("COLUMNS", "250")  # tables are not cut short, whatever terminal runs the tests
    return lambda *args: runner.invoke(root, [str(arg) for arg in args])


@pytest.fixture
def seeded(use_db):
    from weiwai.db import session_scope

    with session_scope() as session:
        world = make_world(session)
        cases = [world.case] + [make_case(session, contract=world.contract) for _ in range(4)]
        c1 = make_user(session, role="collector", agency=world.agency)
        c2 = make_user(session, role="collector", agency=world.agency)
        other = make_world(session)
        return {"agency": world.agency.code, "cases": [c.case_no for c in cases], "c1": c1.username,
                "c2": c2.username, "other_case": other.case.case_no, "other_agency": other.agency.code}


def assignees():
    from sqlalchemy import select

    from weiwai.db import session_scope
    from weiwai.placements.models import Case
    from weiwai.security.models import User

    with session_scope() as session:
        return dict(session.execute(
            select(Case.case_no, User.username).join(User, User.id == Case.collector_user_id, isouter=True)).all())


def test_show_assign_and_distribute(cli, seeded):
    shown = cli("queue", "show", "--agency", seeded["agency"], "--as-of", "2024-03-20")
    assert shown.exit_code == 0, shown.output
    assert "5 open case(s); policy built-in" in shown.output
    assert "never attempted since placement on 2024-03-01" in shown.output
    assert all(case_no in shown.output for case_no in seeded["cases"])

    first, second = seeded["cases"][:2]
    assigned = cli("queue", "assign", "--agency", seeded["agency"], "--collector", seeded["c1"], first, second)
    assert assigned.exit_code == 0, assigned.output
    assert "2 case(s) assigned, 0 already were" in assigned.output
    assert assignees()[first] == seeded["c1"]
    mine = cli("queue", "show", "--agency", seeded["agency"], "--collector", seeded["c1"], "--json")
    assert [item["case_no"] for item in json.loads(mine.output)["items"]] == [first, second]

    distributed = cli("queue", "distribute", "--agency", seeded["agency"])
    assert distributed.exit_code == 0, distributed.output
    assert "3 case(s) distributed" in distributed.output
    counts = list(assignees().values())
    assert sorted((counts.count(seeded["c1"]), counts.count(seeded["c2"]))) == [2, 3]

    unassigned = cli("queue", "assign", "--agency", seeded["agency"], "--unassign", first)
    assert unassigned.exit_code == 0 and assignees()[first] is None
    only = cli("queue", "show", "--agency", seeded["agency"], "--unassigned", "--json")
    assert [item["case_no"] for item in json.loads(only.output)["items"]] == [first]


def test_assign_refuses_cleanly(cli, seeded):
    other = cli("queue", "assign", "--agency", seeded["agency"], "--collector", seeded["c1"], seeded["other_case"])
    assert isinstance(other.exception, NotFound)  # another agency's case: not one of this agency's
    assert seeded["other_case"] in other.exception.message
    stranger = cli("queue", "assign", "--agency", seeded["other_agency"], "--collector", seeded["c1"],
                   seeded["other_case"])
    assert isinstance(stranger.exception, NotFound)  # the collector works for another agency
    both = cli("queue", "assign", "--agency", seeded["agency"], seeded["cases"][0])
    assert both.exit_code == 2 and "--collector" in both.output
    nobody = cli("queue", "distribute", "--agency", seeded["other_agency"])
    assert isinstance(nobody.exception, RuleViolation)
    assert all(user is None for user in assignees().values())


def test_policy_set_show_list(cli, seeded, tmp_path):
    listed = cli("queue", "policy", "list")
    assert listed.exit_code == 0 and "built-in default is in force" in listed.output
    shown = cli("queue", "policy", "show")
    assert shown.exit_code == 0 and '"name": "built-in"' in shown.output and "never_attempted" in shown.output

    policy = tmp_path / "queue-policy.json"
    policy.write_text(json.dumps({"never_attempted": {"weight": 95}, "balance": {"cap": 10}}))
    saved = cli("queue", "policy", "set", policy, "--actor", "cli:ops")
    assert saved.exit_code == 0, saved.output
    assert "Saved default version 1" in saved.output
    assert "Unchanged: default version 1" in cli("queue", "policy", "set", policy).output
    current = cli("queue", "policy", "show")
    assert '"version": 1' in current.output and '"weight": "95.00"' in current.output
    assert "default" in cli("queue", "policy", "list").output
    assert "policy default v1" in cli("queue", "show", "--agency", seeded["agency"]).output

    bad = tmp_path / "bad.yaml"
    bad.write_text("balance:\n  cap: 99\n")
    refused = cli("queue", "policy", "set", bad)
    assert refused.exception is not None and "must never outweigh" in str(refused.exception.errors[0])
    assert isinstance(cli("queue", "policy", "show", "--version", "7").exception, NotFound)


def test_the_real_command_exits_cleanly(use_db):
    import os
    import subprocess
    import sys
    from pathlib import Path

    weiwai = Path(sys.executable).parent / "weiwai"
    result = subprocess.run([str(weiwai), "queue", "show", "--agency", "NOPE"], capture_output=True, text=True,
                            env=dict(os.environ), check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "NOPE" in result.stderr
