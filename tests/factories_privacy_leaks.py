"""Test data for canaries, leak tracing and infosec reviews (engineer D): agencies with packages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from factories_collection import make_account, make_agency, make_batch, make_case, make_contract, make_debtor, mobile
from weiwai.agencies.models import Agency, Contract
from weiwai.placements.models import Case

AT = datetime(2024, 3, 10, 2, 0, tzinfo=UTC)


def ensure_entrustment(session: Session, contract: Contract) -> None:
    """The contract's entrustment in force (PIPL art. 21), if this build records entrustments."""
    try:
        from weiwai.privacy.entrustment import entrustment_of_contract, record_for_contract
    except ImportError:  # pragma: no cover - before entrustments exist
        return
    if entrustment_of_contract(session=session, contract_id=contract.id) is None:
        record_for_contract(session=session, contract=contract, actor="test")
        session.flush()


@dataclass
class AgencyBook:
    agency: Agency
    contract: Contract
    cases: list[Case] = field(default_factory=list)


def make_book(session: Session, *, cases: int = 6, handover_fields: dict | None = None) -> AgencyBook:
    """An active agency, a usable contract (with its entrustment) and `cases` open cases in one batch."""
    agency = make_agency(session)
    contract = make_contract(session, agency=agency, handover_fields=handover_fields)
    ensure_entrustment(session, contract)
    batch = make_batch(session)
    book = AgencyBook(agency=agency, contract=contract)
    for _number in range(cases):
        debtor = make_debtor(session, phones=[mobile()], contacts=[("王五", "spouse", mobile())])
        book.cases.append(make_case(session, contract=contract, account=make_account(session, debtor=debtor),
                                    batch=batch))
    return book


def make_package(session: Session, book: AgencyBook, out_dir: Path, *, at: datetime = AT):
    from weiwai.handover import service

    return service.create_package(session=session, contract_no=book.contract.contract_no, out_dir=out_dir,
                                  actor="user:ops", at=at)
