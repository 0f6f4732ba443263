"""Turning files and validation errors into precise, translated RowErrors.

Pydantic's own messages are English only; the common error types are re-worded here in
the user's language, and messages our validators raised (already translated) pass through.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from weiwai.errors import InputRejected, RowError
from weiwai.i18n import _

ModelT = TypeVar("ModelT", bound=BaseModel)


def describe(error: dict[str, Any]) -> str:
    """One pydantic error as a sentence in the current locale."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    templates = {
        "missing": _("required"),
        "extra_forbidden": _("unknown field (check the spelling)"),
        "greater_than": _("must be greater than {gt}"),
        "greater_than_equal": _("must be at least {ge}"),
        "less_than": _("must be less than {lt}"),
        "less_than_equal": _("must be at most {le}"),
        "decimal_max_places": _("at most {decimal_places} decimal places"),
        "decimal_max_digits": _("at most {max_digits} digits"),
        "decimal_parsing": _("not a number"),
        "decimal_type": _("not a number"),
        "int_parsing": _("not a whole number"),
        "int_from_float": _("not a whole number"),
        "int_type": _("not a whole number"),
        "date_from_datetime_parsing": _("not a date (use YYYY-MM-DD)"),
        "date_parsing": _("not a date (use YYYY-MM-DD)"),
        "date_type": _("not a date (use YYYY-MM-DD)"),
        "string_type": _("must be text"),
        "string_too_short": _("cannot be empty"),
        "string_too_long": _("at most {max_length} characters"),
        "string_pattern_mismatch": _("wrong format"),
        "too_short": _("needs at least {min_length} item(s)"),
        "list_type": _("must be a list"),
        "dict_type": _("must be a mapping of names to values"),
        "model_type": _("must be a mapping of names to values"),
        "enum": _("must be one of: {expected}"),
        "bool_parsing": _("must be true or false"),
    }
    template = templates.get(kind)
    if template is None:
        return error["msg"]
    if kind == "enum":  # pydantic lists the choices as "'a', 'b' or 'c'", in English
        ctx = {**ctx, "expected": str(ctx.get("expected", "")).replace(" or ", ", ")}
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return error["msg"]


def location(error: dict[str, Any]) -> str:
    """The error's field path, e.g. fee_schedule.rates_by_bucket.M1 (the whole record when empty)."""
    return ".".join(str(part) for part in error["loc"]) or "*"


def summary(exc: ValidationError) -> str:
    """All errors of a validation on one line, for messages outside of files."""
    return "; ".join(f"{location(e)}: {describe(e)}" for e in exc.errors())


def row_errors(exc: ValidationError, *, file: str, row: int) -> list[RowError]:
    return [
        RowError(file=file, row=row, column=location(e), value=_shown(e.get("input")), reason=describe(e))
        for e in exc.errors()
    ]


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "{…}"
    text = "" if value is None else str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def load_documents(path: Path) -> list[dict[str, Any]]:
    """The records in a YAML file (one per document) or JSON file (an object, or a list of them)."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputRejected(errors=[RowError(file=name, row=1, column="*", value="", reason=str(exc))]) from None
    try:
        if path.suffix.lower() == ".json":
            loaded = json.loads(text)
            documents = loaded if isinstance(loaded, list) else [loaded]
        else:
            documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        line = getattr(exc, "lineno", None) or (getattr(getattr(exc, "problem_mark", None), "line", 0) + 1)
        reason = _("not valid YAML or JSON: {problem}").format(problem=str(exc).splitlines()[0])
        raise InputRejected(errors=[RowError(file=name, row=line, column="*", value="", reason=reason)]) from None
    if not documents:
        raise InputRejected(errors=[RowError(file=name, row=1, column="*", value="", reason=_("the file is empty"))])
    for number, document in enumerate(documents, start=1):
        if not isinstance(document, dict):
            reason = _("each document must be a mapping of field names to values")
            raise InputRejected(errors=[RowError(file=name, row=number, column="*", value="", reason=reason)])
    return documents


def validate_documents(model: type[ModelT], documents: list[dict[str, Any]], *, file: str) -> list[ModelT]:
    """Validate every document (row = document number); reject all if any is wrong."""
    valid: list[ModelT] = []
    errors: list[RowError] = []
    for number, document in enumerate(documents, start=1):
        try:
            valid.append(model.model_validate(document))
        except ValidationError as exc:
            errors.extend(row_errors(exc, file=file, row=number))
    if errors:
        raise InputRejected(errors=errors)
    return valid
