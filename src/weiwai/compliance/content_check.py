"""The content check of message templates: a pure function over a text and its context.

`check_content(body, language=…, audience=…, channel=…, pack=…, official_accounts=…)` returns
the findings of one SMS, letter, e-mail or call script, each with the rule it enforces,
its severity and the words that triggered it, in Chinese and English:

- threat, insult, impersonation (police, courts, government, lawyers): CN-06 / US-08;
- debt_disclosure: a template for third parties (contact persons) that names the debt or
  uses a debt placeholder ({amount}, {overdue_days}…): CN-04 / US-03;
- unofficial_repayment: bank-card-like digit runs, links and accounts that are not the
  lender's official ones, transfers to personal accounts: CN-07;
- missing_identification: the agency and the lender are not both named ({agency_name},
  {lender_name} or their literal names): CN-05; letters also need a way to reach the
  agency ({agency_phone} / {agency_address} / {lender_hotline});
- missing_opt_out (US pack, SMS and e-mail): US-05; missing_collector_disclosure (US
  letters to the debtor): US-08;
- placeholder problems (unknown names, malformed braces).

The words are data: weiwai/compliance/lexicons/<language>.yaml. Every lexicon is applied to
every text (a Chinese SMS may quote English words and the reverse). Severity `blocking`
stops submission and approval; `warning` is for the compliance officer to judge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import yaml

LEXICON_DIR = Path(__file__).parent / "lexicons"
LANGUAGES = ("zh_CN", "en")
CHANNELS = ("sms", "letter", "email", "call_script")
AUDIENCES = ("debtor", "third_party")
PACKS = ("CN", "US", "UK")

BLOCKING = "blocking"
WARNING = "warning"

# The placeholders a template may use, and what they stand for. Debt fields never go to a
# third party (CN-04, US-03).
PLACEHOLDERS: dict[str, str] = {
    "agency_name": "the agency's name",
    "agency_phone": "the agency's recorded line",
    "agency_address": "the agency's postal address",
    "lender_name": "the lender's name",
    "lender_hotline": "the lender's official customer service number",
    "collector_name": "the collector's name",
    "collector_id": "the collector's staff number",
    "debtor_name": "the debtor's name",
    "contact_name": "the contact person's name",
    "today": "today's date",
    "amount": "the amount due",
    "overdue_days": "days past due",
    "due_date": "the due date",
    "account_tail": "the last four digits of the account",
    "case_no": "the case number",
    "repay_channel": "the lender's official repayment channel (name)",
    "repay_url": "the lender's official repayment link",
    "repay_account": "the lender's official repayment account",
}
DEBT_FIELDS = frozenset({
    "amount", "overdue_days", "due_date", "account_tail", "case_no", "repay_channel", "repay_url", "repay_account",
})
# Placeholders whose values must be one of the lender's official accounts or links (CN-07).
REPAYMENT_FIELDS = frozenset({"repay_url", "repay_account"})
CONTACT_FIELDS = frozenset({"agency_phone", "agency_address", "lender_hotline"})

# code -> rule id per pack
RULES: dict[str, dict[str, str]] = {
    "threat": {"CN": "CN-06", "US": "US-08", "UK": "UK-05"},
    "insult": {"CN": "CN-06", "US": "US-08", "UK": "UK-05"},
    "impersonation": {"CN": "CN-06", "US": "US-08", "UK": "UK-05"},
    "debt_disclosure": {"CN": "CN-04", "US": "US-03", "UK": "UK-03"},
    "unofficial_repayment": {"CN": "CN-07", "US": "US-08", "UK": "UK-05"},
    "missing_identification": {"CN": "CN-05", "US": "US-08", "UK": "UK-05"},
    "missing_contact_details": {"CN": "CN-05", "US": "US-08", "UK": "UK-05"},
    "missing_opt_out": {"CN": "US-05", "US": "US-05", "UK": "US-05"},
    "missing_collector_disclosure": {"CN": "US-08", "US": "US-08", "UK": "US-08"},
    "unknown_placeholder": {"CN": "TEMPLATE", "US": "TEMPLATE", "UK": "TEMPLATE"},
    "malformed_placeholder": {"CN": "TEMPLATE", "US": "TEMPLATE", "UK": "TEMPLATE"},
}

MESSAGES: dict[str, tuple[str, str]] = {
    "threat": ("含威胁、恐吓内容：“{match}”", "threatening or intimidating wording: \"{match}\""),
    "insult": ("含侮辱、谩骂内容：“{match}”", "insulting or abusive wording: \"{match}\""),
    "impersonation": ("冒充或假借公检法、政府、律师名义：“{match}”",
                      "claims or invokes police, court, government or attorney status: \"{match}\""),
    "debt_disclosure": ("面向第三方（联系人）的模板不得透露债务：“{match}”",
                        "a template for third parties must not disclose the debt: \"{match}\""),
    "unofficial_repayment": ("还款渠道不是贷款机构指定的官方渠道：“{match}”",
                             "repayment to a channel that is not one of the lender's official ones: \"{match}\""),
    "missing_identification": ("未表明{match}身份（使用占位符或其名称）",
                               "does not identify the {match} (placeholder or its name)"),
    "missing_contact_details": ("信函须载明催收机构的联系方式（{{agency_phone}}、{{agency_address}} 或 {{lender_hotline}}）",
                                "a letter must say how to reach the agency ({{agency_phone}}, {{agency_address}} "
                                "or {{lender_hotline}})"),
    "missing_opt_out": ("短信和电子邮件须提供简便的退订方式（如“回复TD退订”）",
                        "texts and e-mails must carry a simple opt-out (e.g. \"Reply STOP to opt out\")"),
    "missing_collector_disclosure": ("致债务人的信函须声明来自债务催收机构",
                                     "a letter to the consumer must state that it is from a debt collector"),
    "unknown_placeholder": ("未知的占位符：{{{match}}}", "unknown placeholder: {{{match}}}"),
    "malformed_placeholder": ("占位符格式错误：“{match}”（字面的大括号请写成 {{{{ 和 }}}}）",
                              "malformed placeholder: \"{match}\" (write literal braces as {{{{ and }}}})"),
}
WHO = {"agency": ("催收机构", "agency"), "lender": ("贷款机构", "lender")}

PLACEHOLDER_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
DIGIT_RUN = re.compile(r"(?<!\d)(?:\d[ \-]?){11,18}\d(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"(?:https?://|www\.)[^\s，。；、！？）)<>\"'“”]+", re.IGNORECASE)
DOMAIN = re.compile(
    r"(?<![\w.@/-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
    r"(?:cn|com|net|org|top|xyz|cc|vip|me|io|app|info|biz|link|site|online|club|shop|ltd|hk|co)"
    r"(?![\w-])(?:/[^\s，。；、！？）)<>\"'“”]*)?",
    re.IGNORECASE,
)
EXCERPT_CONTEXT = 12


@dataclass(frozen=True)
class Finding:
    """One problem in a template: what, which rule, how bad, where, and why in both languages."""

    code: str
    rule_id: str
    severity: str  # blocking / warning
    excerpt: str
    message_zh: str
    message_en: str

    @property
    def blocking(self) -> bool:
        return self.severity == BLOCKING

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class LexiconEntry:
    pattern: re.Pattern[str]
    severity: str
    note: str | None = None


@lru_cache(maxsize=len(LANGUAGES))
def lexicon(language: str) -> dict[str, tuple[LexiconEntry, ...]]:
    """The lexicon of one language: category -> compiled entries (read once)."""
    data = yaml.safe_load((LEXICON_DIR / f"{language}.yaml").read_text(encoding="utf-8"))
    return {
        category: tuple(
            LexiconEntry(re.compile(entry["pattern"], re.IGNORECASE), entry.get("severity", BLOCKING),
                         entry.get("note"))
            for entry in entries
        )
        for category, entries in data.items() if category != "language"
    }


@dataclass(frozen=True)
class ParsedBody:
    names: tuple[str, ...]  # placeholder names, in order of first use
    spans: tuple[tuple[int, int], ...]  # where placeholders (and escaped braces) are
    malformed: tuple[str, ...]


def parse_placeholders(body: str) -> ParsedBody:
    """The placeholders of a body: `{name}`; `{{` and `}}` are literal braces."""
    names: list[str] = []
    spans: list[tuple[int, int]] = []
    malformed: list[str] = []
    for token in PLACEHOLDER_TOKEN.finditer(body):
        text = token.group(0)
        spans.append(token.span())
        if text in ("{{", "}}"):
            continue
        name = token.group(1)
        if name is None or not NAME.match(name):
            malformed.append(text)
        elif name not in names:
            names.append(name)
    return ParsedBody(names=tuple(names), spans=tuple(spans), malformed=tuple(malformed))


def _blank(body: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(body)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _excerpt(body: str, start: int, end: int) -> str:
    left, right = max(0, start - EXCERPT_CONTEXT), min(len(body), end + EXCERPT_CONTEXT)
    text = body[left:right].replace("\n", " ")
    return ("…" if left > 0 else "") + text + ("…" if right < len(body) else "")


def _finding(code: str, pack: str, severity: str, excerpt: str, match: str, note: str | None = None) -> Finding:
    zh, en = MESSAGES[code]
    message_en = en.format(match=match) + (f" ({note})" if note else "")
    return Finding(code=code, rule_id=RULES[code].get(pack, RULES[code]["CN"]), severity=severity, excerpt=excerpt,
                   message_zh=zh.format(match=match), message_en=message_en)


NEGATION_WINDOW = 40


def _negated(masked: str, start: int) -> bool:
    """A negation just before `start` in the same sentence ("never pay into a personal account")."""
    before = masked[max(0, start - NEGATION_WINDOW):start]
    negations = (entry for language in LANGUAGES for entry in lexicon(language).get("negations", ()))
    return any(entry.pattern.search(before) for entry in negations)


def _lexicon_findings(body: str, masked: str, category: str, code: str, pack: str,
                      negatable: bool = False) -> list[Finding]:
    """Matches of one category in every lexicon; a warning overlapping a blocking match is dropped."""
    entries = [entry for language in LANGUAGES for entry in lexicon(language).get(category, ())]
    entries.sort(key=lambda entry: entry.severity != BLOCKING)
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, Finding]] = []
    for entry in entries:
        for match in entry.pattern.finditer(masked):
            start, end = match.span()
            if start == end or any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            if negatable and _negated(masked, start):
                continue
            taken.append((start, end))
            found.append((start, _finding(code, pack, entry.severity, _excerpt(body, start, end),
                                          body[start:end].strip(), entry.note)))
    return [finding for _start, finding in sorted(found, key=lambda item: item[0])]


def _any(masked: str, category: str) -> bool:
    return any(entry.pattern.search(masked) for language in LANGUAGES for entry in lexicon(language)[category])


@dataclass(frozen=True)
class OfficialChannels:
    """The lender's official repayment accounts (digits) and links (hosts)."""

    digits: frozenset[str]
    hosts: frozenset[str]

    @classmethod
    def of(cls, values: Iterable[str]) -> OfficialChannels:
        digits, hosts = set(), set()
        for value in values:
            value = value.strip()
            if not value:
                continue
            only_digits = re.sub(r"[\s-]", "", value)
            if only_digits.isdigit():
                digits.add(only_digits)
                continue
            host = _host(value)
            if host:
                hosts.add(host)
        return cls(digits=frozenset(digits), hosts=frozenset(hosts))

    def allows_digits(self, text: str) -> bool:
        return re.sub(r"\D", "", text) in self.digits

    def allows_link(self, text: str) -> bool:
        host = _host(text)
        return host is not None and any(host == h or host.endswith("." + h) for h in self.hosts)


