"""Reading screening rules and allocation strategies from YAML or JSON files.

A bad file is refused whole with every problem listed as a RowError: the line in the file,
the dotted path of the field (`balance.min`), the value and a reason a person can act on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from weiwai.errors import InputRejected, RowError
from weiwai.i18n import _

ModelT = TypeVar("ModelT", bound=BaseModel)


def load_model(model: type[ModelT], path: Path) -> ModelT:
    """Read one YAML or JSON document from `path` and validate it as `model`."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputRejected(errors=[RowError(name, 1, "", "", _("cannot read the file: {error}").format(
            error=exc))]) from None
    return parse_model(model, text, file=name)


def parse_model(model: type[ModelT], text: str, *, file: str) -> ModelT:
    """Validate the YAML or JSON document in `text` as `model` (JSON is read as YAML)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise InputRejected(errors=[RowError(file, line, "", "", _("not valid YAML or JSON: {problem}").format(
            problem=getattr(exc, "problem", None) or exc))]) from None
    if not isinstance(data, dict):
        raise InputRejected(errors=[RowError(file, 1, "", "", _("the document must be a mapping of fields"))])
    return validate_model(model, data, file=file, node=node)


def validate_model(model: type[ModelT], data: dict[str, Any], *, file: str, node: Any = None) -> ModelT:
    """Validate `data`; on failure raise InputRejected with one RowError per problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_url=False):
            loc = [part for part in error["loc"] if isinstance(part, str | int)]
            errors.append(RowError(
                file=file,
                row=_line_of(node, loc),
                column=".".join(str(part) for part in loc),
                value=_shown(error.get("input")),
                reason=describe(error),
            ))
        raise InputRejected(errors=errors) from None


def describe(error: dict[str, Any]) -> str:
    """A pydantic error as a sentence in the current locale."""
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "value_error":
        # Our own validators already speak the user's language.
        return str(context.get("error", error["msg"]))
    messages = {
        "missing": _("required"),
        "extra_forbidden": _("unknown field"),
        "int_parsing": _("must be a whole number"),
        "int_type": _("must be a whole number"),
        "int_from_float": _("must be a whole number"),
        "decimal_parsing": _("must be a number"),
        "decimal_type": _("must be a number"),
        "bool_parsing": _("must be true or false"),
        "bool_type": _("must be true or false"),
        "list_type": _("must be a list"),
        "string_type": _("must be text"),
        "dict_type": _("must be a mapping of fields"),
        "model_type": _("must be a mapping of fields"),
        "literal_error": _("must be one of: {expected}").format(expected=context.get("expected", "")),
        "greater_than_equal": _("must be at least {limit}").format(limit=context.get("ge", "")),
        "less_than_equal": _("must be at most {limit}").format(limit=context.get("le", "")),
        "greater_than": _("must be more than {limit}").format(limit=context.get("gt", "")),
        "less_than": _("must be less than {limit}").format(limit=context.get("lt", "")),
    }
    return messages.get(kind, error["msg"])


def _shown(value: Any) -> str:
    if isinstance(value, dict | list):
        return ""
    return "" if value is None else str(value)


def _line_of(node: Any, loc: list[str | int]) -> int:
    """1-based line of the deepest node of `loc` found in the YAML tree (1 if unknown)."""
    line = 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            key, node = match
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
