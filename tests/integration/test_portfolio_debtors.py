"""Debtors: masked by default, revealed only with a reason and always audited; exact
look-ups by national ID and phone through the blind indexes."""

import pytest
from sqlalchemy import select

from factories import make_account, make_debtor, national_id
from weiwai.errors import NotFound, RuleViolation
from weiwai.i18n import using_locale
from weiwai.portfolio import service
from weiwai.portfolio.identity import national_id_check_char
from weiwai.security.models import AuditEvent


def _valid_nid_with_x() -> str:
    """A valid national ID whose check character is X (to test lower-case input)."""
    for seq in range(1000):
        first17 = f"11010119900307{seq:03d}"
        if national_id_check_char(first17) == "X":
            return first17 + "X"
    raise AssertionError("no ID with check character X")


def _reveals(session) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "reveal").order_by(AuditEvent.id)))


def test_personal_data_is_masked_by_default(session):
    debtor = make_debtor(
        session,
        phones=["13812345678", "13987654321"],
        contacts=[("李四", "spouse", "13700001111")],
        address="广东省深圳市南山区科技园路1号",
    )
    read = service.get_debtor(session=session, debtor_id=debtor.id, actor="user:tester")

    assert read.revealed is False
    assert read.national_id.startswith("110") and "*" * 11 in read.national_id and len(read.national_id) == 18
    assert [phone.number for phone in read.phones] == ["138****5678", "139****4321"]
    assert read.phones[0].is_primary and not read.phones[1].is_primary
    assert [(c.name, c.relation, c.phone) for c in read.contacts] == [("李四", "spouse", "137****1111")]
    assert read.address == "广东省深圳市********"
    assert _reveals(session) == []


def test_masked_national_id_keeps_region_prefix_and_last_four(session):
    nid = national_id()
    debtor = make_debtor(session, national_id_value=nid)
    read = service.get_debtor(session=session, debtor_id=debtor.id, actor="user:tester")
    assert read.national_id == nid[:3] + "*" * 11 + nid[-4:]


def test_reveal_needs_a_reason(session):
    debtor = make_debtor(session)
    for reason in (None, "", "   "):
        with pytest.raises(RuleViolation) as caught:
            service.get_debtor(session=session, debtor_id=debtor.id, reveal=True, actor="user:ops", reason=reason)
        assert caught.value.code == "reason_required"
    assert _reveals(session) == []


def test_reveal_shows_everything_and_every_reveal_is_audited(session):
    nid = national_id()
    debtor = make_debtor(
        session, national_id_value=nid, phones=["13812345678"], contacts=[("王五", "friend", "13700002222")]
    )

    first = service.get_debtor(
        session=session, debtor_id=debtor.id, reveal=True, actor="user:ops", reason="debtor called to dispute"
    )
    service.get_debtor(session=session, debtor_id=debtor.id, reveal=True, actor="user:compliance", reason="complaint 42")

    assert first.revealed is True
    assert first.national_id == nid
    assert first.phones[0].number == "13812345678"
    assert first.contacts[0].phone == "13700002222"
    assert first.address == "广东省深圳市南山区科技园路1号"
    events = _reveals(session)
    assert [(e.actor, e.entity, e.entity_id) for e in events] == [
        ("user:ops", "debtor", str(debtor.id)),
        ("user:compliance", "debtor", str(debtor.id)),
    ]
    assert events[0].details == {
        "fields": ["national_id", "address", "phones", "contact_phones"],
        "reason": "debtor called to dispute",
    }


def test_reveal_lists_only_the_fields_the_debtor_has(session):
    debtor = make_debtor(session, address=None, phones=[], contacts=[])
    service.get_debtor(session=session, debtor_id=debtor.id, reveal=True, actor="user:ops", reason="check")
    assert _reveals(session)[0].details["fields"] == ["national_id"]


def test_unknown_debtor_is_not_found(session):
    with pytest.raises(NotFound):
        service.get_debtor(session=session, debtor_id=987654, actor="user:ops")


def test_debtor_lists_flags_and_account_numbers(session):
    debtor = make_debtor(session, disputed=True, cease_contact=True)
    make_account(session, debtor=debtor, account_no="LN-2")
    make_account(session, debtor=debtor, account_no="LN-1")
    read = service.get_debtor(session=session, debtor_id=debtor.id, actor="user:ops")
    assert read.flags == ["disputed", "cease_contact"]
    assert read.account_nos == ["LN-1", "LN-2"]


def test_find_by_national_id_is_exact_and_normalises_input(session):
    nid = _valid_nid_with_x()
    wanted = make_debtor(session, national_id_value=nid, name="赵六")
    make_debtor(session)

    found = service.find_debtor_by_national_id(session=session, national_id=" " + nid[:-1] + "x ")

    assert found is not None and found.id == wanted.id and found.name == "赵六"
    assert found.revealed is False and "*" in found.national_id
    assert service.find_debtor_by_national_id(session=session, national_id=national_id()) is None


def test_find_by_national_id_rejects_an_invalid_id(session):
    valid = national_id()
    wrong_check = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    with using_locale("en"), pytest.raises(RuleViolation, match="check digit") as caught:
        service.find_debtor_by_national_id(session=session, national_id=wrong_check)
    assert caught.value.code == "invalid_national_id"
    with using_locale("zh_CN"), pytest.raises(RuleViolation, match="校验位"):
        service.find_debtor_by_national_id(session=session, national_id=wrong_check)


def test_find_by_phone_matches_own_phones_and_contacts(session):
    number = "13655556666"
    owner = make_debtor(session, phones=["13811112222", number])
    named_as_contact = make_debtor(session, contacts=[("钱七", "colleague", number)])
    make_debtor(session, phones=["13655556667"])

    found = service.find_debtors_by_phone(session=session, phone="+86 136-5555-6666")

    assert [debtor.id for debtor in found] == sorted([owner.id, named_as_contact.id])
    assert all(not debtor.revealed for debtor in found)
    assert service.find_debtors_by_phone(session=session, phone="13000000000") == []


def test_find_by_phone_rejects_a_number_that_is_not_a_mobile(session):
    with pytest.raises(RuleViolation) as caught:
        service.find_debtors_by_phone(session=session, phone="010-12345678")
    assert caught.value.code == "invalid_phone"
