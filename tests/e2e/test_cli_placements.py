"""`weiwai screen`, `weiwai place`, `weiwai case` and `weiwai jobs` end to end, on a fresh
migrated database (SQLite and PostgreSQL)."""

import json
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from factories_cycle import make_placeable_account, make_usable_agency
from weiwai.cli import case_cmd, jobs_cmd, placement_cmd, screen_cmd
from weiwai.errors import Conflict, InputRejected

runner = CliRunner()
RULES = Path(__file__).parents[2] / "docs" / "examples" / "screening-rules.yaml"
DAY = "2024-03-01"


@pytest.fixture(autouse=True)
def english(monkeypatch):
    from weiwai.i18n import set_locale

    set_locale("en")
    yield
    set_locale(None)


@pytest.fixture
def cli():
    # The sub-apps on their own root, as weiwai.cli.main mounts them.
    root = typer.Typer()
    root.add_typer(screen_cmd.app, name="screen")
    root.add_typer(placement_cmd.app, name="place")
    root.add_typer(case_cmd.app, name="case")
    root.add_typer(jobs_cmd.app, name="jobs")
    return lambda *args: runner.invoke(root, [str(arg) for arg in args], env={"COLUMNS": "250"})


@pytest.fixture
def seeded(use_db):
    from weiwai.db import session_scope

    with session_scope() as session:
        for code in ("NORTH", "SOUTH", "SPARE"):
            make_usable_agency(session, code=code, placement_days=30, ends_on=date(2030, 12, 31))
        accounts = [make_placeable_account(session, dpd=40 + i, principal=f"{1000 * (i + 1)}.00") for i in range(5)]
        gone = make_placeable_account(session, dpd=60, deceased=True)
        return {"accounts": [a.account_no for a in accounts], "deceased": gone.account_no}


def ok(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_screen_preview_explain_and_save(cli, seeded):
    output = ok(cli("screen", "--rules", RULES, "--as-of", DAY))
    assert "6 open accounts" in output and "5 eligible" in output and "debtor deceased" in output
    data = json.loads(ok(cli("screen", "--rules", RULES, "--as-of", DAY, "--json")))
    assert data["eligible"] == 5 and data["exclusions"][0]["code"] == "deceased"
    explained = ok(cli("screen", "--rules", RULES, "--as-of", DAY, "--explain", seeded["deceased"]))
    assert "not eligible" in explained and "fails" in explained
    assert "Saved std version 1" in ok(cli("screen", "save", "--rules", RULES, "--name", "std"))
    assert "Unchanged: std version 1" in ok(cli("screen", "save", "--rules", RULES, "--name", "std"))
    assert "std" in ok(cli("screen", "list"))
    assert json.loads(ok(cli("screen", "show", "std@1")))["rules"]["exclude"]["cooling_off_days"] == 60


def test_bad_rules_are_rejected_with_the_line(cli, seeded, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dpd:\n  min: 90\n  max: 30\nfoo: 1\n", encoding="utf-8")
    result = cli("screen", "--rules", bad, "--as-of", DAY)
    assert isinstance(result.exception, InputRejected)
    assert [(e.row, e.column) for e in result.exception.errors] == [(1, "dpd"), (4, "foo")]


def test_place_preview_create_confirm_then_lifecycle(cli, seeded):
    preview = ok(cli("place", "preview", "--rules", RULES, "--strategy", "equal_count", "--seed", "3",
                     "--agencies", "NORTH,SOUTH", "--as-of", DAY))
    assert "5 of 5 eligible accounts allocated" in preview and "NORTH" in preview and "SPARE" not in preview
    assert "B2024" not in ok(cli("place", "list"))
    ok(cli("screen", "save", "--rules", RULES, "--name", "std"))
    created = ok(cli("place", "create", "--rule-set", "std", "--strategy", '{"name": "balanced_amount"}',
                     "--agencies", "NORTH,SOUTH", "--as-of", DAY, "--actor", "cli:tester"))
    assert "B20240301-1" in created and "draft" in created
    confirmed = ok(cli("place", "confirm", "B20240301-1"))
    assert "Batch B20240301-1 is active: 5 cases placed" in confirmed
    again = cli("place", "confirm", "B20240301-1")
    assert isinstance(again.exception, Conflict)
    shown = ok(cli("place", "show", "B20240301-1"))
    assert "balanced_amount" in shown and "active" in shown

    first, second, third = "C20240301-1-000001", "C20240301-1-000002", "C20240301-1-000003"
    assert "placed" in ok(cli("case", "show", first))
    assert "now ends on 2024-04-10" in ok(cli("case", "extend", first, "--days", "10", "--reason", "promise"))
    assert "Recalled: 1 case(s)" in ok(cli("case", "recall", second, "--reason", "complaint"))
    assert "Returned: 1 case(s)" in ok(cli("case", "return", third, "--reason", "unreachable"))
    case = json.loads(ok(cli("case", "show", third, "--json")))
    spare = "SPARE" if case["agency_code"] != "SPARE" else "NORTH"
    reassigned = ok(cli("case", "reassign", third, "--agency", spare, "--reason", "second go", "--as-of", "2024-03-05"))
    assert "Reassigned: 1 case(s)" in reassigned and "New batch B20240305-1" in reassigned

    ran = ok(cli("jobs", "run", "--for", "2024-06-30"))
    assert "expire_cases" in ran and "ran" in ran and "expired=" in ran
    assert "already ran" in ok(cli("jobs", "run", "--for", "2024-06-30"))
    assert "expire_cases" in ok(cli("jobs", "list"))
    assert "2024-06-30" in ok(cli("jobs", "history"))
    assert "closed" in ok(cli("place", "show", "B20240301-1"))
    recalled_everything = ok(cli("case", "recall", "--agency", "NORTH", "--reason", "nothing open"))
    assert "Recalled: 0 case(s)" in recalled_everything


def test_strategy_from_a_file_with_params(cli, seeded, tmp_path):
    strategy = tmp_path / "cc.yaml"
    strategy.write_text(
        "name: champion_challenger\nseed: 9\nparams:\n  champion: {name: equal_count}\n"
        "  challenger: {name: region_match}\n  challenger_share: '0.4'\n", encoding="utf-8")
    data = json.loads(ok(cli("place", "preview", "--rules", RULES, "--strategy", strategy, "--as-of", DAY, "--json")))
    assert {arm["key"]: arm["count"] for arm in data["arms"]} == {"champion": 3, "challenger": 2}
    bad = cli("place", "preview", "--rules", RULES, "--strategy", "round_robin", "--as-of", DAY)
    assert isinstance(bad.exception, InputRejected)
    with_param = json.loads(ok(cli("place", "preview", "--rules", RULES, "--strategy", "region_match", "--param",
                                   "split=balanced_amount", "--as-of", DAY, "--json")))
    assert with_param["strategy"]["params"] == {"split": "balanced_amount"}


def test_a_failed_confirmation_leaves_nothing(cli, seeded, monkeypatch):
    from sqlalchemy import func, select

    from weiwai.db import session_scope
    from weiwai.placements import bulk_write
    from weiwai.placements.models import Case, CaseStatusChange, PlacementBatch

    ok(cli("place", "create", "--rules", RULES, "--strategy", "equal_count", "--as-of", DAY))

    def fail(*args, **kwargs):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(bulk_write, "insert_first_history", fail)
    result = cli("place", "confirm", "B20240301-1")
    assert isinstance(result.exception, RuntimeError)
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0
        assert session.scalar(select(func.count()).select_from(CaseStatusChange)) == 0
        assert session.scalar(select(PlacementBatch.status)) == "draft"
