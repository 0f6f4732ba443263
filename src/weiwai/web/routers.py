"""The list of routers the app mounts: API routers of each domain, then web pages."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

# (module, attribute). API routers carry their own /api/v1/... prefix.
ROUTERS = [
    ("weiwai.portfolio.routes", "router"),
    ("weiwai.agencies.routes", "router"),
    ("weiwai.security.routes", "router"),
    ("weiwai.web.pages", "router"),
]


def all_routers() -> list[APIRouter]:
    found = []
    for module_name, attribute in ROUTERS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        found.append(getattr(module, attribute))
    return found
