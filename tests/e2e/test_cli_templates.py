"""`weiwai template …` end to end on a fresh database: create from a file, check, submit, four-eyes
approval, reject, render, retire."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from weiwai.compliance.models import MessageTemplate, TemplateStatus
from weiwai.db import session_scope

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "templates"
BAD = """code: BAD-SMS
channel: sms
language: zh_CN
audience: debtor
body: "【{lender_name}】{agency_name}：{debtor_name}你这个老赖，三天内不还我们将派人上门，后果自负。"
"""


@pytest.fixture(scope="module")
def cli():
    from weiwai.cli import main

    if "template" not in {group.name for group in main.app.registered_groups}:
        main._register()
    return main.app


@pytest.fixture
def run(cli, use_db, monkeypatch):
    from weiwai.config import reset_settings

    monkeypatch.setenv("WEIWAI_DEFAULT_LOCALE", "en")
    reset_settings()
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), env={"COLUMNS": "250"})

    return invoke


def ok(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def template_id(output: str) -> str:
    return re.search(r"\((\d+)\)", output).group(1)


def test_create_submit_approve_render_retire(run, tmp_path):
    example = tmp_path / "reminder.yaml"
    shutil.copy(EXAMPLES / "reminder_sms_zh.yaml", example)
    ok(run("template", "check", str(example)))
    created = ok(run("template", "create", "--file", str(example), "--actor", "cli:author"))
    tid = template_id(created.output)
    assert "REMIND-SMS-ZH v1" in created.output and "draft" in created.output

    ok(run("template", "submit", tid, "--actor", "cli:author"))
    own = run("template", "approve", tid, "--actor", "cli:author")
    assert own.exit_code != 0 and "another compliance officer" in str(own.exception)
    approved = ok(run("template", "approve", tid, "--actor", "cli:officer", "--note", "checked"))
    assert "approved" in approved.output

    listing = ok(run("template", "list"))
    assert "REMIND-SMS-ZH" in listing.output and "cli:officer" in listing.output
    shown = ok(run("template", "show", tid))
    assert "account_tail" in shown.output

    rendered = run("template", "render", tid, "-v", "lender_name=示例银行", "-v", "agency_name=华南催收")
    assert rendered.exit_code != 0 and "no value for placeholder" in str(rendered.exception)
    values = {"lender_name": "示例银行", "debtor_name": "张三", "agency_name": "华南催收", "account_tail": "1234",
              "overdue_days": "35", "amount": "1,200.00", "repay_url": "x", "agency_phone": "0755-12345678",
              "collector_id": "A001", "lender_hotline": "95588"}
    args = [item for name, value in values.items() if name != "repay_url" for item in ("-v", f"{name}={value}")]
    no_link = run("template", "render", tid, *args, "-v", "repay_url=https://evil.example.top")
    assert no_link.exit_code != 0 and "official" in str(no_link.exception)

    ok(run("template", "retire", tid, "--actor", "cli:officer", "--note", "replaced"))
    with session_scope() as session:
        template = session.get(MessageTemplate, int(tid))
        assert template.status == TemplateStatus.retired and template.reviewed_by == "cli:officer"


def test_a_blocked_template_cannot_be_submitted_and_check_fails(run, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    checked = run("template", "check", str(bad))
    assert checked.exit_code == 1
    assert "insult" in checked.output and "threat" in checked.output and "CN-06" in checked.output

    tid = template_id(ok(run("template", "create", "--file", str(bad))).output)
    refused = run("template", "submit", tid)
    assert refused.exit_code != 0 and getattr(refused.exception, "code", None) == "template_blocked"
    ok(run("template", "retire", tid))


def test_reject_needs_a_reason_and_files_are_validated(run, tmp_path):
    path = tmp_path / "letter.yaml"
    shutil.copy(EXAMPLES / "notice_letter_zh.yaml", path)
    tid = template_id(ok(run("template", "create", "--file", str(path), "--actor", "cli:a")).output)
    ok(run("template", "submit", tid, "--actor", "cli:a"))
    assert run("template", "reject", tid).exit_code != 0  # --note is required
    rejected = ok(run("template", "reject", tid, "--note", "语气过硬", "--actor", "cli:b"))
    assert "rejected" in rejected.output
    again = ok(run("template", "create", "--file", str(path), "--actor", "cli:a"))
    assert "v2" in again.output

    broken = tmp_path / "broken.yaml"
    broken.write_text("code: X\nchannel: fax\nlanguage: zh_CN\nbody: hi\n", encoding="utf-8")
    result = run("template", "create", "--file", str(broken))
    assert result.exit_code != 0 and getattr(result.exception, "code", None) == "input_rejected"
