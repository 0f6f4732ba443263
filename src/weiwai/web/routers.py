"""The routers the app mounts: the API of each domain (each carries its /api/v1 prefix),
then the web pages."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

ROUTER_MODULES = (
    "weiwai.security.routes",
    "weiwai.security.user_routes",
    "weiwai.security.token_routes",
    "weiwai.security.audit_routes",
    "weiwai.portfolio.routes",
    "weiwai.agencies.routes",
    "weiwai.placements.routes",
    "weiwai.handover.routes",
    "weiwai.collection.routes",
    "weiwai.collection.queue_routes",
    "weiwai.compliance.routes",
    "weiwai.payments.routes",
    "weiwai.settlement.routes",
    "weiwai.reports.routes",
    "weiwai.compliance.template_routes",
    "weiwai.compliance.complaint_routes",
    "weiwai.compliance.review_routes",
    "weiwai.portfolio.number_ref_routes",
    "weiwai.privacy.entrustment_routes",
    "weiwai.privacy.deletion_routes",
    "weiwai.privacy.leak_routes",
    "weiwai.privacy.infosec_routes",
    "weiwai.web.queue_pages",
    "weiwai.web.compliance_pages",
    "weiwai.web.privacy_pages",
    "weiwai.web.infosec_pages",
    "weiwai.web.pages",
)


def all_routers() -> list[APIRouter]:
    return [importlib.import_module(name).router for name in ROUTER_MODULES]
