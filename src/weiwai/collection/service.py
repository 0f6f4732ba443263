"""The collection log (催款实施): logging an agency's actions and reading them back.

Logging works on a case the caller found through `weiwai.security.scope` (HTTP: the
principal's visible case) and locked, so actions on one case are taken one after the
other: the first action moves the case placed → working, a promise to pay moves it to
promised, and two requests carrying the same file idempotency key cannot both create an
action. `log_action` / `record_action` by case id are for the CLI, the demo and tests:
they find and lock the case through the same scope rule, as the lender or as an agency.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import LargeBinary, String, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weiwai.agencies.models import Contract
from weiwai.collection.models import CollectionAction, Outcome, PromiseStatus, PromiseToPay
from weiwai.collection.rules import PROMISE_MAX_DAYS, CaseContext, Checked, ContactRef, check_action
from weiwai.collection.schemas import ActionCreate
from weiwai.compliance import enforcement
from weiwai.db import utcnow
from weiwai.errors import Conflict, NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.placements.lifecycle import transition_case
from weiwai.placements.models import Case, CaseStatus
from weiwai.portfolio import personal_data
from weiwai.portfolio.models import Account, Debtor, DebtorContact, DebtorPhone
from weiwai.security import scope


@dataclass(frozen=True)
class Logged:
    action: CollectionAction
    created: bool  # False: the idempotency key had been used, this is the first action


def record_on_case(
    *,
    session: Session,
    case: Case,
    data: ActionCreate,
    actor: str,
    at: datetime | None = None,
    collector_user_id: int | None = None,
    promise_max_days: int = PROMISE_MAX_DAYS,
    reservation: str | None = None,
) -> Logged:
    """Log one action on `case`, which the caller may see and has locked (scope.visible_case(lock=True))."""
    if data.idempotency_key:
        existing = action_by_key(session=session, key=data.idempotency_key)
        if existing is not None:
            return Logged(action=_same_case(existing, case), created=False)
    context = load_contexts(session=session, cases=[case])[case.id]
    return record_in_context(session=session, context=context, data=data, actor=actor, at=at,
                             collector_user_id=collector_user_id, promise_max_days=promise_max_days,
                             reservation=reservation)


def record_in_context(
    *,
    session: Session,
    context: CaseContext,
    data: ActionCreate,
    actor: str,
    at: datetime | None = None,
    collector_user_id: int | None = None,
    promise_max_days: int = PROMISE_MAX_DAYS,
    reservation: str | None = None,
) -> Logged:
    """Check and log one action on the (visible, locked) case of `context` (see visible_context).

    `reservation`: the token of a pre-contact check's reservation this action uses.
    """
    at = at or utcnow()
    if data.number_ref is not None:
        attach_number_refs(session=session, contexts=[context])
    checked = check_action(
        context=context, data=data, at=at, phone_index=personal_data.phone_index, promise_max_days=promise_max_days
    )
    if checked.problems:
        raise RuleViolation("; ".join(f"{p.column}: {p.reason}" for p in checked.problems))
    # The contact check, under the debtor's lock (weiwai.compliance.enforcement): refused, or recorded.
    verdict = enforcement.enforce(session=session, context=context, data=data, checked=checked,
                                  reservation_token=reservation)
    logged = apply_action(
        session=session, context=context, data=data, checked=checked, actor=actor, at=at,
        collector_user_id=collector_user_id,
    )
    if logged.created:
        enforcement.after_logged(session=session, verdict=verdict, action=logged.action, actor=actor)
    return logged


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
    """Log one action on a case (as the agency `agency_id`, when given); a repeated key returns the first."""
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
    reservation: str | None = None,
) -> Logged:
    """As log_action, also saying whether the action was created now or replayed."""
    case = scope.visible_case(session=session, principal=acting_as(agency_id), case_id=case_id, lock=True)
    return record_on_case(
        session=session, case=case, data=data, actor=actor, at=at, collector_user_id=collector_user_id,
        promise_max_days=promise_max_days, reservation=reservation,
    )


def acting_as(agency_id: int | None):
    """The principal the CLI acts as: the lender (every case), or an agency's manager (its open cases)."""
    from weiwai.security.models import Role
    from weiwai.web.deps import Principal

    if agency_id is None:
        return Principal(user_id=None, username="cli", role=Role.admin, agency_id=None)
    return Principal(user_id=None, username="cli", role=Role.agency_manager, agency_id=agency_id)


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


def case_by_no(*, session: Session, case_no: str, agency_id: int | None = None) -> Case:
    """The case by number, as the lender or (agency_id) as that agency sees it; NotFound otherwise."""
    principal = acting_as(agency_id)
    try:
        return scope.visible_case(session=session, principal=principal, case_no=case_no)
    except NotFound:
        _note_canary(session, case_no, "action_cli", principal)
        raise


