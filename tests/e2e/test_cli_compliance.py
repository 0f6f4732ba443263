"""`weiwai compliance …` end to end, on a fresh migrated database."""

import pytest
import typer
from typer.testing import CliRunner

from factories_collection import english_messages, make_world  # noqa: F401  (english_messages: autouse)
from factories_compliance import judge  # noqa: F401  (autouse)
from weiwai.cli import compliance_cmd

runner = CliRunner()


@pytest.fixture
def cli(monkeypatch):
    root = typer.Typer()
    root.add_typer(compliance_cmd.app, name="compliance")
    monkeypatch.setattr(compliance_cmd.console, "width", 250)
    return lambda *args: runner.invoke(root, [str(arg) for arg in args])


@pytest.fixture
def seeded(use_db):
    from weiwai.db import session_scope

    with session_scope() as session:
        world = make_world(session)
        return {"case": world.case.case_no, "phone_id": world.debtor.phones[0].id, "debtor": world.debtor.id,
                "agency": world.agency.code}


def test_check_hold_and_violations(cli, seeded):
    ok = cli("compliance", "check", "--case", seeded["case"], "--channel", "phone", "--party", "debtor",
             "--phone-id", seeded["phone_id"], "--at", "2024-03-05T10:00+08:00")
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("allowed")

    night = cli("compliance", "check", "--case", seeded["case"], "--channel", "phone", "--phone-id",
                seeded["phone_id"], "--at", "2024-03-05T23:00+08:00", "--agency", seeded["agency"])
    assert night.exit_code == 3, night.output
    assert "denied" in night.output and "CN-01" in night.output and "earliest allowed at 2024-03-06" in night.output

    made = cli("compliance", "hold", "set", "--debtor", seeded["debtor"], "--kind", "dispute", "--reason", "异议")
    assert made.exit_code == 0, made.output
    listed = cli("compliance", "hold", "list", "--debtor", seeded["debtor"])
    assert "dispute" in listed.output
    held = cli("compliance", "check", "--case", seeded["case"], "--channel", "phone", "--phone-id",
               seeded["phone_id"], "--at", "2024-03-05T10:00+08:00", "--reserve")
    assert held.exit_code == 3, held.output
    hold_id = made.output.split()[1]
    lifted = cli("compliance", "hold", "lift", hold_id, "--reason", "核实无误")
    assert lifted.exit_code == 0, lifted.output

    shown = cli("compliance", "violations")
    assert shown.exit_code == 0, shown.output
    assert "refused" in shown.output and "1 violation(s)" in shown.output
