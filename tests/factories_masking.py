"""Test data for masking and number references: an agency whose contract has a masking policy,
one open case of a debtor with known personal data, its manager, collector and API token principals."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from factories_collection import make_account, make_agency, make_case, make_contract, make_debtor, make_user, serial
from weiwai.agencies.models import Agency, Contract
from weiwai.placements.models import Case
from weiwai.portfolio.models import Debtor
from weiwai.security.models import Role
from weiwai.security.permissions import TOKEN_SCOPES
from weiwai.web.deps import Principal

ADDRESS = "广东省深圳市南山区科技园路88号"


@dataclass
class MaskedWorld:
    agency: Agency
    contract: Contract
    case: Case
    debtor: Debtor
    name: str
    nid: str
    phone: str
    contact_name: str
    contact_phone: str
    manager: Principal
    collector: Principal
    token: Principal


def unique_person() -> tuple[str, str, str, str, str]:
    """(name, national ID, phone, contact name, contact phone), all unique within the run."""
    from factories_collection import national_id

    number = serial()
    return (f"欧阳{chr(0x4E00 + number % 2000)}明", national_id(), f"186{number:08d}",
            f"司马{chr(0x5E00 + number % 2000)}兰", f"135{number:08d}")


def make_masked_world(session: Session, *, masking_policy: dict | None = None) -> MaskedWorld:
    """An agency with a usable contract (this masking policy) and one open case, assigned to its collector."""
    agency = make_agency(session)
    contract = make_contract(session, agency=agency)
    contract.masking_policy = dict(masking_policy or {})
    name, nid, phone, contact_name, contact_phone = unique_person()
    debtor = make_debtor(session, name=name, nid=nid, address=ADDRESS, phones=[phone],
                         contacts=[(contact_name, "spouse", contact_phone)])
    case = make_case(session, contract=contract, account=make_account(session, debtor=debtor))
    manager = make_user(session, role="agency_manager", agency=agency)
    collector = make_user(session, role="collector", agency=agency)
    case.collector_user_id = collector.id
    session.flush()
    return MaskedWorld(
        agency=agency, contract=contract, case=case, debtor=debtor, name=name, nid=nid, phone=phone,
        contact_name=contact_name, contact_phone=contact_phone,
        manager=Principal(user_id=manager.id, username=manager.username, role=Role.agency_manager,
                          agency_id=agency.id),
        collector=Principal(user_id=collector.id, username=collector.username, role=Role.collector,
                            agency_id=agency.id),
        token=Principal(user_id=None, username=f"tok{serial()}", role=Role.agency_manager, agency_id=agency.id,
                        token_id=serial(), scopes=TOKEN_SCOPES),
    )


def lender(role: Role) -> Principal:
    return Principal(user_id=None, username=f"{role.value}{serial()}", role=role, agency_id=None)


def principal_of(world: MaskedWorld, name: str) -> Principal:
    if name in ("agency_manager", "collector", "token"):
        return {"agency_manager": world.manager, "collector": world.collector, "token": world.token}[name]
    return lender(Role(name))
