"""A simulated outsourcing cycle over the demo book, through the real services.

The lender screens and places its book with the active agencies, hands each contract its
package, and the agencies work their cases day by day: calls and texts, right-party
contacts, promises to pay. Debtors pay according to their own propensity and the skill
of the agency holding their case, so recovery differs between agencies for real reasons
(segment skill, region fit), and scorecards show it. Payments arrive as the lender's
daily payment files, promises are evaluated, a few cases are recalled, month end
computes commission and issues statements, and scorecards are stored.
"""

from __future__ import annotations

import random
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency
from weiwai.collection.models import Outcome, Party
from weiwai.demo.agencies_gen import AGENCIES
from weiwai.demo.files import write_csv
from weiwai.demo.payments_gen import PAYMENT_COLUMNS
from weiwai.money import to_fen
from weiwai.placements.models import Case, CaseStatus
from weiwai.portfolio.models import Account, Debtor, DebtorPhone

ACTOR = "demo"
SHANGHAI = ZoneInfo("Asia/Shanghai")
GRADE_PROPENSITY = {"A": 0.55, "B": 0.45, "C": 0.33, "D": 0.22, "E": 0.14}
RULES = {
    "dpd": {"min": 1},
    "balance": {"min": "300.00"},
    "exclude": {
        "deceased": True, "bankrupt": True, "litigation": True, "disputed": True, "cease_contact": True,
        "vulnerable": True, "open_complaint": True, "in_house_hold": True, "cooling_off_days": 60,
    },
}


@dataclass
class SimCase:
    case_id: int
    case_no: str
    account_id: int
    agency_code: str
    skill: float
    propensity: float
    outstanding: Decimal
    phone_id: int | None
    status: str = CaseStatus.placed.value
    failed_attempts: int = 0


@dataclass
class CycleReport:
    batch_no: str
    cases: int
    actions: int = 0
    promises: int = 0
    payments: int = 0
    recalled: int = 0
    statements_issued: list[str] = field(default_factory=list)
    scorecards: int = 0


def run_cycle(*, session: Session, today: date, days: int, seed: int, work_dir: Path,
              say=lambda _message: None) -> CycleReport:
    """Place the book `days` before `today`, then live through every day up to `today`."""
    from weiwai.placements.batches import confirm_batch, create_batch
    from weiwai.placements.schemas import ScreeningRules
    from weiwai.placements.screening_service import save_rule_set
    from weiwai.placements.strategy import StrategySpec

    rng = random.Random(seed * 31 + 7)
    start = today - timedelta(days=days)
    say(f"screening and placing the book as of {start}")
    rule_set, _created = save_rule_set(session=session, rules=ScreeningRules.model_validate(RULES),
                                       name="demo-all-buckets", actor=ACTOR)
    strategy = StrategySpec(name="champion_challenger", seed=seed, params={
        "champion": {"name": "region_match", "params": {"split": "capacity_weighted"}},
        "challenger": {"name": "capacity_weighted"},
        "challenger_share": "0.2",
    })
    placed_at = _moment(start, 9, 30)
    batch = create_batch(session=session, rule_set=rule_set, strategy=strategy, as_of=start, actor=ACTOR)
    confirm_batch(session=session, batch_no=batch.batch_no, actor=ACTOR, at=placed_at)
    cases = _load_cases(session=session, batch_id=batch.id, rng=rng)
    report = CycleReport(batch_no=batch.batch_no, cases=len(cases))
    _hand_over(session=session, batch_no=batch.batch_no, out_dir=work_dir / "handover", at=placed_at)
    # Each agency's managers share its cases among its collectors, so demo collectors have a queue.
    from weiwai.collection.assignment import distribute_everywhere

    distribute_everywhere(session=session, actor="demo:managers", today=start, at=placed_at)

    due_payments: dict[date, list[tuple[SimCase, Decimal]]] = defaultdict(list)
    txn_counter = 0
    for offset in range(days):
        day = start + timedelta(days=offset)
        if day.day == 1 and offset > 0:
            report.statements_issued += _month_end(session=session, day=day, out_dir=work_dir / "statements")
        for case in cases:
            if case.status not in ("placed", "working", "promised"):
                continue
            if rng.random() < _work_probability(offset, days):
                promise = _work_case(session=session, case=case, day=day, rng=rng, report=report)
                if promise is not None:
                    amount, due_on = promise
                    if rng.random() < min(0.85, 0.2 + case.propensity * case.skill):
                        pay_day = day + timedelta(days=rng.randint(0, (due_on - day).days))
                        due_payments[pay_day].append((case, amount))
                    elif rng.random() < 0.3:
                        due_payments[due_on].append((case, to_fen(amount / 2)))
            elif rng.random() < 0.002 * case.propensity:
                due_payments[day].append((case, to_fen(case.outstanding * Decimal("0.1"))))
        todays = [(c, a) for c, a in due_payments.pop(day, []) if a > 0]
        if todays:
            txn_counter = _post_payments(session=session, day=day, payments=todays, counter=txn_counter,
                                         rng=rng, work_dir=work_dir)
            report.payments += len(todays)
            _refresh_status(session=session, cases=cases)
        report.recalled += _recall_disputes(session=session, cases=cases, day=day, rng=rng)
        _evaluate_promises(session=session, day=day)
        _refresh_status(session=session, cases=cases)
    report.scorecards = _scorecards(session=session, today=today)
    return report


