"""The server under benchmark: the real weiwai app, plus one bare endpoint for the baseline.

`uvicorn --factory bench_api_app:create` serves exactly what `weiwai serve` serves, with
`POST /bench/bare` added: it parses the same JSON body as an action and does one INSERT
through the same per-request session and commit (a sync route in the same thread pool,
like the action route), and nothing else: no authentication, authorisation or checks.
The table it writes is created by bench_api.py.
"""

from __future__ import annotations

import json

from sqlalchemy import text

from weiwai.web.app import create_app
from weiwai.web.deps import SessionDep


def create():
    app = create_app()

    @app.post("/bench/bare", status_code=201)
    def bare(body: dict, session: SessionDep) -> dict:
        new_id = session.execute(
            text("INSERT INTO bench_bare (payload) VALUES (:payload) RETURNING id"), {"payload": json.dumps(body)}
        ).scalar_one()
        return {"id": new_id}

    return app
