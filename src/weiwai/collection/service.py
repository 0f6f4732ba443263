"""The collection log (催款实施): logging an agency's actions and reading them back.

Logging locks the case row, so actions on one case are taken one after the other: the
first action moves the case placed → working, a promise to pay moves it to promised,
and two requests carrying the same idempotency key cannot both create an action.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weiwai.agencies.models import Contract
from weiwai.collection.models import CollectionAction, Outcome, PromiseToPay
from weiwai.collection.rules import PROMISE_MAX_DAYS, CaseContext, Checked, ContactRef, check_action
from weiwai.collection.schemas import ActionCreate
from weiwai.db import utcnow
from weiwai.errors import Conflict, NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.placements.lifecycle import transition_case
from weiwai.placements.models import Case, CaseStatus
from weiwai.portfolio import personal_data
from weiwai.portfolio.models import Account, Debtor, DebtorContact, DebtorPhone


@dataclass(frozen=True)
class Logged:
    action: CollectionAction
    created: bool  # False: the idempotency key had been used, this is the first action


def log_action(
    *,
    session: Session,
    case_id: int,
    data: ActionCreate,
    actor: str,
    agency_id: int | None = None,
    at: datetime | None = None,
    collector_user_id: int | None = None,
    promise_max_days: int = PROMISE_MAX_DAYS,
) -> CollectionAction:
    """Log one action on a case (of `agency_id`, when an agency acts); a repeated idempotency key returns the first."""
    return record_action(
        session=session, case_id=case_id, data=data, actor=actor, agency_id=agency_id, at=at,
        collector_user_id=collector_user_id, promise_max_days=promise_max_days,
    ).action


def record_action(
    *,
    session: Session,
    case_id: int,
    data: ActionCreate,
    actor: str,
    agency_id: int | None = None,
    at: datetime | None = None,
    collector_user_id: int | None = None,
    promise_max_days: int = PROMISE_MAX_DAYS,
) -> Logged:
    """As log_action, also saying whether the action was created now or replayed."""
    at = at or utcnow()
    case = visible_case(session=session, case_id=case_id, agency_id=agency_id, lock=True)
    if data.idempotency_key:
        existing = action_by_key(session=session, key=data.idempotency_key)
        if existing is not None:
            return Logged(action=_same_case(existing, case), created=False)
    context = load_contexts(session=session, cases=[case])[case.id]
    checked = check_action(
        context=context, data=data, at=at, phone_index=personal_data.phone_index, promise_max_days=promise_max_days
    )
    if checked.problems:
        raise RuleViolation("; ".join(f"{p.column}: {p.reason}" for p in checked.problems))
    return apply_action(
        session=session, context=context, data=data, checked=checked, actor=actor, at=at,
        collector_user_id=collector_user_id,
    )


def apply_action(
    *,
    session: Session,
    context: CaseContext,
    data: ActionCreate,
    checked: Checked,
    actor: str,
    at: datetime,
    collector_user_id: int | None = None,
) -> Logged:
    """Write an action that passed the checks, its promise, and the case's move."""
    case = context.case
    action = CollectionAction(
        case_id=case.id, account_id=case.account_id, agency_id=case.agency_id,
        collector_user_id=collector_user_id, channel=str(data.channel), occurred_at=data.occurred_at,
        party=str(data.party), contact_id=data.contact_id, relation=checked.relation,
        phone_bidx=checked.phone_bidx, outcome=str(data.outcome), notes=data.notes, line_ref=data.line_ref,
        recording_ref=data.recording_ref, credential_ref=data.credential_ref, recorded_by=actor,
        recorded_at=at, idempotency_key=data.idempotency_key,
    )
    if data.idempotency_key:
        # The same key may be racing on another case (the case lock does not cover that):
        # the unique index decides, and the loser returns the winner's action.
        try:
            with session.begin_nested():
                session.add(action)
                session.flush()
        except IntegrityError:
            existing = action_by_key(session=session, key=data.idempotency_key)
            if existing is None:
                raise
            return Logged(action=_same_case(existing, case), created=False)
    else:
        session.add(action)
        session.flush()
    if data.outcome == Outcome.promise_to_pay:
        session.add(PromiseToPay(
            action_id=action.id, case_id=case.id, account_id=case.account_id, amount=data.promise_amount,
            promised_on=checked.action_day, due_on=data.promise_due_on,
        ))
        if case.status != CaseStatus.promised:
            transition_case(session=session, case=case, to=CaseStatus.promised, actor=actor, at=at,
                            reason=_("promise to pay {amount} by {day}").format(
                                amount=data.promise_amount, day=data.promise_due_on.isoformat()))
    elif case.status == CaseStatus.placed:
        transition_case(session=session, case=case, to=CaseStatus.working, actor=actor, at=at,
                        reason=_("first action logged"))
    session.flush()
    return Logged(action=action, created=True)