def load_contexts(*, session: Session, cases: Iterable[Case]) -> dict[int, CaseContext]:
    """What the rules need for each case: contract channels, the debtor's zone, phones and contacts."""
    cases = list(cases)
    if not cases:
        return {}
    rows = session.execute(
        _context_columns(select(Case.id)).where(Case.id.in_([case.id for case in cases]))
    ).all()
    by_id = {case.id: case for case in cases}
    return _contexts(session, [(by_id[row[0]], *row[1:]) for row in rows])


def attach_number_refs(*, session: Session, contexts: Iterable[CaseContext]) -> None:
    """Load the number references of these contexts' cases (only when an action names a number by one)."""
    from weiwai.portfolio.number_refs import refs_of_cases

    contexts = [context for context in contexts if not context.number_refs]
    if not contexts:
        return
    found = refs_of_cases(session=session, case_ids={context.case.id for context in contexts})
    for context in contexts:
        context.number_refs = {ref: target.phone_bidx for ref, target in found[context.case.id].items()}


def visible_context(*, session: Session, principal, case_no: str) -> CaseContext:
    """The case `principal` may see (weiwai.security.scope's rule), locked for update, with its rule context.

    One statement for the case and its contract and debtor, one for the numbers (with their
    envelopes, so the answer can show the number used masked without asking again): this
    runs for every action an agency logs.
    """
    row = session.execute(
        _context_columns(select(Case))
        .where(scope.case_condition(principal), Case.case_no == case_no)
        .with_for_update(of=Case)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        _note_canary(session, case_no, "action_api", principal)
        raise NotFound(_("no case {ref}").format(ref=case_no))
    return _contexts(session, [tuple(row)], with_envelopes=True)[row[0].id]


def _note_canary(session: Session, case_no: str, source: str, principal) -> None:
    """Not a case: if a canary's number, record the sighting (the caller still answers "no case")."""
    from weiwai.privacy.canaries import note_unknown_case

    note_unknown_case(session=session, case_no=case_no, source=source, actor=principal.actor,
                      agency_id=principal.agency_id)


def _context_columns(query):
    return (
        query.add_columns(Contract.permitted_channels, Debtor.id, Debtor.time_zone)
        .join(Contract, Case.contract_id == Contract.id)
        .join(Account, Case.account_id == Account.id)
        .join(Debtor, Account.debtor_id == Debtor.id)
    )


def _contexts(session: Session, rows: list[tuple], *, with_envelopes: bool = False) -> dict[int, CaseContext]:
    """Contexts of (case, channels, debtor id, time zone) rows, their numbers read in one round trip."""
    debtor_ids = {row[2] for row in rows}
    phones: dict[int, dict[int, str]] = {debtor_id: {} for debtor_id in debtor_ids}
    contacts: dict[int, dict[int, ContactRef]] = {debtor_id: {} for debtor_id in debtor_ids}
    envelopes: dict[int, dict[str, tuple[bytes, str]]] = {debtor_id: {} for debtor_id in debtor_ids}
    no_envelope = literal(None, LargeBinary)
    numbers = union_all(
        select(literal("phone").label("kind"), DebtorPhone.id, DebtorPhone.debtor_id,
               literal(None, String).label("relation"), DebtorPhone.phone_bidx,
               DebtorPhone.phone_enc if with_envelopes else no_envelope)
        .where(_one_of(DebtorPhone.debtor_id, debtor_ids)),
        select(literal("contact").label("kind"), DebtorContact.id, DebtorContact.debtor_id,
               DebtorContact.relation, DebtorContact.phone_bidx,
               DebtorContact.phone_enc if with_envelopes else no_envelope)
        .where(_one_of(DebtorContact.debtor_id, debtor_ids)),
    )
    for kind, row_id, debtor_id, relation, bidx, envelope in session.execute(numbers):
        if kind == "phone":
            phones[debtor_id][row_id] = bidx
            if envelope is not None:
                envelopes[debtor_id][bidx] = (envelope, personal_data.DEBTOR_PHONE)
        else:
            contacts[debtor_id][row_id] = ContactRef(relation=str(relation), phone_bidx=bidx)
            if envelope is not None:
                # The debtor's own phone wins over a contact sharing the number.
                envelopes[debtor_id].setdefault(bidx, (envelope, personal_data.CONTACT_PHONE))
    return {
        case.id: CaseContext(
            case=case, permitted_channels=frozenset(channels or []), time_zone=time_zone,
            debtor_phones=phones[debtor_id], contacts=contacts[debtor_id], envelopes=envelopes[debtor_id],
        )
        for case, channels, debtor_id, time_zone in rows
    }


def _one_of(column, values: set[int]):
    # `=` for the single value of an action logged over the API: a cached statement.
    return column == next(iter(values)) if len(values) == 1 else column.in_(values)


def masked_number(context: CaseContext, phone_bidx: str | None) -> str | None:
    """The number behind `phone_bidx`, masked, from the envelopes visible_context loaded."""
    if phone_bidx is None or phone_bidx not in context.envelopes:
        return None
    envelope, purpose = context.envelopes[phone_bidx]
    return personal_data.open_value(envelope, purpose, reveal=False)


def actions_of(
    *, session: Session, case: Case, channel: str | None = None, outcome: str | None = None,
    offset: int = 0, limit: int | None = None,
) -> tuple[list[CollectionAction], int]:
    """A visible case's actions in the order they happened (a page of them), and how many match."""
    conditions = [CollectionAction.case_id == case.id]
    if channel is not None:
        conditions.append(CollectionAction.channel == str(channel))
    if outcome is not None:
        conditions.append(CollectionAction.outcome == str(outcome))
    query = select(CollectionAction).where(*conditions).order_by(CollectionAction.occurred_at, CollectionAction.id)
    return _page(session, query, conditions, CollectionAction.id, offset=offset, limit=limit)


def promises_of(
    *, session: Session, case: Case, status: PromiseStatus | str | None = None, offset: int = 0,
    limit: int | None = None,
) -> tuple[list[PromiseToPay], int]:
    """A visible case's promises to pay, oldest first (a page of them), and how many match."""
    conditions = [PromiseToPay.case_id == case.id]
    if status is not None:
        conditions.append(PromiseToPay.status == str(status))
    query = select(PromiseToPay).where(*conditions).order_by(PromiseToPay.id)
    return _page(session, query, conditions, PromiseToPay.id, offset=offset, limit=limit)


def _page(session: Session, query, conditions, id_column, *, offset: int, limit: int | None):
    rows = list(session.scalars(query.offset(offset).limit(limit) if limit is not None else query.offset(offset)))
    if limit is None or (len(rows) < limit and (rows or offset == 0)):
        total = offset + len(rows)
    else:
        total = session.scalar(select(func.count(id_column)).where(*conditions))
    return rows, total


def list_actions(*, session: Session, case_id: int, agency_id: int | None = None) -> list[CollectionAction]:
    """A case's actions in the order they happened (as the lender, or as the agency `agency_id`)."""
    case = scope.visible_case(session=session, principal=acting_as(agency_id), case_id=case_id)
    return actions_of(session=session, case=case)[0]


def list_promises(*, session: Session, case_id: int, agency_id: int | None = None) -> list[PromiseToPay]:
    """A case's promises to pay, oldest first (as the lender, or as the agency `agency_id`)."""
    case = scope.visible_case(session=session, principal=acting_as(agency_id), case_id=case_id)
    return promises_of(session=session, case=case)[0]


def promises_by_action(*, session: Session, action_ids: Iterable[int]) -> dict[int, PromiseToPay]:
    ids = list(action_ids)
    if not ids:
        return {}
    return {p.action_id: p for p in session.scalars(select(PromiseToPay).where(PromiseToPay.action_id.in_(ids)))}


def masked_numbers(*, session: Session, case: Case, only: Iterable[str] | None = None) -> dict[str, str]:
    """Blind index -> masked number, for the debtor's and the contacts' phones (for showing actions).

    `only`: just these blind indexes (what the actions shown used), sparing the other decryptions.
    """
    debtor_id = select(Account.debtor_id).where(Account.id == case.account_id).scalar_subquery()
    wanted = None if only is None else sorted(set(only))
    if wanted is not None and not wanted:
        return {}
    debtor_query = select(DebtorPhone.phone_bidx, DebtorPhone.phone_enc).where(DebtorPhone.debtor_id == debtor_id)
    contact_query = select(DebtorContact.phone_bidx, DebtorContact.phone_enc).where(
        DebtorContact.debtor_id == debtor_id)
    if wanted is not None:
        debtor_query = debtor_query.where(DebtorPhone.phone_bidx.in_(wanted))
        contact_query = contact_query.where(DebtorContact.phone_bidx.in_(wanted))
    debtor_query = debtor_query.add_columns(literal(True).label("is_debtor"))
    contact_query = contact_query.add_columns(literal(False).label("is_debtor"))
    numbers: dict[str, str] = {}
    # One round trip; the debtor's own phones win over a contact sharing the number.
    rows = sorted(session.execute(union_all(debtor_query, contact_query)), key=lambda row: not row[2])
    for bidx, envelope, is_debtor in rows:
        purpose = personal_data.DEBTOR_PHONE if is_debtor else personal_data.CONTACT_PHONE
        numbers.setdefault(bidx, personal_data.open_value(envelope, purpose, reveal=False))
    return numbers
