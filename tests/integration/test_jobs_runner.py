"""The jobs runner on SQLite and PostgreSQL: every due job once per day, a failing job
leaves no trace, and the registry others add their jobs to."""

import time
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from weiwai.jobs import registry
from weiwai.jobs.models import JobRun
from weiwai.jobs.runner import job_history, run_due_jobs, run_job
from weiwai.jobs.scheduler import BackgroundScheduler

DAY = date(2024, 3, 31)


@pytest.fixture
def calls():
    return []


@pytest.fixture
def counting_job(calls):
    def count_things(*, session, run_for):
        calls.append(run_for)
        return {"counted": len(calls), "on": run_for}

    job = registry.register("test_count_things", count_things, order=90)
    yield job
    registry.unregister("test_count_things")


@pytest.fixture
def savepoint_scope(session):
    """Stands in for session_scope(): each job in a savepoint of the test's transaction."""

    @contextmanager
    def scope():
        with session.begin_nested():
            yield session

    return scope


def runs(session, name):
    return session.scalar(select(func.count()).select_from(JobRun).where(JobRun.job == name))


def test_a_job_runs_once_per_day(session, counting_job, calls):
    first = run_job(session=session, job=counting_job, run_for=DAY)
    assert first.status == "ran" and first.result == {"counted": 1, "on": "2024-03-31"}
    again = run_job(session=session, job=counting_job, run_for=DAY)
    assert again.status == "already_ran" and calls == [DAY]
    assert run_job(session=session, job=counting_job, run_for=date(2024, 4, 1)).status == "ran"
    assert runs(session, "test_count_things") == 2
    stored = session.scalar(select(JobRun).where(JobRun.job == "test_count_things", JobRun.run_for == DAY))
    assert stored.result == {"counted": 1, "on": "2024-03-31"} and stored.finished_at is not None


def test_run_due_jobs_runs_every_due_job_in_order_and_skips_what_ran(session, savepoint_scope, calls):
    order = []

    def late(*, session, run_for):
        order.append("late")
        return {}

    def early(*, session, run_for):
        order.append("early")
        return {}

    registry.register("test_late", late, order=95)
    registry.register("test_early", early, order=1)
    registry.register("test_month", lambda *, session, run_for: {}, order=2, due=registry.month_start)
    try:
        outcomes = {o.job: o.status for o in run_due_jobs(run_for=DAY, scope=savepoint_scope)}
        assert outcomes["test_early"] == outcomes["test_late"] == "ran"
        assert outcomes["test_month"] == "not_due" and outcomes["expire_cases"] == "ran"
        assert order == ["early", "late"]
        again = {o.job: o.status for o in run_due_jobs(run_for=DAY, scope=savepoint_scope)}
        assert again["test_early"] == again["test_late"] == again["expire_cases"] == "already_ran"
        assert order == ["early", "late"]
        assert run_due_jobs(run_for=date(2024, 4, 1), only=["test_month"], scope=savepoint_scope)[0].status == "ran"
    finally:
        for name in ("test_late", "test_early", "test_month"):
            registry.unregister(name)


def test_a_failing_job_leaves_no_record_and_does_not_stop_the_others(session, savepoint_scope, counting_job):
    def broken(*, session, run_for):
        session.add(JobRun(job="written_by_broken_job", run_for=run_for, result={}))
        session.flush()
        raise RuntimeError("boom")

    registry.register("test_broken", broken, order=50)
    try:
        outcomes = {o.job: o for o in run_due_jobs(run_for=DAY, scope=savepoint_scope)}
        assert outcomes["test_broken"].status == "failed" and "boom" in outcomes["test_broken"].error
        assert outcomes["test_count_things"].status == "ran"
        assert runs(session, "test_broken") == 0 and runs(session, "written_by_broken_job") == 0
        # It is tried again on the next run.
        retry = run_due_jobs(run_for=DAY, only=["test_broken"], scope=savepoint_scope)
        assert retry[0].status == "failed"
    finally:
        registry.unregister("test_broken")


def test_another_runner_that_claimed_the_day_wins(session, counting_job, calls):
    session.add(JobRun(job="test_count_things", run_for=DAY, result={}, started_at=datetime(2024, 3, 31, tzinfo=UTC)))
    session.flush()
    assert run_job(session=session, job=counting_job, run_for=DAY).status == "already_ran"
    assert calls == []


def test_history_lists_the_latest_runs(session, counting_job):
    for day in (date(2024, 3, 29), date(2024, 3, 31), date(2024, 3, 30)):
        run_job(session=session, job=counting_job, run_for=day)
    history = job_history(session=session, job="test_count_things", limit=2)
    assert [run.run_for for run in history] == [date(2024, 3, 31), date(2024, 3, 30)]


def test_registry_refuses_a_second_function_under_a_taken_name(counting_job):
    def impostor(*, session, run_for):
        return {}

    with pytest.raises(ValueError, match="already registered"):
        registry.register("test_count_things", impostor, order=1)
    # The same function again (a module imported twice) is fine.
    assert registry.register("test_count_things", counting_job.func, order=90).name == "test_count_things"


def test_the_expiry_job_runs_before_the_jobs_that_look_at_ended_cases():
    jobs = {job.name: job for job in registry.registered_jobs()}
    assert jobs["expire_cases"].order == 10 and jobs["expire_cases"].due(DAY)
    for later in ("evaluate_promises",):
        if later in jobs:
            assert jobs[later].order > jobs["expire_cases"].order


def test_scheduler_runs_due_jobs_for_today_and_survives_failures():
    seen = []

    def fake_run(*, run_for):
        seen.append(run_for)
        if len(seen) == 1:
            raise RuntimeError("database down")
        return []

    scheduler = BackgroundScheduler(poll_seconds=0.01, today=lambda: DAY, run=fake_run)
    assert scheduler.tick() == [] and scheduler.tick() == []
    scheduler.start()
    try:
        for _ in range(500):
            if len(seen) >= 5:
                break
            time.sleep(0.01)
        assert scheduler.running
    finally:
        scheduler.stop()
    assert not scheduler.running and len(seen) >= 5 and set(seen) == {DAY}


def test_scheduler_is_off_unless_started():
    from weiwai.jobs import scheduler

    assert scheduler._scheduler is None
