"""ETags for records that are updated in place, so that a stale write answers 412.

A record's ETag is its version counter (the ORM's version_id_col), quoted. GET sends it;
PATCH and status changes honour `If-Match`: if the client names a version that is no
longer current, nothing is written and the answer is 412 precondition_failed. A client
that sends no If-Match writes unconditionally (documented in docs/api.md).
"""

from __future__ import annotations

from fastapi import Request, Response

from weiwai.errors import PreconditionFailed
from weiwai.i18n import _


def etag_of(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_of(version)


def check_if_match(request: Request, version: int) -> None:
    """Raise PreconditionFailed unless If-Match is absent, `*`, or names `version`."""
    header = request.headers.get("if-match")
    if header is None:
        return
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" in tags or etag_of(version) in tags:
        return
    raise PreconditionFailed(
        _("the record has changed since you read it (now version {version}); read it again and retry").format(
            version=version
        )
    )
