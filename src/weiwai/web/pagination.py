"""Paging of list endpoints: `offset` and `limit` query parameters, and `Page[T]` answers."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50

Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Rows to return (at most 500).")]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: the rows, and how many there are in all."""

    items: list[T]
    total: int
    offset: int = 0
    limit: int = DEFAULT_PAGE_SIZE