def _moment(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI).astimezone(UTC)


def _work_probability(offset: int, days: int) -> float:
    # Agencies work hardest early in the placement period, then settle into a rhythm.
    return 0.45 if offset < 7 else 0.22 if offset < days // 2 else 0.15


def _load_cases(*, session: Session, batch_id: int, rng: random.Random) -> list[SimCase]:
    skills = {a.code: a.skill for a in AGENCIES}
    codes = dict(session.execute(select(Agency.id, Agency.code)).all())
    rows = session.execute(
        select(Case.id, Case.case_no, Case.account_id, Case.agency_id, Case.bucket, Case.balance_placed,
               Debtor.credit_grade, Debtor.id)
        .join(Account, Account.id == Case.account_id).join(Debtor, Debtor.id == Account.debtor_id)
        .where(Case.batch_id == batch_id).order_by(Case.id)
    ).all()
    phones = dict(session.execute(
        select(DebtorPhone.debtor_id, DebtorPhone.id).where(DebtorPhone.is_primary.is_(True))
    ).all())
    cases = []
    for case_id, case_no, account_id, agency_id, bucket, balance, grade, debtor_id in rows:
        group = "early" if bucket in ("M1", "M2") else "mid" if bucket in ("M3", "M4") else "late"
        decay = {"early": 1.0, "mid": 0.7, "late": 0.45}[group]
        code = codes[agency_id]
        cases.append(SimCase(
            case_id=case_id, case_no=case_no, account_id=account_id, agency_code=code,
            skill=skills.get(code, {}).get(group, 1.0),
            propensity=GRADE_PROPENSITY.get(grade, 0.2) * decay * rng.uniform(0.5, 1.5),
            outstanding=balance, phone_id=phones.get(debtor_id),
        ))
    return cases


def _hand_over(*, session: Session, batch_no: str, out_dir: Path, at: datetime) -> None:
    from weiwai.handover.service import create_package
    from weiwai.placements.models import PlacementBatch

    batch = session.scalar(select(PlacementBatch).where(PlacementBatch.batch_no == batch_no))
    contract_nos = session.scalars(
        select(Case.contract_id).where(Case.batch_id == batch.id).distinct()
    ).all()
    from weiwai.agencies.models import Contract

    for contract_id in sorted(contract_nos):
        contract = session.get(Contract, contract_id)
        create_package(session=session, contract_no=contract.contract_no, batch_no=batch_no, out_dir=out_dir,
                       actor=ACTOR, at=at)


def _work_case(*, session: Session, case: SimCase, day: date, rng: random.Random,
               report: CycleReport) -> tuple[Decimal, date] | None:
    """One attempt on a case; returns (amount, due day) when the debtor promised to pay."""
    from weiwai.collection.schemas import ActionCreate
    from weiwai.collection.service import log_action

    at = _moment(day, rng.randint(10, 19), rng.randint(0, 59))  # after the 09:30 placement
    if rng.random() < 0.15:
        data = ActionCreate(channel="sms", occurred_at=at, party=Party.debtor, phone_id=case.phone_id,
                            outcome=Outcome.sms_sent, line_ref=f"SMS-{case.agency_code}")
        log_action(session=session, case_id=case.case_id, data=data, actor=f"demo:{case.agency_code}", at=at)
        report.actions += 1
        return None
    promise = None
    reach = 0.25 * case.skill * (0.6 if case.failed_attempts > 5 else 1.0)
    extra: dict = {}
    if rng.random() < reach:
        if rng.random() < min(0.8, case.propensity * case.skill * 1.2):
            amount = to_fen(case.outstanding * Decimal(str(rng.choice((0.2, 0.3, 0.5, 1.0)))))
            due_on = day + timedelta(days=rng.randint(1, 7))
            outcome, extra = Outcome.promise_to_pay, {"promise_amount": amount, "promise_due_on": due_on}
            promise = (amount, due_on)
            report.promises += 1
        else:
            outcome = rng.choices(
                (Outcome.refused_to_pay, Outcome.hardship_claimed, Outcome.callback_requested,
                 Outcome.dispute_raised, Outcome.claims_paid),
                weights=(45, 20, 25, 4, 6))[0]
        case.failed_attempts = 0
    else:
        outcome = rng.choices((Outcome.no_answer, Outcome.busy, Outcome.powered_off, Outcome.left_message),
                              weights=(55, 15, 18, 12))[0]
        case.failed_attempts += 1
    data = ActionCreate(channel="phone", occurred_at=at, party=Party.debtor, phone_id=case.phone_id,
                        outcome=outcome, line_ref=f"LINE-{case.agency_code}-01",
                        recording_ref=f"REC-{case.case_no}-{day:%Y%m%d}", **extra)
    log_action(session=session, case_id=case.case_id, data=data, actor=f"demo:{case.agency_code}", at=at)
    report.actions += 1
    if outcome == Outcome.dispute_raised:
        case.status = "dispute"  # recalled at the end of the day
    return promise


