"""End of entrustment on SQLite and PostgreSQL: access ends at recall, deletion dues and
certificates, the deletion_overdue block, and the lender's retention purge."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from factories_collection import (  # noqa: F401  (english_messages is autouse)
    english_messages,
    make_account,
    make_case,
    make_debtor,
    make_payment,
    make_user,
    make_world,
)
from factories_privacy import privacy_client
from weiwai.clock import today_local
from weiwai.compliance.models import LenderNotice, PlacementBlock
from weiwai.errors import NotFound, RuleViolation
from weiwai.handover import service as handover
from weiwai.placements.agencies_view import agency_view
from weiwai.placements.cases import recall_cases
from weiwai.portfolio import personal_data
from weiwai.portfolio.models import AccountStatus, Debtor, DebtorContact, DebtorPhone
from weiwai.privacy import deletion, retention
from weiwai.privacy.deletion import CertificateCreate
from weiwai.privacy.entrustment import EntrustmentUpdate, entrustment_of_contract, update_entrustment
from weiwai.privacy.models import DeletionDue, RetentionPurge
from weiwai.security.models import AuditEvent

AT = datetime(2024, 3, 10, 2, 0, tzinfo=UTC)
RECALLED_AT = datetime(2024, 6, 1, 17, 0, tzinfo=UTC)  # 2024-06-02 01:00 in Shanghai


def released(session, tmp_path, cases=1):
    world = make_world(session)
    extra = [make_case(session, contract=world.contract) for _ in range(cases - 1)]
    package = handover.create_package(session=session, contract_no=world.contract.contract_no, out_dir=tmp_path,
                                      actor="user:ops", at=AT)
    return world, [world.case, *extra], package


def certificate(package_ids, deleted_on, **changes):
    data = {"package_ids": package_ids, "deleted_on": deleted_on, "method": "secure_erase",
            "signed_by_name": "张三", "signed_by_title": "信息安全负责人", "statement": "已删除全部副本", **changes}
    return CertificateCreate.model_validate(data)


def test_access_ends_at_recall_through_the_api(session, tmp_path):
    world, _cases, _package = released(session, tmp_path)
    manager = privacy_client(session, make_user(session, role="agency_manager", agency=world.agency))
    ops = privacy_client(session, make_user(session, role="operations"))
    case_no = world.case.case_no
    assert manager.get(f"/api/v1/cases/{case_no}").status_code == 200
    debtor_before = manager.get(f"/api/v1/cases/{case_no}/debtor").status_code
    assert ops.post("/api/v1/cases/recall", json={"case_nos": [case_no], "reason": "投诉"}).status_code == 200
    assert manager.get(f"/api/v1/cases/{case_no}").status_code == 404
    assert manager.get(f"/api/v1/cases/{case_no}/actions").status_code == 404
    if debtor_before == 200:  # the case's debtor (number references, engineer A's route)
        assert manager.get(f"/api/v1/cases/{case_no}/debtor").status_code == 404
    assert ops.get(f"/api/v1/cases/{case_no}").status_code == 200  # the lender still sees it


def test_dues_are_recorded_once_for_ended_cases_due_after_the_retention_days(session, tmp_path):
    world, (first, second), package = released(session, tmp_path, cases=2)
    assert deletion.create_due_rows(session=session, on=date(2024, 6, 2)) == 0  # nothing ended yet
    recall_cases(session=session, reason="投诉", actor="user:ops", case_nos=[first.case_no], at=RECALLED_AT)
    assert deletion.create_due_rows(session=session, on=date(2024, 6, 2)) == 1
    assert deletion.create_due_rows(session=session, on=date(2024, 6, 3)) == 0  # idempotent
    due = session.scalars(select(DeletionDue)).one()
    assert (due.package_id, due.case_id, due.agency_id) == (package.id, first.id, world.agency.id)
    assert due.due_on == date(2024, 6, 2) + timedelta(days=30)  # local day of the recall + retention days
    # The entrustment's retention days decide (it is authoritative once recorded).
    update_entrustment(session=session, actor="user:dpo", data=EntrustmentUpdate(retention_days=7),
                       entrustment=entrustment_of_contract(session=session, contract_id=world.contract.id))
    recall_cases(session=session, reason="到期", actor="user:ops", case_nos=[second.case_no], at=RECALLED_AT)
    assert deletion.create_due_rows(session=session, on=date(2024, 6, 2)) == 1
    rows, total = deletion.list_dues(session=session, today=date(2024, 6, 10), agency_id=world.agency.id)
    assert total == 2 and [(r.case_no, r.due_on, r.overdue) for r in rows] == [
        (second.case_no, date(2024, 6, 9), True), (first.case_no, date(2024, 7, 2), False)]
    assert deletion.list_dues(session=session, today=date(2024, 6, 10), overdue=True)[1] == 1


def test_overdue_dues_block_placements_until_a_certificate_covers_them(session, tmp_path):
    world, (case,), package = released(session, tmp_path)
    recall_cases(session=session, reason="投诉", actor="user:ops", case_nos=[case.case_no], at=RECALLED_AT)
    deletion.create_due_rows(session=session, on=date(2024, 6, 2))
    assert deletion.refresh_overdue_blocks(session=session, today=date(2024, 7, 2))["blocks_created"] == 0
    assert deletion.refresh_overdue_blocks(session=session, today=date(2024, 7, 3))["blocks_created"] == 1
    assert deletion.refresh_overdue_blocks(session=session, today=date(2024, 7, 4))["blocks_created"] == 0
    block = session.scalars(select(PlacementBlock).where(PlacementBlock.reason == "deletion_overdue")).one()
    assert block.agency_id == world.agency.id and block.details["overdue"] == 1
    assert session.scalars(select(LenderNotice).where(LenderNotice.agency_id == world.agency.id)).one()
    view = agency_view(session=session, as_of=today_local(), strict=False)
    assert any(code == world.agency.code and "deletion" in why for code, why in view.skipped)

    with pytest.raises(NotFound):  # a package of another agency
        deletion.submit_certificate(session=session, data=certificate([package.id], date(2024, 7, 3)),
                                    agency_id=make_world(session).agency.id, actor="x", on_behalf=False)
    with pytest.raises(RuleViolation, match="evidence"):
        deletion.submit_certificate(session=session, data=certificate([package.id], date(2024, 7, 3)),
                                    agency_id=world.agency.id, actor="user:admin", on_behalf=True)
    with pytest.raises(RuleViolation, match="future"):
        deletion.submit_certificate(session=session, data=certificate([package.id], today_local() + timedelta(1)),
                                    agency_id=world.agency.id, actor="user:mgr", on_behalf=False)
    # Deleted before the case ended: covers nothing.
    early = deletion.submit_certificate(session=session, data=certificate([package.id], date(2024, 5, 1)),
                                        agency_id=world.agency.id, actor="user:mgr", on_behalf=False)
    assert early.rows_certified == 0 and block.lifted_at is None
    done = deletion.submit_certificate(session=session, data=certificate([package.id], date(2024, 7, 3)),
                                       agency_id=world.agency.id, actor="user:mgr", on_behalf=False)
    assert done.rows_certified == 1
    assert session.scalars(select(DeletionDue)).one().certificate_id == done.id
    session.refresh(block)
    assert block.lifted_at is not None and block.lifted_by == "system"
    view = agency_view(session=session, as_of=today_local(), strict=False)
    assert not any(code == world.agency.code for code, _why in view.skipped)
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "deletion.certified")).all()


# --- retention purge -------------------------------------------------------------------------

OLD = datetime(2015, 3, 1, 2, 0, tzinfo=UTC)


def old_debtor(session, *, status=AccountStatus.closed, outstanding="0.00", paid_at=None):
    debtor = make_debtor(session, contacts=[("王五", "spouse", "13700000001")], phones=["13900000001"])
    account = make_account(session, debtor=debtor, principal=outstanding, interest="0.00", fee="0.00",
                           penalty="0.00")
    account.status = status
    account.updated_at = OLD
    debtor.created_at = OLD
    session.flush()
    if paid_at is not None:
        make_payment(session, account=account, amount="10.00", paid_at=paid_at)
    return debtor


def test_the_retention_purge_erases_only_debtors_whose_relationship_ended_long_ago(session):
    gone = old_debtor(session)
    still_owing = old_debtor(session, status=AccountStatus.open, outstanding="100.00")
    paid_lately = old_debtor(session, paid_at=datetime(2024, 1, 1, tzinfo=UTC))
    recent = make_debtor(session)
    make_account(session, debtor=recent)
    run_for = date(2026, 11, 1)

    dry = retention.purge(session=session, run_for=run_for, actor="test", dry_run=True)
    assert (dry.eligible, dry.purged, dry.retention_years, dry.cutoff) == (1, 0, 5, date(2021, 11, 1))
    assert session.scalars(select(RetentionPurge)).all() == []

    result = retention.purge(session=session, run_for=run_for, actor="test")
    assert result.purged == 1
    session.expire_all()
    gone = session.get(Debtor, gone.id)
    assert retention.is_purged(gone) and gone.name == f"已清除#{gone.id}" and gone.address_enc is None
    assert personal_data.open_value(gone.national_id_enc, personal_data.NATIONAL_ID, reveal=True) == ""
    phone = session.scalars(select(DebtorPhone).where(DebtorPhone.debtor_id == gone.id)).one()
    contact = session.scalars(select(DebtorContact).where(DebtorContact.debtor_id == gone.id)).one()
    assert personal_data.open_value(phone.phone_enc, personal_data.DEBTOR_PHONE, reveal=True) == ""
    assert personal_data.open_value(contact.phone_enc, personal_data.CONTACT_PHONE, reveal=True) == ""
    assert contact.name == "-" and phone.phone_bidx.startswith("purged:")
    assert len(gone.accounts) == 1 and gone.accounts[0].account_no  # the books stay
    for kept in (still_owing, paid_lately, recent):
        assert not retention.is_purged(session.get(Debtor, kept.id))
    run = session.scalars(select(RetentionPurge)).one()
    assert (run.debtors_purged, run.retention_years) == (1, 5)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "retention.purged")).one()
    assert event.details["debtors_purged"] == 1

    again = retention.purge(session=session, run_for=run_for, actor="test")
    assert again.purged == 0 and again.eligible == 0
