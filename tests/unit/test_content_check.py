"""The template content check: a table of good and bad texts per finding, in Chinese and English."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from weiwai.compliance.content_check import (
    BLOCKING,
    PLACEHOLDERS,
    WARNING,
    OfficialChannels,
    blocking,
    check_content,
    lexicon,
    parse_placeholders,
)
from weiwai.compliance.templates import render_text
from weiwai.errors import RuleViolation

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "templates"
ID_ZH = "【{lender_name}】{agency_name}受{lender_name}委托提醒："
ID_EN = "This is {agency_name} on behalf of {lender_name}. "
OFFICIAL = ["https://pay.example-bank.cn", "6222000011112222333", "95588"]


def codes(body, *, language="zh_CN", audience="debtor", channel="sms", pack="CN", severity=None, **kw):
    found = check_content(body, language=language, audience=audience, channel=channel, pack=pack,
                          official_accounts=kw.pop("official", OFFICIAL), **kw)
    return {f.code for f in found if severity is None or f.severity == severity}


# (code expected, text, language, audience) — the text carries both names, so only the code in question shows.
BAD = [
    # threats
    ("threat", ID_ZH + "三日内不还，我们将派人上门找你。", "zh_CN", "debtor"),
    ("threat", ID_ZH + "再不处理就把你的事曝光到朋友圈。", "zh_CN", "debtor"),
    ("threat", ID_ZH + "我们会通知你的通讯录好友和单位领导。", "zh_CN", "debtor"),
    ("threat", ID_ZH + "拒不还款将被追究刑事责任，等着坐牢吧。", "zh_CN", "debtor"),
    ("threat", ID_ZH + "请于今日处理，否则后果自负。", "zh_CN", "debtor"),
    ("threat", ID_ZH + "逾期将进入永久黑名单。", "zh_CN", "debtor"),
    ("threat", ID_EN + "Pay today or we will come to your house.", "en", "debtor"),
    ("threat", ID_EN + "You could be arrested and go to jail.", "en", "debtor"),
    ("threat", ID_EN + "We will tell your employer about this.", "en", "debtor"),
    ("threat", ID_EN + "Pay now or else.", "en", "debtor"),
    # insults
    ("insult", ID_ZH + "你这个老赖，还要不要脸？", "zh_CN", "debtor"),
    ("insult", ID_ZH + "别当骗子。", "zh_CN", "debtor"),
    ("insult", ID_EN + "Stop being a deadbeat.", "en", "debtor"),
    ("insult", ID_EN + "Only an idiot ignores this letter.", "en", "debtor"),
    # impersonation
    ("impersonation", ID_ZH + "本案已移交公安机关。", "zh_CN", "debtor"),
    ("impersonation", ID_ZH + "我们是法院执行局工作人员。", "zh_CN", "debtor"),
    ("impersonation", ID_ZH + "现向您发出律师函。", "zh_CN", "debtor"),
    ("impersonation", ID_ZH + "政府已将您列入名单。", "zh_CN", "debtor"),
    ("impersonation", ID_EN + "The police have been informed.", "en", "debtor"),
    ("impersonation", ID_EN + "A court officer will contact you.", "en", "debtor"),
    ("impersonation", ID_EN + "We are a government agency.", "en", "debtor"),
    ("impersonation", ID_EN + "This is an attorney at law writing to you.", "en", "debtor"),
    # disclosure of the debt to a third party
    ("debt_disclosure", ID_ZH + "{contact_name}您好，请转告{debtor_name}尽快还款。", "zh_CN", "third_party"),
    ("debt_disclosure", ID_ZH + "{contact_name}您好，{debtor_name}已逾期，请转告。", "zh_CN", "third_party"),
    ("debt_disclosure", ID_ZH + "{contact_name}您好，{debtor_name}欠款{amount}元。", "zh_CN", "third_party"),
    ("debt_disclosure", ID_ZH + "{contact_name}您好，已逾期{overdue_days}天。", "zh_CN", "third_party"),
    ("debt_disclosure", ID_EN + "Hello {contact_name}, {debtor_name} owes us money.", "en", "third_party"),
    ("debt_disclosure", ID_EN + "Hello {contact_name}, please ask {debtor_name} about the overdue balance.", "en",
     "third_party"),
    ("debt_disclosure", ID_EN + "{debtor_name} must pay {amount}.", "en", "third_party"),
    # repayment to non-official accounts
    ("unofficial_repayment", ID_ZH + "请转账至 6217 0012 3456 7890 123。", "zh_CN", "debtor"),
    ("unofficial_repayment", ID_ZH + "请用支付宝转账给催收员。", "zh_CN", "debtor"),
    ("unofficial_repayment", ID_ZH + "请打款到我的个人账户。", "zh_CN", "debtor"),
    ("unofficial_repayment", ID_ZH + "还款请访问 https://pay-fast.top/abc 。", "zh_CN", "debtor"),
    ("unofficial_repayment", ID_ZH + "还款请访问 huankuan-kuai.com 。", "zh_CN", "debtor"),
    ("unofficial_repayment", ID_EN + "Send the money to my Venmo.", "en", "debtor"),
    ("unofficial_repayment", ID_EN + "Pay at http://quick-pay.example.net/now.", "en", "debtor"),
    ("unofficial_repayment", ID_EN + "Please pay into my personal account 4000123412341234.", "en", "debtor"),
]


@pytest.mark.parametrize(("code", "text", "language", "audience"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_texts_are_flagged(code, text, language, audience):
    assert code in codes(text, language=language, audience=audience, severity=BLOCKING)


GOOD = [
    (ID_ZH + "{debtor_name}您好，您尾号{account_tail}的账户已逾期{overdue_days}天，应还{amount}元，"
     "请通过{lender_name}官方APP或 https://pay.example-bank.cn 还款。咨询{agency_phone}。", "zh_CN", "debtor"),
    (ID_ZH + "{debtor_name}您好，请致电{agency_phone}或官方客服95588，我们愿意协助您制定还款计划。", "zh_CN", "debtor"),
    (ID_ZH + "{contact_name}您好，我们有事需联系{debtor_name}，请转告其回电{agency_phone}，谢谢。", "zh_CN", "third_party"),
    (ID_ZH + "还款请转入{lender_name}官方账户 6222 0000 1111 2222 333。", "zh_CN", "debtor"),
    (ID_EN + "Hello {debtor_name}, your payment of {amount} was due on {due_date}. Pay at "
     "https://pay.example-bank.cn/app or call {agency_phone}.", "en", "debtor"),
    (ID_EN + "Hello {contact_name}, I am trying to reach {debtor_name}. Please ask them to call {agency_phone}.",
     "en", "third_party"),
    (ID_EN + "If you are represented by an attorney, please give us their name and number.", "en", "debtor"),
    (ID_EN + "Write to us at help@example-bank.cn.", "en", "debtor"),
    # warnings against redirects are good practice, not redirects
    (ID_ZH + "请勿向任何个人账户转账。", "zh_CN", "debtor"),
    (ID_EN + "We will never ask you to pay into a personal account.", "en", "debtor"),
]


@pytest.mark.parametrize(("text", "language", "audience"), GOOD)
def test_good_texts_pass(text, language, audience):
    found = check_content(text, language=language, audience=audience, channel="sms", pack="CN",
                          official_accounts=OFFICIAL)
    assert blocking(found) == [], [f.message_en for f in found]


@pytest.mark.parametrize(("text", "missing"), [
    ("{debtor_name}您好，请尽快处理。", {"missing_identification"}),
    ("{agency_name}提醒您尽快处理。", {"missing_identification"}),
    ("Hello {debtor_name}, please call us.", {"missing_identification"}),
])
def test_both_names_are_required(text, missing):
    found = check_content(text, language="zh_CN", audience="debtor", channel="sms")
    assert {f.code for f in found} == missing


def test_literal_names_identify_as_well_as_placeholders():
    text = "【示例银行】华南催收有限公司受示例银行委托提醒您尽快处理。"
    assert codes(text) == {"missing_identification"}
    assert codes(text, agency_names=["华南催收有限公司"], lender_names=["示例银行"]) == set()


def test_the_us_pack_wants_an_opt_out_in_texts_and_e_mails_only():
    body = ID_EN + "Hello {debtor_name}, please call {agency_phone}."
    assert "missing_opt_out" in codes(body, language="en", pack="US", channel="sms")
    assert "missing_opt_out" in codes(body, language="en", pack="US", channel="email")
    assert "missing_opt_out" not in codes(body + " Reply STOP to opt out.", language="en", pack="US", channel="sms")
    assert "missing_opt_out" not in codes(body, language="en", pack="US", channel="call_script")
    assert "missing_opt_out" not in codes(body, language="en", pack="CN", channel="sms")
    zh = ID_ZH + "请致电{agency_phone}。"
    assert "missing_opt_out" in codes(zh, pack="US")
    assert "missing_opt_out" not in codes(zh + "回复TD退订", pack="US")
    assert next(f for f in check_content(body, language="en", audience="debtor", channel="sms", pack="US")
                if f.code == "missing_opt_out").rule_id == "US-05"


def test_letters_carry_contact_details_and_us_letters_the_collector_disclosure():
    letter = ID_EN + "Dear {debtor_name}, your balance is {amount}."
    assert "missing_contact_details" in codes(letter, language="en", channel="letter")
    with_phone = letter + " Call {agency_phone}."
    assert codes(with_phone, language="en", channel="letter") == set()
    assert codes(with_phone, language="en", channel="letter", pack="US") == {"missing_collector_disclosure"}
    disclosed = with_phone + " This communication is from a debt collector."
    assert codes(disclosed, language="en", channel="letter", pack="US") == set()


def test_rule_ids_follow_the_pack():
    body = ID_EN + "We will come to your house."
    assert {f.rule_id for f in check_content(body, language="en", audience="debtor", channel="sms", pack="US")
            if f.code == "threat"} == {"US-08"}
    assert {f.rule_id for f in check_content(body, language="en", audience="debtor", channel="sms", pack="CN")
            if f.code == "threat"} == {"CN-06"}
    disclosure = check_content(ID_ZH + "{debtor_name}已逾期", language="zh_CN", audience="third_party", channel="sms")
    assert {f.rule_id for f in disclosure} == {"CN-04"}


def test_warnings_do_not_block_and_a_blocking_match_hides_the_overlapping_warning():
    found = check_content(ID_ZH + "我司工作人员可能上门拜访。", language="zh_CN", audience="debtor", channel="letter")
    threat = [f for f in found if f.code == "threat"]
    assert [f.severity for f in threat] == [WARNING]
    found = check_content(ID_ZH + "我们将派人上门。", language="zh_CN", audience="debtor", channel="sms")
    assert [f.severity for f in found if f.code == "threat"] == [BLOCKING]


def test_findings_name_the_words_in_both_languages():
    finding = next(f for f in check_content(ID_ZH + "你这个老赖", language="zh_CN", audience="debtor", channel="sms"))
    assert finding.code == "insult" and finding.rule_id == "CN-06"
    assert "老赖" in finding.excerpt and "老赖" in finding.message_zh and "老赖" in finding.message_en
    assert finding.message_zh != finding.message_en


def test_placeholder_names_never_match_the_lexicons():
    # {overdue_days} and {repay_url} contain words of the lexicons; blanked before matching.
    assert codes(ID_EN + "Your account is {overdue_days} days late; see {repay_url}.", language="en") == set()


def test_placeholders_are_parsed_with_escapes_and_errors():
    parsed = parse_placeholders("a {{literal}} {debtor_name} {amount} {debtor_name} { bad } }")
    assert parsed.names == ("debtor_name", "amount")
    assert parsed.malformed == ("{ bad }", "}")
    found = codes(ID_ZH + "{nope} {", severity=BLOCKING)
    assert {"unknown_placeholder", "malformed_placeholder"} <= found


def test_official_channels_match_digits_and_hosts():
    official = OfficialChannels.of(["6222 0000 1111 2222 333", "https://www.example-bank.cn/pay", "", "x"])
    assert official.allows_digits("6222-0000-1111-2222-333")
    assert official.allows_link("https://pay.example-bank.cn/a?b=1") and official.allows_link("example-bank.cn")
    assert not official.allows_link("https://example-bank.cn.evil.top/")
    assert not official.allows_digits("6222000011112222334")


@pytest.mark.parametrize("kwargs", [{"language": "fr"}, {"audience": "guarantor"}, {"channel": "fax"},
                                    {"pack": "XX"}])
def test_unknown_context_is_an_error(kwargs):
    args = {"language": "zh_CN", "audience": "debtor", "channel": "sms", "pack": "CN", **kwargs}
    with pytest.raises(ValueError):
        check_content("x", **args)


def test_lexicons_are_data_with_known_categories_and_severities():
    for language in ("zh_CN", "en"):
        entries = lexicon(language)
        assert {"threat", "insult", "impersonation", "debt_terms", "payment_redirect", "opt_out"} <= set(entries)
        assert {e.severity for group in entries.values() for e in group} <= {BLOCKING, WARNING}


# --- rendering -------------------------------------------------------------------------------------


def test_render_fills_every_placeholder_and_keeps_literal_braces():
    text = render_text("{{x}} {agency_name} 提醒 {debtor_name}", {"agency_name": "甲公司", "debtor_name": "张三"})
    assert text == "{x} 甲公司 提醒 张三"


@pytest.mark.parametrize(("body", "values", "code"), [
    ("{debtor_name}", {}, "missing_placeholder"),
    ("{debtor_name}", {"debtor_name": "  "}, "missing_placeholder"),
    ("{debtor_name}", {"debtor_name": "a", "nickname": "b"}, "unknown_placeholder"),
    ("{repay_url}", {"repay_url": "https://evil.top"}, "unofficial_repayment"),
    ("{debtor_name}", {"debtor_name": "a\x00b"}, "invalid_placeholder_value"),
])
def test_render_errors(body, values, code):
    with pytest.raises(RuleViolation) as caught:
        render_text(body, values)
    assert caught.value.code == code


def test_render_refuses_debt_fields_for_third_parties_and_accepts_official_links():
    with pytest.raises(RuleViolation) as refused:
        render_text("{amount}", {"amount": "1.00"}, audience="third_party")
    assert refused.value.code == "debt_disclosure"
    official = OfficialChannels.of(OFFICIAL)
    assert render_text("{repay_url}", {"repay_url": "https://pay.example-bank.cn/x"}, official=official)


def test_the_examples_pass_the_check():
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert len(files) >= 4
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        found = check_content(data["body"], language=data["language"], audience=data["audience"],
                              channel=data["channel"], pack=data.get("pack", "CN"))
        assert blocking(found) == [], (path.name, [f.message_en for f in found])
        assert set(parse_placeholders(data["body"]).names) <= set(PLACEHOLDERS)


# --- translations ----------------------------------------------------------------------------------


def test_every_template_message_is_translated_with_the_same_placeholders():
    import ast
    import re

    from babel.messages.pofile import read_po

    src = Path(__file__).parents[2] / "src" / "weiwai"
    modules = [src / "compliance" / "templates.py", src / "compliance" / "template_routes.py",
               src / "cli" / "template_cmd.py"]
    catalog = {}
    for po in sorted((src / "locales" / "zh_CN").glob("*.po")):
        with po.open("rb") as fh:
            catalog.update({str(m.id): str(m.string) for m in read_po(fh, locale="zh_CN") if m.id})
    found = []
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_":
                assert isinstance(node.args[0], ast.Constant), f"{path.name}:{node.lineno}: _() of a non-literal"
                found.append(node.args[0].value)
    assert len(found) > 40
    assert [m for m in found if not catalog.get(m)] == []
    assert [m for m in found if set(re.findall(r"\{\w+\}", catalog[m])) != set(re.findall(r"\{\w+\}", m))] == []