def _host(value: str) -> str | None:
    value = value.strip().lower()
    if "://" not in value:
        value = "http://" + value
    try:
        host = urlsplit(value).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.removeprefix("www.")


def repayment_findings(body: str, masked: str, *, pack: str, official: OfficialChannels) -> list[Finding]:
    """Digit runs, links and domains that are not official, and transfers to personal accounts (CN-07)."""
    found: list[tuple[int, Finding]] = []
    code = "unofficial_repayment"
    emails = [m.span() for m in EMAIL.finditer(masked)]
    links = [m for m in URL.finditer(masked)]
    link_spans = [m.span() for m in links]

    def inside(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
        return any(s <= span[0] and span[1] <= e for s, e in spans)

    for match in DIGIT_RUN.finditer(masked):
        if inside(match.span(), link_spans) or official.allows_digits(match.group(0)):
            continue
        found.append((match.start(), _finding(code, pack, BLOCKING, _excerpt(body, *match.span()),
                                              match.group(0).strip())))
    for match in links:
        if not official.allows_link(match.group(0)):
            found.append((match.start(), _finding(code, pack, BLOCKING, _excerpt(body, *match.span()),
                                                  match.group(0))))
    for match in DOMAIN.finditer(masked):
        if inside(match.span(), link_spans) or inside(match.span(), emails) or official.allows_link(match.group(0)):
            continue
        found.append((match.start(), _finding(code, pack, BLOCKING, _excerpt(body, *match.span()), match.group(0))))
    found += [(0, finding) for finding in _lexicon_findings(body, masked, "payment_redirect", code, pack,
                                                                      negatable=True)]
    return [finding for _start, finding in sorted(found, key=lambda item: item[0])]


def check_content(
    body: str,
    *,
    language: str,
    audience: str,
    channel: str,
    pack: str = "CN",
    official_accounts: Iterable[str] = (),
    placeholders: Iterable[str] | None = None,
    agency_names: Iterable[str] = (),
    lender_names: Iterable[str] = (),
) -> list[Finding]:
    """Every finding of the content check on one template text (blocking ones first, then by position).

    `placeholders` are the placeholder names a template may use (default: PLACEHOLDERS);
    `agency_names` / `lender_names` are literal names that identify the sender as well as
    the placeholders do; `official_accounts` the lender's repayment account numbers and links.
    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; one of {', '.join(LANGUAGES)}")
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}; one of {', '.join(AUDIENCES)}")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}")
    if pack not in PACKS:
        raise ValueError(f"unknown pack {pack!r}; one of {', '.join(PACKS)}")
    allowed = set(PLACEHOLDERS if placeholders is None else placeholders)
    parsed = parse_placeholders(body)
    masked = _blank(body, parsed.spans)
    findings: list[Finding] = []

    for text in parsed.malformed:
        findings.append(_finding("malformed_placeholder", pack, BLOCKING, text, text))
    for name in parsed.names:
        if name not in allowed:
            findings.append(_finding("unknown_placeholder", pack, BLOCKING, "{" + name + "}", name))

    findings += _lexicon_findings(body, masked, "threat", "threat", pack)
    findings += _lexicon_findings(body, masked, "insult", "insult", pack)
    findings += _lexicon_findings(body, masked, "impersonation", "impersonation", pack)

    if audience == "third_party":
        for name in parsed.names:
            if name in DEBT_FIELDS:
                findings.append(_finding("debt_disclosure", pack, BLOCKING, "{" + name + "}", "{" + name + "}"))
        findings += _lexicon_findings(body, masked, "debt_terms", "debt_disclosure", pack)

    findings += repayment_findings(body, masked, pack=pack, official=OfficialChannels.of(official_accounts))

    # CN-05: both names at once. A US third party hears only who is calling about location (1692b).
    if not (pack == "US" and audience == "third_party"):
        parties = (("agency", "agency_name", agency_names), ("lender", "lender_name", lender_names))
        for who, placeholder, names in parties:
            if placeholder in parsed.names or any(name and name in masked for name in names):
                continue
            zh, en = WHO[who]
            message_zh, message_en = MESSAGES["missing_identification"]
            findings.append(Finding(code="missing_identification", rule_id=RULES["missing_identification"][pack],
                                    severity=BLOCKING, excerpt="{" + placeholder + "}",
                                    message_zh=message_zh.format(match=zh), message_en=message_en.format(match=en)))
    if channel == "letter" and audience == "debtor" and not CONTACT_FIELDS & set(parsed.names):
        findings.append(_finding("missing_contact_details", pack, BLOCKING, "", ""))
    if pack == "US":
        if channel in ("sms", "email") and not _any(masked, "opt_out"):
            findings.append(_finding("missing_opt_out", pack, BLOCKING, "", ""))
        if channel == "letter" and audience == "debtor" and not _any(masked, "collector_disclosure"):
            findings.append(_finding("missing_collector_disclosure", pack, BLOCKING, "", ""))

    return sorted(findings, key=lambda finding: finding.severity != BLOCKING)


def blocking(findings: Iterable[Finding | dict]) -> list:
    """The findings that stop a template (dicts as stored on the template, or Findings)."""
    return [f for f in findings if (f.get("severity") if isinstance(f, dict) else f.severity) == BLOCKING]
