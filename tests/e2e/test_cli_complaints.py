"""`weiwai complaint …` and `weiwai review …` end to end, on a fresh migrated database."""

import pytest
import typer
from typer.testing import CliRunner

from factories_collection import english_messages, make_world  # noqa: F401  (autouse)
from weiwai.cli import complaint_cmd, review_cmd
from weiwai.errors import DomainError

runner = CliRunner()


@pytest.fixture
def cli():
    root = typer.Typer()
    root.add_typer(complaint_cmd.app, name="complaint")
    root.add_typer(review_cmd.app, name="review")

    def invoke(*args):
        return runner.invoke(root, [str(arg) for arg in args], env={"COLUMNS": "250"})

    return invoke


@pytest.fixture
def seeded(use_db):
    from weiwai.db import session_scope
    from weiwai.security.models import User

    with session_scope() as session:
        world = make_world(session)
        collector = User(username="cli-collector", display_name="测试", role="collector", agency_id=world.agency.id,
                         password_hash="!")
        session.add(collector)
        session.flush()
        return {"agency": world.agency.code, "case": world.case.case_no, "collector": collector.username}


def test_a_complaint_from_intake_to_resolution(cli, seeded):
    recorded = cli("complaint", "record", "--source", "regulator", "--case", seeded["case"], "--category",
                   "harassment", "--summary", "called the employer", "--severity", "high",
                   "--received-at", "2024-03-05T10:00:00+08:00", "--hold")
    assert recorded.exit_code == 0, recorded.output
    assert "respond by 2024-03-10" in recorded.output
    number = recorded.output.split()[1]
    listed = cli("complaint", "list", "--overdue")
    assert listed.exit_code == 0 and number in listed.output and "1 complaint(s)" in listed.output
    assert cli("complaint", "move", number, "--to", "investigating").exit_code == 0
    refused = cli("complaint", "move", number, "--to", "resolved")
    assert refused.exit_code != 0 and isinstance(refused.exception, DomainError)
    done = cli("complaint", "move", number, "--to", "resolved", "--outcome", "upheld")
    assert done.exit_code == 0 and "resolved" in done.output
    shown = cli("complaint", "show", number, "--json")
    assert shown.exit_code == 0 and '"contact_hold_live": false' in shown.output
    assert '"to_status": "resolved"' in shown.output


def test_blocks_notices_and_reviews(cli, seeded):
    agency = seeded["agency"]
    blocked = cli("complaint", "block", agency, "--reason", "audit findings")
    assert blocked.exit_code == 0, blocked.output
    listed = cli("complaint", "blocks")
    assert agency in listed.output and "stopped by hand" in listed.output
    notices = cli("complaint", "notices")
    assert "placement_blocked" in notices.output and "1 notice(s)" in notices.output
    notice_id = notices.output.split()[0].lstrip("#")
    assert cli("complaint", "ack", notice_id).exit_code == 0
    assert "0 notice(s)" in cli("complaint", "notices").output
    block_id = blocked.output.split("block ")[-1].strip(" )\n")
    assert cli("complaint", "lift", block_id, "--reason", "remediated").exit_code == 0
    assert agency not in cli("complaint", "blocks").output
    assert cli("complaint", "check-thresholds").exit_code == 0

    reviewed = cli("review", "record", agency, "--kind", "annual", "--on", "2024-02-01", "--compliance", 80,
                   "--quality", 70, "--infosec", 90, "--result", "fail")
    assert reviewed.exit_code == 0, reviewed.output
    assert "2024-02-01" in cli("review", "list", agency).output
    due = cli("review", "due")
    assert f"{agency}: no new placements: last review (2024-02-01) failed" in due.output


def test_collector_qualifications(cli, seeded):
    name = seeded["collector"]
    assert name in cli("review", "unqualified").output
    for item in ("background_check", "training", "confidentiality"):
        day = "2025-12-01" if item == "training" else "2026-01-01"
        done = cli("review", "qualify", name, "--item", item, "--on", day)
        assert done.exit_code == 0, done.output
    shown = cli("review", "qualifications", name)
    assert "training: 2025-12-01, lapses 2026-12-01" in shown.output
    refused = cli("review", "qualify", "nobody", "--item", "training", "--on", "2024-01-01")
    assert refused.exit_code != 0
