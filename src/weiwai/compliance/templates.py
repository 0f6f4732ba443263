"""Message templates (SMS, letters, e-mails, call scripts): drafts, approval, rendering.

The lifecycle of one version of a template (a code has versions 1, 2, …):

    draft ──submit──▶ submitted ──approve──▶ approved ──retire──▶ retired
      │                   └──────reject────▶ rejected ──retire──▶ retired
      └──retire──▶ retired

- Submitting runs the content check (weiwai.compliance.content_check); a blocking finding
  stops it and nothing is written. The findings (warnings too) are kept on the template.
- Approving runs the check again and needs no blocking finding; the approver is never an
  author of the text nor its submitter (four-eyes). Approving a version retires the
  version of the same code approved before: a code has at most one approved version.
- A rejected or retired version is never edited: a new version of the code is drafted.
  A code has at most one version in draft or submitted at a time.
- Only an approved template renders (`render_template`), and every placeholder needs a value;
  enforcement asks `approved_template(session, code)`.

Agency users and tokens see approved templates only (`approved_only`); lender staff see all.
Services never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weiwai.compliance import content_check
from weiwai.compliance.content_check import (
    AUDIENCES,
    CHANNELS,
    DEBT_FIELDS,
    LANGUAGES,
    PACKS,
    PLACEHOLDERS,
    REPAYMENT_FIELDS,
    Finding,
    OfficialChannels,
    check_content,
    parse_placeholders,
)
from weiwai.compliance.models import MessageTemplate, TemplateStatus
from weiwai.db import utcnow
from weiwai.errors import Conflict, IllegalTransition, InputRejected, NotFound, RowError, RuleViolation
from weiwai.i18n import _, get_locale
from weiwai.security import audit

S = TemplateStatus
TRANSITIONS: dict[TemplateStatus, frozenset[TemplateStatus]] = {
    S.draft: frozenset({S.submitted, S.retired}),
    S.submitted: frozenset({S.approved, S.rejected}),
    S.approved: frozenset({S.retired}),
    S.rejected: frozenset({S.retired}),
    S.retired: frozenset(),
}
OPEN_STATUSES = (S.draft, S.submitted)
MAX_BODY = {"sms": 1000, "email": 20_000, "letter": 20_000, "call_script": 20_000}
MAX_VALUE = 500


@dataclass(frozen=True)
class ContentPolicy:
    """What the content check needs to know of the lender: official channels and names."""

    official_accounts: tuple[str, ...] = ()
    lender_names: tuple[str, ...] = ()
    agency_names: tuple[str, ...] = ()


def content_policy(session: Session) -> ContentPolicy:
    """The lender's official repayment channels and name (settings), and the agencies' names."""
    from weiwai.agencies.models import Agency
    from weiwai.config import get_settings

    settings = get_settings()
    # Optional settings (WEIWAI_OFFICIAL_REPAYMENT_CHANNELS, WEIWAI_LENDER_NAME): without them no
    # account or link is official and only the {lender_name} placeholder names the lender.
    official = tuple(getattr(settings, "official_repayment_channels", None) or ())
    lender = getattr(settings, "lender_name", None)
    agencies = tuple(name for name in session.scalars(select(Agency.legal_name)) if name)
    return ContentPolicy(official_accounts=official, lender_names=(lender,) if lender else (), agency_names=agencies)


def run_check(
    *, body: str, language: str, audience: str, channel: str, pack: str, policy: ContentPolicy
) -> list[Finding]:
    """The content check of a text under the lender's policy."""
    return check_content(
        body, language=language, audience=audience, channel=channel, pack=pack,
        official_accounts=policy.official_accounts, agency_names=policy.agency_names,
        lender_names=policy.lender_names,
    )


def _message(finding: Finding | Mapping) -> str:
    get = finding.get if isinstance(finding, Mapping) else lambda key: getattr(finding, key)
    return get("message_en") if get_locale() == "en" else get("message_zh")


def _refuse(template: MessageTemplate, findings: Iterable[Finding], why: str) -> InputRejected:
    """The blocking findings as an input_rejected answer (one error each); nothing is written."""
    errors = [
        RowError(file=f"{template.code} v{template.version}", row=1, column=f"{f.code} ({f.rule_id})",
                 value=f.excerpt, reason=_message(f))
        for f in findings
    ]
    refused = InputRejected(errors=errors, code="template_blocked")
    refused.message = why + ": " + refused.message
    return refused


# --- reading ------------------------------------------------------------------------------------


