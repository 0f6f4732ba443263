"""Demo logins: one per lender role, and agency users for agencies that exist.

The passwords are fixed, published demo strings. That is acceptable only because these
users are created in demo mode alone: `seed_demo_users` refuses to run otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from weiwai.config import get_settings
from weiwai.errors import RuleViolation
from weiwai.i18n import _
from weiwai.security.models import Role, User
from weiwai.security.service import create_user


class DemoUser(NamedTuple):
    username: str
    password: str
    role: Role
    display_name: str
    agency_code: str | None  # agency users only; skipped while that agency does not exist


DEMO_USERS: list[DemoUser] = [
    DemoUser("admin", "Harbor-Lamp-41", Role.admin, "王敏（系统管理员）", None),
    DemoUser("ops", "River-Stone-27", Role.operations, "李强（委外运营）", None),
    DemoUser("compliance", "Maple-Cloud-58", Role.compliance, "赵静（合规）", None),
    DemoUser("infosec", "Copper-Gate-93", Role.infosec, "孙浩（信息安全）", None),
    DemoUser("finance", "Amber-Field-16", Role.finance, "周婷（财务）", None),
    DemoUser("auditor", "Silver-Path-72", Role.auditor, "吴磊（内审）", None),
    DemoUser("huaxin_mgr", "Jade-Harbor-35", Role.agency_manager, "陈立（华信资产 经理）", "HUAXIN"),
    DemoUser("huaxin_c1", "Pine-Lantern-64", Role.collector, "何晓燕（华信资产 催收员）", "HUAXIN"),
    DemoUser("yuerong_mgr", "Coral-Ridge-19", Role.agency_manager, "黄志伟（粤融信用 经理）", "YUERONG"),
    DemoUser("yuerong_c1", "Birch-Meadow-82", Role.collector, "林小梅（粤融信用 催收员）", "YUERONG"),
]


def seed_demo_users(*, session: Session, agency_ids_by_code: Mapping[str, int]) -> list[User]:
    """Create the demo users that do not exist yet (demo mode only); return those created."""
    if not get_settings().demo_mode:
        raise RuleViolation(_("demo users are only created in demo mode"), code="not_demo_mode")
    existing = set(session.scalars(select(User.username)))
    created = []
    for demo in DEMO_USERS:
        if demo.username in existing:
            continue
        if demo.agency_code is not None and demo.agency_code not in agency_ids_by_code:
            continue
        created.append(
            create_user(
                session=session,
                username=demo.username,
                display_name=demo.display_name,
                role=demo.role,
                password=demo.password,
                agency_id=agency_ids_by_code[demo.agency_code] if demo.agency_code else None,
                actor="demo",
            )
        )
    return created
