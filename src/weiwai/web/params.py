"""Path and query parameters naming a row by its id: bounded to what an id column can hold.

Ids are INTEGER columns (32-bit on PostgreSQL); an unbounded `int` parameter lets a client
send 10**30, which SQLite refuses with OverflowError (a 500) instead of "not found". With
these types such a request is a 422 validation error, like any other malformed input.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

MAX_ID = 2_147_483_647

RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="The row's id.")]
OptionalRowId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
# An id inside a request body.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# A reference a person or another system types (a number, a code, a region): printable, at
# most 100 characters. PostgreSQL cannot compare text holding NUL bytes (a 500 otherwise),
# and no reference contains control characters.
REF_PATTERN = r"^[^\x00-\x1f\x7f]+$"
PathRef = Annotated[str, Path(min_length=1, max_length=100, pattern=REF_PATTERN)]
QueryRef = Annotated[str | None, Query(min_length=1, max_length=100, pattern=REF_PATTERN)]