def get_template(*, session: Session, template_id: int, approved_only: bool = False,
                 lock: bool = False) -> MessageTemplate:
    """One template version by id; NotFound if missing (or not approved, for `approved_only`)."""
    query = select(MessageTemplate).where(MessageTemplate.id == template_id)
    if approved_only:
        query = query.where(MessageTemplate.status == S.approved)
    if lock:
        query = query.with_for_update()
    template = session.scalars(query).one_or_none()
    if template is None:
        raise NotFound(_("no message template {ref}").format(ref=template_id))
    return template


@dataclass(frozen=True)
class TemplatePage:
    items: list[MessageTemplate]
    total: int


def list_templates(
    *, session: Session, approved_only: bool = False, code: str | None = None,
    status: Iterable[TemplateStatus] = (), channel: str | None = None, language: str | None = None,
    audience: str | None = None, offset: int = 0, limit: int = 50,
) -> TemplatePage:
    """Template versions by code, then newest version first."""
    query = select(MessageTemplate)
    if approved_only:
        query = query.where(MessageTemplate.status == S.approved)
    statuses = list(status)
    if statuses:
        query = query.where(MessageTemplate.status.in_([str(s) for s in statuses]))
    for column, value in ((MessageTemplate.code, code), (MessageTemplate.channel, channel),
                          (MessageTemplate.language, language), (MessageTemplate.audience, audience)):
        if value is not None:
            query = query.where(column == value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(session.scalars(
        query.order_by(MessageTemplate.code, MessageTemplate.version.desc()).offset(offset).limit(limit)
    ))
    return TemplatePage(items=items, total=total)


def approved_template(session: Session, code: str) -> MessageTemplate | None:
    """The approved version of a template code, if there is one (what enforcement may use)."""
    return session.scalars(
        select(MessageTemplate).where(MessageTemplate.code == code, MessageTemplate.status == S.approved)
        .order_by(MessageTemplate.version.desc()).limit(1)
    ).one_or_none()


# --- writing ------------------------------------------------------------------------------------


def _validate(*, body: str, channel: str, language: str, audience: str, pack: str) -> None:
    """Shape of a template: known channel, language, audience, pack; a body of sane length and syntax."""
    for value, allowed, what in ((channel, CHANNELS, "channel"), (language, LANGUAGES, "language"),
                                 (audience, AUDIENCES, "audience"), (pack, PACKS, "pack")):
        if value not in allowed:
            raise RuleViolation(_("unknown {what} {value}; one of {allowed}").format(
                what=what, value=value, allowed=", ".join(allowed)), code="invalid_template")
    if not body.strip():
        raise RuleViolation(_("the template text is empty"), code="invalid_template")
    if len(body) > MAX_BODY[channel]:
        raise RuleViolation(_("the template text is longer than {limit} characters").format(limit=MAX_BODY[channel]),
                            code="invalid_template")
    parsed = parse_placeholders(body)
    if parsed.malformed:
        raise RuleViolation(_("malformed placeholder {text}; write literal braces as {{{{ and }}}}").format(
            text=", ".join(parsed.malformed)), code="invalid_placeholder")
    unknown = [name for name in parsed.names if name not in PLACEHOLDERS]
    if unknown:
        raise RuleViolation(_("unknown placeholder {names}; known: {known}").format(
            names=", ".join("{" + n + "}" for n in unknown), known=", ".join(sorted(PLACEHOLDERS))),
            code="invalid_placeholder")


def create_template(
    *, session: Session, code: str, channel: str, language: str, audience: str, body: str,
    pack: str | None = None, actor: str,
) -> MessageTemplate:
    """Draft version 1 of a new code, or the next version of an existing one (same channel, language, audience)."""
    from weiwai.config import get_settings

    pack = pack or get_settings().compliance_pack
    _validate(body=body, channel=channel, language=language, audience=audience, pack=pack)
    latest = session.scalars(
        select(MessageTemplate).where(MessageTemplate.code == code).order_by(MessageTemplate.version.desc()).limit(1)
        .with_for_update()
    ).one_or_none()
    version = 1
    if latest is not None:
        if (latest.channel, latest.language, latest.audience) != (channel, language, audience):
            raise RuleViolation(
                _("template {code} is a {channel} in {language} for {audience}; use another code for another kind")
                .format(code=code, channel=latest.channel, language=latest.language, audience=latest.audience),
                code="template_kind_mismatch")
        open_version = session.scalars(
            select(MessageTemplate.version).where(MessageTemplate.code == code,
                                                  MessageTemplate.status.in_([str(s) for s in OPEN_STATUSES]))
        ).first()
        if open_version is not None:
            raise Conflict(_("template {code} already has version {version} in draft or under review").format(
                code=code, version=open_version), code="template_version_open")
        version = latest.version + 1
    template = MessageTemplate(
        code=code, version=version, channel=channel, language=language, audience=audience, pack=pack, body=body,
        status=S.draft, findings=[], created_by=actor, authors=[actor],
    )
    session.add(template)
    session.flush()
    return template


def update_template(
    *, session: Session, template: MessageTemplate, actor: str, body: str | None = None,
    audience: str | None = None, pack: str | None = None,
) -> MessageTemplate:
    """Change a draft's text (or audience, pack); the editor becomes one of its authors."""
    _require(template, (S.draft,), _("only a draft can be changed"))
    new_body = template.body if body is None else body
    new_audience = template.audience if audience is None else audience
    new_pack = template.pack if pack is None else pack
    if template.version > 1 and new_audience != template.audience:
        raise RuleViolation(_("the audience of a template code is fixed; use another code"),
                            code="template_kind_mismatch")
    _validate(body=new_body, channel=template.channel, language=template.language, audience=new_audience,
              pack=new_pack)
    template.body, template.audience, template.pack = new_body, new_audience, new_pack
    template.findings = []
    template.authors = _with(template.authors, actor)
    template.updated_at = utcnow()
    session.flush()
    return template


def status_label(status: str) -> str:
    """The status in the reader's language."""
    labels = {S.draft: _("draft"), S.submitted: _("submitted"), S.approved: _("approved"), S.rejected: _("rejected"),
              S.retired: _("retired")}
    return labels.get(TemplateStatus(status), str(status))


def _with(names: list | None, name: str) -> list[str]:
    names = list(names or [])
    return names if name in names else [*names, name]


def _require(template: MessageTemplate, statuses: tuple[TemplateStatus, ...], why: str) -> None:
    if TemplateStatus(template.status) not in statuses:
        raise IllegalTransition(_("template {code} v{version} is {status}: {why}").format(
            code=template.code, version=template.version, status=status_label(template.status), why=why))


def _move(template: MessageTemplate, to: TemplateStatus) -> None:
    current = TemplateStatus(template.status)
    if to not in TRANSITIONS[current]:
        raise IllegalTransition(_("template {code} v{version} cannot go from {current} to {to}").format(
            code=template.code, version=template.version, current=status_label(current), to=status_label(to)))
    template.status = to


def submit_template(
    *, session: Session, template: MessageTemplate, actor: str, policy: ContentPolicy | None = None
) -> MessageTemplate:
    """Send a draft for approval; refused (nothing written) while the content check finds anything blocking."""
    _require(template, (S.draft,), _("only a draft can be submitted"))
    findings = _check(session, template, policy)
    blocking = content_check.blocking(findings)
    if blocking:
        raise _refuse(template, blocking, _("the content check found problems that stop submission"))
    _move(template, S.submitted)
    template.findings = [f.as_dict() for f in findings]
    template.submitted_at, template.submitted_by = utcnow(), actor
    session.flush()
    return template


def _check(session: Session, template: MessageTemplate, policy: ContentPolicy | None) -> list[Finding]:
    return run_check(body=template.body, language=template.language, audience=template.audience,
                     channel=template.channel, pack=template.pack, policy=policy or content_policy(session))


def _four_eyes(template: MessageTemplate, actor: str) -> None:
    involved = set(template.authors or []) | {template.created_by} | ({template.submitted_by} - {None})
    if actor in involved:
        raise RuleViolation(
            _("{actor} wrote or submitted template {code} v{version}: another compliance officer must review it")
            .format(actor=actor, code=template.code, version=template.version), code="four_eyes")


def approve_template(
    *, session: Session, template: MessageTemplate, actor: str, note: str | None = None,
    policy: ContentPolicy | None = None,
) -> MessageTemplate:
    """Approve a submitted version (not one's own; no blocking finding); the code's previous approved one retires."""
    _require(template, (S.submitted,), _("only a submitted template can be approved"))
    _four_eyes(template, actor)
    findings = _check(session, template, policy)
    blocking = content_check.blocking(findings)
    if blocking:
        raise _refuse(template, blocking, _("the content check found problems that stop approval"))
    now = utcnow()
    previous = approved_template(session, template.code)
    if previous is not None and previous.id != template.id:
        previous.status = S.retired
        previous.updated_at = now
        audit.record(session=session, actor=actor, action="template.retire", entity="message_template",
                     entity_id=previous.id, details={"code": previous.code, "version": previous.version,
                                                     "replaced_by": template.version})
        session.flush()
    _move(template, S.approved)
    template.findings = [f.as_dict() for f in findings]
    template.reviewed_by, template.reviewed_at, template.review_note = actor, now, note
    audit.record(session=session, actor=actor, action="template.approve", entity="message_template",
                 entity_id=template.id, details={"code": template.code, "version": template.version})
    session.flush()
    return template


def reject_template(*, session: Session, template: MessageTemplate, actor: str, note: str) -> MessageTemplate:
    """Send a submitted version back with a reason; it stays rejected (a new version is drafted)."""
    _require(template, (S.submitted,), _("only a submitted template can be rejected"))
    if not note or not note.strip():
        raise RuleViolation(_("a rejection needs a reason"), code="reason_required")
    _four_eyes(template, actor)
    _move(template, S.rejected)
    template.reviewed_by, template.reviewed_at, template.review_note = actor, utcnow(), note.strip()
    audit.record(session=session, actor=actor, action="template.reject", entity="message_template",
                 entity_id=template.id, details={"code": template.code, "version": template.version})
    session.flush()
    return template


def retire_template(*, session: Session, template: MessageTemplate, actor: str,
                    note: str | None = None) -> MessageTemplate:
    """Take a version out of use (approved) or abandon it (draft, rejected)."""
    _move(template, S.retired)
    template.updated_at = utcnow()
    if note:
        template.review_note = note
    audit.record(session=session, actor=actor, action="template.retire", entity="message_template",
                 entity_id=template.id, details={"code": template.code, "version": template.version})
    session.flush()
    return template


# --- rendering ----------------------------------------------------------------------------------


def render_text(body: str, values: Mapping[str, str], *, audience: str = "debtor",
                official: OfficialChannels | None = None) -> str:
    """Fill `{name}` placeholders from `values` (`{{` `}}` are literal braces).

    A value for an unknown placeholder, a placeholder without a value, a debt field in a
    third-party text and an unofficial repayment account or link are errors (RuleViolation).
    """
    unknown = sorted(name for name in values if name not in PLACEHOLDERS)
    if unknown:
        raise RuleViolation(_("unknown placeholder {names}").format(names=", ".join(unknown)),
                            code="unknown_placeholder")
    parsed = parse_placeholders(body)
    if parsed.malformed:
        raise RuleViolation(_("malformed placeholder {text}").format(text=", ".join(parsed.malformed)),
                            code="invalid_placeholder")
    missing = [name for name in parsed.names if name not in values or not str(values[name]).strip()]
    if missing:
        raise RuleViolation(_("no value for placeholder {names}").format(names=", ".join(missing)),
                            code="missing_placeholder")
    if audience == "third_party":
        debt = [name for name in parsed.names if name in DEBT_FIELDS]
        if debt:
            raise RuleViolation(_("a template for third parties cannot carry {names}").format(names=", ".join(debt)),
                                code="debt_disclosure")
    for name in parsed.names:
        value = str(values[name])
        if len(value) > MAX_VALUE or any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
            raise RuleViolation(_("the value of {name} is too long or has control characters").format(name=name),
                                code="invalid_placeholder_value")
        if name in REPAYMENT_FIELDS:
            channels = official or OfficialChannels.of(())
            if not (channels.allows_digits(value) if name == "repay_account" else channels.allows_link(value)):
                raise RuleViolation(
                    _("{name} must be one of the lender's official repayment accounts or links").format(name=name),
                    code="unofficial_repayment")

    def fill(token) -> str:
        text = token.group(0)
        if text == "{{":
            return "{"
        if text == "}}":
            return "}"
        return str(values[token.group(1)])

    return content_check.PLACEHOLDER_TOKEN.sub(fill, body)


def render_template(
    *, session: Session, template: MessageTemplate, values: Mapping[str, str], policy: ContentPolicy | None = None
) -> str:
    """The text of an approved template with its placeholders filled; any other status is refused."""
    if TemplateStatus(template.status) != S.approved:
        raise Conflict(_("template {code} v{version} is {status}: only approved templates can be used").format(
            code=template.code, version=template.version, status=status_label(template.status)),
            code="template_not_approved")
    policy = policy or content_policy(session)
    return render_text(template.body, values, audience=template.audience,
                       official=OfficialChannels.of(policy.official_accounts))
