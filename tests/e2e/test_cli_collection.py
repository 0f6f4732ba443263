"""`weiwai handover …` and `weiwai action …` end to end, on a fresh migrated database."""

import csv

import pytest
import typer
from typer.testing import CliRunner

from factories_collection import english_messages, make_world  # noqa: F401  (english_messages: autouse)
from weiwai.cli import action_cmd, handover_cmd
from weiwai.errors import NotFound

# The collection log's mechanics, not the compliance rules (tested in test_compliance_*).
pytestmark = pytest.mark.usefixtures("record_compliance")

runner = CliRunner()


@pytest.fixture
def cli(monkeypatch):
    # The sub-apps on their own root, as weiwai.cli.main mounts them.
    root = typer.Typer()
    root.add_typer(handover_cmd.app, name="handover")
    root.add_typer(action_cmd.app, name="action")
    # Wide enough that tables are not cut short, whatever terminal runs the tests.
    for module in (handover_cmd, action_cmd):
        monkeypatch.setattr(module.console, "width", 250)
    return lambda *args: runner.invoke(root, [str(arg) for arg in args])


@pytest.fixture
def seeded(use_db):
    from weiwai.db import session_scope

    with session_scope() as session:
        world = make_world(session)
        seeded = {
            "agency": world.agency.code, "contract": world.contract.contract_no, "case": world.case.case_no,
            "case_id": world.case.id, "phone_id": world.debtor.phones[0].id,
        }
    return seeded


def case_status(case_id):
    from weiwai.db import session_scope
    from weiwai.placements.models import Case

    with session_scope() as session:
        return session.get(Case, case_id).status


def test_handover_create_list_verify(cli, seeded, tmp_path):
    out = tmp_path / "out"
    created = cli("handover", "create", "--contract", seeded["contract"], "--out", out, "--actor", "cli:tester")
    assert created.exit_code == 0, created.output
    manifest = next(out.glob("*.manifest.json"))
    package_no = manifest.name.removesuffix(".manifest.json")
    assert f"Package {package_no}: 1 case(s)" in created.output
    assert "mobile (masked)" in created.output
    listed = cli("handover", "list")
    assert listed.exit_code == 0 and package_no in listed.output and "1 of 1" in listed.output

    verified = cli("handover", "verify", manifest)
    assert verified.exit_code == 0, verified.output
    assert "All files match" in verified.output

    xlsx = out / f"{package_no}.xlsx"
    data = bytearray(xlsx.read_bytes())
    data[100] ^= 0x01
    xlsx.write_bytes(bytes(data))
    for extra in ([], ["--no-record"]):
        failed = cli("handover", "verify", manifest, *extra)
        assert failed.exit_code == 1
        assert f"{package_no}.xlsx: changed" in failed.output


def test_handover_of_an_unknown_contract_fails_cleanly(cli, seeded, tmp_path):
    result = cli("handover", "create", "--contract", "NOPE", "--out", tmp_path / "out")
    assert isinstance(result.exception, NotFound)
    assert not (tmp_path / "out").exists()


def test_action_log_list_and_promises(cli, seeded):
    logged = cli("action", "log", "--case", seeded["case"], "--channel", "phone", "--outcome", "no_answer",
                 "--phone-id", seeded["phone_id"], "--at", "2024-03-05T10:00", "--idempotency-key", "cli-1",
                 "--agency", seeded["agency"])
    assert logged.exit_code == 0, logged.output
    assert "case " + seeded["case"] + " is working" in logged.output
    again = cli("action", "log", "--case", seeded["case"], "--channel", "phone", "--outcome", "no_answer",
                "--phone-id", seeded["phone_id"], "--at", "2024-03-05T10:00", "--idempotency-key", "cli-1")
    assert again.exit_code == 0 and "Already logged" in again.output

    promised = cli("action", "log", "--case", seeded["case"], "--channel", "phone", "--outcome", "promise_to_pay",
                   "--phone-id", seeded["phone_id"], "--at", "2024-03-05T11:00+08:00",
                   "--promise-amount", "300", "--promise-due", "2024-03-10")
    assert promised.exit_code == 0, promised.output
    assert case_status(seeded["case_id"]) == "promised"

    listed = cli("action", "list", "--case", seeded["case"])
    assert listed.exit_code == 0 and "2 action(s)" in listed.output and "promise_to_pay" in listed.output
    assert "2024-03-05 10:00" in listed.output

    evaluated = cli("action", "evaluate-promises", "--as-of", "2024-03-11")
    assert evaluated.exit_code == 0 and "broken: 1" in evaluated.output
    assert case_status(seeded["case_id"]) == "working"
    promises = cli("action", "promises", "--case", seeded["case"])
    assert "broken" in promises.output and "300.00" in promises.output


def test_action_log_rejects_bad_input(cli, seeded):
    from weiwai.errors import RuleViolation

    bad_channel = cli("action", "log", "--case", seeded["case"], "--channel", "pigeon", "--outcome", "no_answer")
    assert isinstance(bad_channel.exception, RuleViolation) and "channel" in bad_channel.exception.message
    visit = cli("action", "log", "--case", seeded["case"], "--channel", "visit", "--outcome", "visit_done",
                "--at", "2024-03-05T10:00")
    assert isinstance(visit.exception, RuleViolation) and "credential_ref" in visit.exception.message
    foreign = cli("action", "log", "--case", seeded["case"], "--channel", "phone", "--outcome", "no_answer",
                  "--agency", "NOPE")
    assert isinstance(foreign.exception, NotFound)


def test_action_import(cli, seeded, tmp_path):
    path = tmp_path / "actions.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["case_no", "channel", "occurred_at", "phone_id", "outcome"])
        writer.writerow([seeded["case"], "phone", "2024-03-05 10:00", seeded["phone_id"], "busy"])
        writer.writerow([seeded["case"], "sms", "2024-03-05 10:05", seeded["phone_id"], "sms_sent"])
    result = cli("action", "import", path, "--agency", seeded["agency"])
    assert result.exit_code == 0, result.output
    assert "2 row(s), 2 logged" in result.output
    assert case_status(seeded["case_id"]) == "working"
