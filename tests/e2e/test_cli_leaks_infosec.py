"""`weiwai leaks …`, `weiwai infosec …` and a canary sighting that survives the failed request, end to end."""

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from factories_collection import english_messages  # noqa: F401  (autouse)
from factories_privacy_leaks import make_book, make_package
from weiwai.cli import action_cmd, infosec_cmd, leaks_cmd

pytestmark = pytest.mark.usefixtures("record_compliance")
runner = CliRunner()


@pytest.fixture
def cli(monkeypatch):
    root = typer.Typer()
    root.add_typer(action_cmd.app, name="action")
    root.add_typer(leaks_cmd.app, name="leaks")
    root.add_typer(infosec_cmd.app, name="infosec")
    for module in (action_cmd, leaks_cmd, infosec_cmd):
        monkeypatch.setattr(module.console, "width", 250, raising=False)
    from weiwai.cli.main import _register, app

    _register()
    return lambda *args: runner.invoke(app, [str(arg) for arg in args])


@pytest.fixture
def packaged(use_db, tmp_path):
    from weiwai.db import session_scope
    from weiwai.privacy.canary_models import CanaryRecord

    with session_scope() as session:
        a, b = make_book(session, cases=3), make_book(session, cases=3)
        package = make_package(session, a, tmp_path / "a")
        make_package(session, b, tmp_path / "b")
        canary = session.scalars(select(CanaryRecord).where(CanaryRecord.package_id == package.id)).first()
        return {"a": a.agency.code, "b": b.agency.code, "package": package.package_no, "canary": canary.case_no,
                "csv": tmp_path / "a" / f"{package.package_no}.csv", "contract": a.contract.contract_no}


def test_leaks_trace_names_agency_and_package(cli, packaged):
    result = cli("leaks", "trace", packaged["csv"], "--actor", "user:sec")
    assert result.exit_code == 0, result.output
    assert f"from agency {packaged['a']}" in result.output and packaged["package"] in result.output
    assert packaged["contract"] in result.output
    listed = cli("leaks", "sightings", "--suspected")
    assert listed.exit_code == 0 and "2 sighting(s)" in listed.output


def test_trace_of_a_missing_file_is_one_line(cli, packaged, tmp_path):
    result = cli("leaks", "trace", tmp_path / "nope.csv")
    # weiwai.cli.main.main turns a DomainError into one line and exit 2.
    assert result.exit_code != 0 and "nope.csv: cannot be read" in str(result.exception)


def test_action_on_a_canary_fails_like_unknown_but_the_sighting_is_kept(cli, packaged):
    from weiwai.db import session_scope
    from weiwai.privacy.canary_models import CanarySighting

    args = ("action", "log", "--channel", "letter", "--outcome", "letter_sent", "--agency", packaged["b"])
    unknown = cli(*args, "--case", "CS99999999")
    canary = cli(*args, "--case", packaged["canary"])
    assert canary.exit_code == unknown.exit_code != 0
    assert type(canary.exception) is type(unknown.exception)
    assert str(canary.exception).replace(packaged["canary"], "X") == str(unknown.exception).replace("CS99999999", "X")
    with session_scope() as session:
        sightings = session.scalars(select(CanarySighting)).all()
        assert [(s.source, s.leak_suspected) for s in sightings] == [("action_cli", True)]


def test_infosec_cli_cycle(cli, packaged, tmp_path):
    assert "EN-01" in cli("infosec", "checklist").output
    created = cli("infosec", "review", "create", packaged["a"], "--on", "2024-03-01", "--reviewer", "张审计",
                  "--evidence", "AUD-1")
    assert created.exit_code == 0, created.output
    review_id = created.output.split()[2]
    added = cli("infosec", "finding", "add", review_id, "--item", "EN-01", "--description", "plain files")
    assert added.exit_code == 0 and "(critical) to be remediated by 2024-03-15" in added.output
    bad = cli("infosec", "finding", "move", "1", "verified")
    assert bad.exit_code != 0 and "cannot go from open to verified" in str(bad.exception)
    results = tmp_path / "results.yaml"
    from weiwai.privacy.infosec import get_checklist

    results.write_text("\n".join(f"{i.code}: {'fail' if i.code == 'EN-01' else 'pass'}"
                                 for i in get_checklist("pipl_agency").items), encoding="utf-8")
    done = cli("infosec", "review", "complete", review_id, "--results", results)
    assert done.exit_code == 0 and "completed: fail; next review due 2025-03-01" in done.output
