"""Domain errors. Entrypoints map them to exit codes (CLI) or problem+json (HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field


class DomainError(Exception):
    """Base of every error a user may legitimately cause. Never shows a traceback."""

    code = "domain_error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class RuleViolation(DomainError):
    code = "rule_violation"
    http_status = 422


class IllegalTransition(DomainError):
    code = "illegal_transition"
    http_status = 409


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


@dataclass(frozen=True)
class RowError:
    """One problem in an input file, precise enough to fix without guessing."""

    file: str
    row: int  # 1-based line in the file as a person sees it (header = row 1)
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        from weiwai.i18n import _

        where = _("row {row}, column {column}, value {value}: {reason}").format(
            row=self.row, column=repr(self.column), value=repr(self.value), reason=self.reason
        )
        return f"{self.file}: {where}"


@dataclass
class InputRejected(DomainError):
    """An input file or batch was refused whole; nothing was written."""

    errors: list[RowError] = field(default_factory=list)
    code: str = "input_rejected"
    http_status: int = 422

    def __post_init__(self) -> None:
        from weiwai.i18n import _

        self.message = _("{count} error(s); nothing was written").format(count=len(self.errors))
        Exception.__init__(self, self.message)


class PreconditionFailed(DomainError):
    """An update named the version it read (If-Match) and the record has changed since."""

    code = "precondition_failed"
    http_status = 412
