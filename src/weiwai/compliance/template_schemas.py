"""Input and output shapes of message templates (weiwai.compliance.templates) over the API and CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from weiwai.compliance.models import MessageTemplate, TemplateStatus

Channel = Literal["sms", "letter", "email", "call_script"]
Language = Literal["zh_CN", "en"]
Audience = Literal["debtor", "third_party"]
Pack = Literal["CN", "US", "UK"]
TemplateCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                                                pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Body = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Value = Annotated[str, StringConstraints(max_length=500)]

INPUT = ConfigDict(extra="forbid")


class TemplateCreate(BaseModel):
    """A new draft: version 1 of a new code, or the next version of an existing one."""

    model_config = INPUT

    code: TemplateCode
    channel: Channel
    language: Language
    audience: Audience = "debtor"
    pack: Pack | None = Field(default=None, description="Compliance pack; default the configured one.")
    body: Body


class TemplateUpdate(BaseModel):
    """A change to a draft; fields left out keep their value."""

    model_config = INPUT

    body: Body | None = None
    audience: Audience | None = None
    pack: Pack | None = None


class ContentCheckRequest(BaseModel):
    """A dry run of the content check on a text that is not stored."""

    model_config = INPUT

    body: Body
    channel: Channel
    language: Language
    audience: Audience = "debtor"
    pack: Pack | None = None


class ReviewRequest(BaseModel):
    model_config = INPUT

    note: Note | None = None


class RejectRequest(BaseModel):
    model_config = INPUT

    note: Note


class RenderRequest(BaseModel):
    model_config = INPUT

    values: dict[Annotated[str, StringConstraints(max_length=40)], Value] = Field(default_factory=dict,
                                                                                  max_length=50)


class FindingRead(BaseModel):
    code: str
    rule_id: str
    severity: str
    excerpt: str
    message_zh: str
    message_en: str


class ContentCheckRead(BaseModel):
    ok: bool = Field(description="No blocking finding: the text could be submitted.")
    findings: list[FindingRead]


class TemplateRead(BaseModel):
    id: int
    code: str
    version: int
    channel: str
    language: str
    audience: str
    pack: str
    body: str
    status: TemplateStatus
    placeholders: list[str]
    findings: list[FindingRead]
    created_by: str
    created_at: datetime
    updated_at: datetime | None
    submitted_by: str | None
    submitted_at: datetime | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None

    @classmethod
    def of(cls, template: MessageTemplate, *, lender: bool = True) -> TemplateRead:
        """The template; agency readers do not get the names of the lender's staff who wrote and reviewed it."""
        from weiwai.compliance.content_check import parse_placeholders

        staff = (lambda value: value) if lender else (lambda _value: None)
        return cls(
            id=template.id, code=template.code, version=template.version, channel=template.channel,
            language=template.language, audience=template.audience, pack=template.pack, body=template.body,
            status=TemplateStatus(template.status), placeholders=list(parse_placeholders(template.body).names),
            findings=[FindingRead(**f) for f in template.findings or []] if lender else [],
            created_by=staff(template.created_by) or "", created_at=template.created_at,
            updated_at=template.updated_at, submitted_by=staff(template.submitted_by),
            submitted_at=template.submitted_at, reviewed_by=staff(template.reviewed_by),
            reviewed_at=template.reviewed_at, review_note=staff(template.review_note),
        )


class RenderRead(BaseModel):
    template_id: int
    code: str
    version: int
    channel: str
    text: str
