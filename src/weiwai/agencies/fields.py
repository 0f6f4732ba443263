"""Field types and base classes shared by the agency and contract schemas."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from weiwai.i18n import _
from weiwai.money import to_fen

# Shared field types.
Rate = Annotated[Decimal, Field(ge=0, le=1, decimal_places=6)]
# Quantized to the fen after validation, so that 100 and 100.00 read back the same.
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2), AfterValidator(to_fen)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Region = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]

AGENCY_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,31}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_PAGE_SIZE = 200
# Input schemas refuse unknown fields (typos) and take numbers where text is expected,
# since YAML reads an unquoted licence or contract number as a number.
INPUT_CONFIG = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    return False


class InputSchema(BaseModel):
    """Base of input schemas: unknown fields refused, and no text holding NUL (PostgreSQL cannot store it)."""

    model_config = INPUT_CONFIG

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_characters(cls, value):
        if _holds_nul(value):
            raise ValueError(_("text cannot contain the NUL character"))
        return value


def unique_in_order(values: list) -> list:
    """The values without repeats, first occurrence kept (lists people typed)."""
    return list(dict.fromkeys(values))


class Patch(InputSchema):
    """Base of update schemas: omitted fields stay as they are; required ones refuse null."""
    nullable_fields: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _required_fields_refuse_null(cls, value, info):
        if value is None and info.field_name not in cls.nullable_fields:
            raise ValueError(_("this field cannot be emptied"))
        return value