def _post_payments(*, session: Session, day: date, payments: list[tuple[SimCase, Decimal]], counter: int,
                   rng: random.Random, work_dir: Path) -> int:
    """The lender's payment file of the day, imported and attributed like any other."""
    from weiwai.payments.service import attribute_payments
    from weiwai.portfolio.importing import import_payments

    account_nos = dict(session.execute(
        select(Account.id, Account.account_no).where(Account.id.in_({c.account_id for c, _ in payments}))
    ).all())
    rows = []
    for case, amount in payments:
        counter += 1
        paid_at = datetime.combine(day, time(rng.randint(8, 22), rng.randint(0, 59)))
        rows.append({"txn_id": f"SIM{day:%Y%m%d}{counter:07d}", "account_no": account_nos[case.account_id],
                     "amount": str(min(amount, case.outstanding) if case.outstanding > 0 else amount),
                     "paid_at": paid_at.isoformat(sep=" "), "channel": "bank_transfer"})
        case.outstanding = max(Decimal("0.00"), case.outstanding - amount)
    path = write_csv(work_dir / "payments" / f"payments-{day:%Y%m%d}.csv", PAYMENT_COLUMNS, rows)
    import_payments(session=session, path=path, actor=ACTOR)
    attribute_payments(session=session)
    return counter


def _refresh_status(*, session: Session, cases: list[SimCase]) -> None:
    statuses = dict(session.execute(select(Case.id, Case.status).where(
        Case.id.in_([c.case_id for c in cases if c.status != "dispute"])
    )).all())
    for case in cases:
        if case.case_id in statuses:
            case.status = statuses[case.case_id]


def _recall_disputes(*, session: Session, cases: list[SimCase], day: date, rng: random.Random) -> int:
    from weiwai.placements.cases import recall_cases

    disputed = [c for c in cases if c.status == "dispute"]
    if not disputed:
        return 0
    # A dispute raised on a day the debtor also paid off may already have closed the case.
    still_open = set(session.scalars(select(Case.id).where(
        Case.id.in_([c.case_id for c in disputed]),
        Case.status.in_([CaseStatus.placed.value, CaseStatus.working.value, CaseStatus.promised.value]),
    )))
    for case in disputed:
        case.status = CaseStatus.closed.value
    disputed = [c for c in disputed if c.case_id in still_open]
    if not disputed:
        return 0
    recall_cases(session=session, case_nos=[c.case_no for c in disputed], actor="demo:ops",
                 reason="债务人提出异议，收回核实", at=_moment(day, 20, 30))
    return len(disputed)


def _evaluate_promises(*, session: Session, day: date) -> None:
    from weiwai.collection.promise_service import evaluate_due_promises

    evaluate_due_promises(session=session, as_of=day, at=_moment(day, 23, 30))


def _month_end(*, session: Session, day: date, out_dir: Path) -> list[str]:
    from weiwai.settlement.periods import period_of_day, previous_period
    from weiwai.settlement.service import run_period
    from weiwai.settlement.statements import issue_statement

    run = run_period(session=session, period=previous_period(period_of_day(day)))
    issued = []
    for statement in run.statements:
        issue_statement(session=session, statement_id=statement.id, actor="demo:finance", out_dir=out_dir,
                        at=_moment(day, 10))
        issued.append(statement.statement_no)
    return issued


def _scorecards(*, session: Session, today: date) -> int:
    from weiwai.reports.scorecards import store_active_scorecards

    result = store_active_scorecards(session=session, as_of=today - timedelta(days=1), at=_moment(today, 1))
    return int(result.get("scorecards", 0)) if isinstance(result, dict) else 0


def default_work_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="weiwai-demo-"))