def _same_case(existing: CollectionAction, case: Case) -> CollectionAction:
    if existing.case_id != case.id:
        raise Conflict(_("idempotency key {key} was already used for another action").format(
            key=existing.idempotency_key))
    return existing


def action_by_key(*, session: Session, key: str) -> CollectionAction | None:
    return session.scalars(select(CollectionAction).where(CollectionAction.idempotency_key == key)).first()


def visible_case(*, session: Session, case_id: int, agency_id: int | None = None, lock: bool = False) -> Case:
    """The case, if it exists and (when an agency asks) is that agency's: 404 alike otherwise."""
    query = select(Case).where(Case.id == case_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    case = session.scalars(query).first()
    if case is None or (agency_id is not None and case.agency_id != agency_id):
        raise NotFound(_("no case {ref}").format(ref=case_id))
    return case


def case_by_no(*, session: Session, case_no: str, agency_id: int | None = None) -> Case:
    case = session.scalars(select(Case).where(Case.case_no == case_no)).first()
    if case is None or (agency_id is not None and case.agency_id != agency_id):
        raise NotFound(_("no case {ref}").format(ref=case_no))
    return case


def load_contexts(*, session: Session, cases: Iterable[Case]) -> dict[int, CaseContext]:
    """What the rules need for each case: contract channels, the debtor's zone, phones and contacts."""
    cases = list(cases)
    if not cases:
        return {}
    rows = session.execute(
        select(Case.id, Contract.permitted_channels, Debtor.id, Debtor.time_zone)
        .join(Contract, Case.contract_id == Contract.id)
        .join(Account, Case.account_id == Account.id)
        .join(Debtor, Account.debtor_id == Debtor.id)
        .where(Case.id.in_([case.id for case in cases]))
    ).all()
    debtor_ids = {row[2] for row in rows}
    phones: dict[int, dict[int, str]] = {debtor_id: {} for debtor_id in debtor_ids}
    for phone_id, debtor_id, bidx in session.execute(
        select(DebtorPhone.id, DebtorPhone.debtor_id, DebtorPhone.phone_bidx).where(
            DebtorPhone.debtor_id.in_(debtor_ids))
    ):
        phones[debtor_id][phone_id] = bidx
    contacts: dict[int, dict[int, ContactRef]] = {debtor_id: {} for debtor_id in debtor_ids}
    for contact_id, debtor_id, relation, bidx in session.execute(
        select(DebtorContact.id, DebtorContact.debtor_id, DebtorContact.relation, DebtorContact.phone_bidx).where(
            DebtorContact.debtor_id.in_(debtor_ids))
    ):
        contacts[debtor_id][contact_id] = ContactRef(relation=str(relation), phone_bidx=bidx)
    by_id = {case.id: case for case in cases}
    return {
        case_id: CaseContext(
            case=by_id[case_id], permitted_channels=frozenset(channels or []), time_zone=time_zone,
            debtor_phones=phones[debtor_id], contacts=contacts[debtor_id],
        )
        for case_id, channels, debtor_id, time_zone in rows
    }


def list_actions(*, session: Session, case_id: int, agency_id: int | None = None) -> list[CollectionAction]:
    """A case's actions in the order they happened."""
    case = visible_case(session=session, case_id=case_id, agency_id=agency_id)
    return list(session.scalars(
        select(CollectionAction).where(CollectionAction.case_id == case.id)
        .order_by(CollectionAction.occurred_at, CollectionAction.id)
    ))


def list_promises(*, session: Session, case_id: int, agency_id: int | None = None) -> list[PromiseToPay]:
    """A case's promises to pay, oldest first."""
    case = visible_case(session=session, case_id=case_id, agency_id=agency_id)
    return list(session.scalars(
        select(PromiseToPay).where(PromiseToPay.case_id == case.id).order_by(PromiseToPay.id)
    ))


def promises_by_action(*, session: Session, action_ids: Iterable[int]) -> dict[int, PromiseToPay]:
    ids = list(action_ids)
    if not ids:
        return {}
    return {p.action_id: p for p in session.scalars(select(PromiseToPay).where(PromiseToPay.action_id.in_(ids)))}


def masked_numbers(*, session: Session, case: Case) -> dict[str, str]:
    """Blind index -> masked number, for the debtor's and the contacts' phones (for showing actions)."""
    debtor_id = session.scalar(select(Account.debtor_id).where(Account.id == case.account_id))
    numbers: dict[str, str] = {}
    for bidx, envelope in session.execute(
        select(DebtorPhone.phone_bidx, DebtorPhone.phone_enc).where(DebtorPhone.debtor_id == debtor_id)
    ):
        numbers[bidx] = personal_data.open_value(envelope, personal_data.DEBTOR_PHONE, reveal=False)
    for bidx, envelope in session.execute(
        select(DebtorContact.phone_bidx, DebtorContact.phone_enc).where(DebtorContact.debtor_id == debtor_id)
    ):
        numbers.setdefault(bidx, personal_data.open_value(envelope, personal_data.CONTACT_PHONE, reveal=False))
    return numbers
