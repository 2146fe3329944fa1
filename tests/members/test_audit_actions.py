"""Every write of the members app leaves exactly its AuditEntry rows (who, what, which member/transfer/upload,
where in the tree, what changed before/after), a refused action leaves none, no row ever holds an ID number
or phone (only a mask), and no action accepts a missing actor (None); background work passes SYSTEM."""

from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from core.audit import MASK, SYSTEM
from core.exceptions import DomainError
from core.models import AuditEntry
from members.actions import (
    member_advance,
    member_create,
    member_extend_probation,
    member_import_confirm,
    member_import_upload,
    member_reveal,
    member_update,
    roster_headcounts_apply,
    transfer_approve,
    transfer_complete,
    transfer_receive,
    transfer_request,
    transfer_return,
    transfer_withdraw,
    transfers_expire,
    uploads_purge,
)
from members.actions.imports import IMPORT_LABELS
from members.actions.org_changes import members_move_on_merge
from members.actions.registry import duplicate_refusals_record
from members.models import Member, MemberImport, Stage, TransferKind
from orgs.models import Role
from tests.factories import MemberFactory, UserFactory, fresh, grant
from tests.members import make_id
from tests.members.test_imports import row as import_row
from tests.members.test_imports import xlsx_bytes as import_xlsx
from tests.members.test_roster import make_id as roster_id
from tests.members.test_roster_integrity import finished

BORN = dt.date(1990, 5, 6)
ID_1, ID_2 = make_id(BORN, 1), make_id(BORN, 3)
PHONE_1, PHONE_2 = "13812345678", "13987654321"


@contextmanager
def audited():
    """Collects the AuditEntry rows written inside the block (oldest first)."""
    rows: list[AuditEntry] = []
    last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    yield rows
    rows.extend(AuditEntry.objects.filter(id__gt=last).order_by("id"))


def only(rows: list[AuditEntry]) -> AuditEntry:
    assert len(rows) == 1, [(r.action, r.object_repr) for r in rows]
    return rows[0]


def check(entry: AuditEntry, *, actor, action: str, obj, org) -> None:
    assert entry.action == action
    assert entry.actor_id == (actor.pk if actor is not SYSTEM else None)
    assert entry.actor_label == ("system" if actor is SYSTEM else (actor.display_name or actor.username))
    assert (entry.object_type, entry.object_id) == (obj._meta.label_lower, str(obj.pk))
    assert entry.org_path == org.path


def register(world, *, id_number=ID_1, phone=PHONE_1, **kwargs) -> Member:
    kwargs.setdefault("name", "张三")
    kwargs.setdefault("stage", Stage.FULL)
    return member_create(actor=fresh(world.secretary), org=world.jb, id_number=id_number, phone=phone, **kwargs)


def revealer(world):
    user = fresh(world.secretary)
    user.user_permissions.add(Permission.objects.get(codename="reveal_personal_data", content_type__app_label="members"))
    return fresh(user)


# ---------------------------------------------------------------- registry
def test_member_create_records_the_values_with_the_id_number_and_phone_masked(world):
    with audited() as rows:
        member = register(world, workplace=world.wp_b, roles=["grid"])
    entry = only(rows)
    check(entry, actor=world.secretary, action="member.create", obj=member, org=world.jb)
    assert entry.object_repr == "张三"
    assert entry.changes["name"] == [None, "张三"] and entry.changes["workplace_id"] == [None, world.wp_b.pk]
    assert entry.changes["id_number"] == [MASK, MASK] and entry.changes["phone"] == [MASK, MASK]
    assert entry.changes["roles"] == [[], ["grid"]] and entry.changes["birth_date"] == [None, BORN.isoformat()]
    assert not any(k.endswith(("_encrypted", "_index")) for k in entry.changes)


def test_member_update_records_what_changed_and_only_a_mask_for_personal_data(world):
    member = register(world)
    with audited() as rows:
        member_update(actor=fresh(world.secretary), member=member, phone=PHONE_2, notes="换了手机")
    entry = only(rows)
    check(entry, actor=world.secretary, action="member.update", obj=member, org=world.jb)
    assert entry.changes == {"phone": [MASK, MASK], "notes": ["", "换了手机"]}


def test_member_reveal_records_the_field_never_the_value(world):
    member = register(world)
    user = revealer(world)
    with audited() as rows:
        assert member_reveal(actor=user, member=member, field="phone", reason="核实联系方式") == PHONE_1
    entry = only(rows)
    check(entry, actor=user, action="member.reveal", obj=member, org=world.jb)
    assert set(entry.changes) == {"field", "reveal_log"} and entry.changes["field"] == "phone"


def test_personal_data_never_appears_in_any_audit_row(world):
    member = register(world, workplace=world.wp_b)
    member_update(actor=fresh(world.secretary), member=member, id_number=ID_2, phone=PHONE_2, notes="更正")
    user = revealer(world)
    member_reveal(actor=user, member=member, field="id_number", reason="核实身份")
    member_reveal(actor=user, member=member, field="phone", reason="核实联系方式")
    imported = member_import_upload(actor=fresh(world.secretary), org=world.jb, filename="m.xlsx", data=import_xlsx(
        IMPORT_LABELS, [import_row(姓名="导入甲", 身份证号=make_id(BORN, 5), 手机号="13700137000")]))
    member_import_confirm(actor=fresh(world.secretary), member_import=imported)
    member.refresh_from_db()
    secrets = [ID_1, ID_2, make_id(BORN, 5), PHONE_1, PHONE_2, "13700137000", ID_2[-6:], PHONE_2[-8:],
               member.id_number_encrypted, member.id_number_index, member.phone_encrypted, member.phone_index]
    entries = list(AuditEntry.objects.all())
    assert {"member.create", "member.update", "member.reveal", "member_import.upload", "member_import.confirm"} <= {
        e.action for e in entries}
    for entry in entries:
        text = json.dumps(entry.changes, ensure_ascii=False) + entry.object_repr
        assert not [s for s in secrets if s in text], entry.action


def test_a_refused_registration_writes_no_audit_row(world):
    register(world)
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError):
        register(world, name="重复登记")  # the same ID number
    with pytest.raises(DomainError):
        member_create(actor=fresh(world.secretary), org=world.br_f, id_number=ID_2, name="别处", stage=Stage.FULL)
    with pytest.raises(DomainError):
        member_update(actor=fresh(world.secretary), member=MemberFactory(org=world.br_f), notes="别人的党员")
    assert AuditEntry.objects.count() == before


# ---------------------------------------------------------------- pipeline
def test_member_advance_and_extend_probation_record_before_and_after(world):
    applicant = MemberFactory(org=world.jb, stage=Stage.APPLICANT, applied_on=world.today - dt.timedelta(days=100))
    with audited() as rows:
        member_advance(actor=fresh(world.secretary), member=applicant, to_stage=Stage.ACTIVIST, on=world.today)
    entry = only(rows)
    check(entry, actor=world.secretary, action="member.advance", obj=applicant, org=world.jb)
    assert entry.changes == {"stage": ["applicant", "activist"], "activist_on": [None, world.today.isoformat()]}

    probationary = MemberFactory(org=world.jb, stage=Stage.PROBATIONARY, admitted_on=world.today - dt.timedelta(days=100))
    with audited() as rows:
        member_extend_probation(actor=fresh(world.secretary), member=probationary, months=6, reason="支部大会决议延长")
    entry = only(rows)
    check(entry, actor=world.secretary, action="member.extend_probation", obj=probationary, org=world.jb)
    assert entry.changes == {"probation_extended_months": [0, 6]}

    before = AuditEntry.objects.count()
    with pytest.raises(DomainError):
        member_advance(actor=fresh(world.secretary), member=applicant, to_stage=Stage.FULL, on=world.today)
    assert AuditEntry.objects.count() == before


# ---------------------------------------------------------------- transfers
@pytest.fixture
def sides(world):
    send = UserFactory(username="send_sec")
    grant(send, world.br_a, Role.SECRETARY)
    recv = UserFactory(username="recv_sec")
    grant(recv, world.br_f, Role.SECRETARY)
    return fresh(send), fresh(recv), MemberFactory(org=world.br_a, workplace=world.wp_a)


def request(world, send, member):
    return transfer_request(actor=send, member=member, kind=TransferKind.INTERNAL, to_org=world.br_f, reason="工作调动",
                            dues_paid_until=world.today.replace(day=1))


def test_each_transfer_step_records_its_row_and_completion_the_members_move(world, sides):
    send, recv, member = sides
    with audited() as rows:
        t = request(world, send, member)
    entry = only(rows)
    check(entry, actor=send, action="transfer.request", obj=t, org=world.br_a)
    assert entry.changes["status"] == [None, "requested"] and entry.changes["to_org_id"] == [None, world.br_f.pk]

    with audited() as rows:
        t = transfer_approve(actor=send, transfer=t)
    entry = only(rows)
    check(entry, actor=send, action="transfer.approve", obj=t, org=world.br_a)
    assert entry.changes["status"] == ["requested", "approved"] and entry.changes["version"] == [0, 1]
    assert entry.changes["letter_number"] == ["", t.letter_number]

    with audited() as rows:
        t = transfer_receive(actor=recv, transfer=t)
    check(only(rows), actor=recv, action="transfer.receive", obj=t, org=world.br_a)

    with audited() as rows:
        t = transfer_complete(actor=recv, transfer=t)
    assert [r.action for r in rows] == ["transfer.complete", "member.transfer"]
    check(rows[0], actor=recv, action="transfer.complete", obj=t, org=world.br_a)
    assert rows[0].changes["status"] == ["received", "completed"]
    check(rows[1], actor=recv, action="member.transfer", obj=member, org=world.br_f)
    assert rows[1].changes == {"org_id": [world.br_a.pk, world.br_f.pk], "transfer": [None, t.pk]}


def test_return_withdraw_and_expire_are_recorded_and_refusals_are_not(world, sides):
    send, recv, member = sides
    t = request(world, send, member)
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError):
        transfer_withdraw(actor=recv, transfer=t)  # only the requester
    with pytest.raises(DomainError):
        transfer_return(actor=recv, transfer=t, reason=" ")
    assert AuditEntry.objects.count() == before

    with audited() as rows:
        transfer_withdraw(actor=send, transfer=t)
    assert only(rows).action == "transfer.withdraw" and rows[0].changes["status"] == ["requested", "withdrawn"]

    t = request(world, send, member)
    with audited() as rows:
        transfer_return(actor=recv, transfer=t, reason="未到岗")
    assert only(rows).action == "transfer.return" and rows[0].actor_id == recv.pk

    t = transfer_approve(actor=send, transfer=request(world, send, member), today=dt.date(2024, 1, 10))
    with audited() as rows:
        assert transfers_expire(actor=SYSTEM, today=dt.date(2024, 6, 1)) == 1
    entry = only(rows)
    check(entry, actor=SYSTEM, action="transfer.expire", obj=t, org=world.br_a)
    assert entry.changes["status"] == ["approved", "expired"]


def test_a_request_and_a_withdrawal_are_a_persons(world, sides):
    send, _recv, member = sides
    with pytest.raises(ValueError):
        transfer_request(actor=SYSTEM, member=member, kind=TransferKind.INTERNAL, to_org=world.br_f, reason="x",
                         dues_paid_until=world.today)
    t = request(world, send, member)
    with pytest.raises(DomainError):
        transfer_withdraw(actor=SYSTEM, transfer=t)


# ---------------------------------------------------------------- imports, roster, merge, purge
def test_import_upload_and_confirm_record_the_import_and_each_member(world):
    data = import_xlsx(IMPORT_LABELS, [import_row(姓名="导入甲", 身份证号=make_id(BORN, 7)),
                                       import_row(姓名="导入乙", 身份证号=make_id(BORN, 9))])
    secretary = fresh(world.secretary)
    with audited() as rows:
        imported = member_import_upload(actor=secretary, org=world.jb, filename="m.xlsx", data=data)
    entry = only(rows)  # the preview's dry run rolled back its member rows and their audit rows
    check(entry, actor=secretary, action="member_import.upload", obj=imported, org=world.jb)
    assert entry.changes["total_rows"] == [None, 2] and entry.changes["valid_rows"] == [None, 2]

    with audited() as rows:
        member_import_confirm(actor=secretary, member_import=imported)
    assert [r.action for r in rows] == ["member.create", "member.create", "member_import.confirm"]
    assert {r.object_repr for r in rows[:2]} == {"导入甲", "导入乙"}
    check(rows[2], actor=secretary, action="member_import.confirm", obj=imported, org=world.jb)
    assert rows[2].changes["status"] == ["previewed", "done"] and rows[2].changes["created_count"] == [0, 2]


def test_a_confirmation_beyond_the_bulk_limit_writes_one_summary_row(world, monkeypatch):
    import members.actions.imports as imports

    monkeypatch.setattr(imports, "AUDIT_BULK_LIMIT", 1)
    data = import_xlsx(imports.IMPORT_LABELS, [import_row(姓名="导入甲", 身份证号=make_id(BORN, 7)),
                                               import_row(姓名="导入乙", 身份证号=make_id(BORN, 9))])
    imported = member_import_upload(actor=fresh(world.secretary), org=world.jb, filename="m.xlsx", data=data)
    with audited() as rows:
        member_import_confirm(actor=fresh(world.secretary), member_import=imported)
    entry = only(rows)
    assert entry.action == "member_import.confirm" and entry.changes["created_count"] == [0, 2] and "note" in entry.changes
    assert Member.objects.filter(name__in=["导入甲", "导入乙"]).count() == 2


def test_a_refused_import_confirmation_writes_nothing(world):
    imported = member_import_upload(actor=fresh(world.secretary), org=world.jb, filename="m.xlsx", data=import_xlsx(
        IMPORT_LABELS, [import_row(姓名="导入甲", 身份证号=make_id(BORN, 7)), import_row(姓名="导入乙", 身份证号=make_id(BORN, 9))]))
    # Between preview and confirm, someone registers the second row's person elsewhere: the whole confirm fails.
    member_create(actor=SYSTEM, org=world.br_f, id_number=make_id(BORN, 9), name="抢先登记", stage=Stage.FULL)
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError, match="未导入任何党员"):
        member_import_confirm(actor=fresh(world.secretary), member_import=imported)
    assert AuditEntry.objects.count() == before
    assert not Member.objects.filter(name="导入甲").exists()


def test_roster_upload_and_headcounts_apply_are_recorded(world):
    rows = [(f"名单{i}", roster_id(40_000 + i), world.wp_b.name) for i in range(3)]
    with audited() as entries:
        comparison = finished(world, rows, actor=world.secretary, org=world.jb)
    entry = only(entries)  # the comparison itself (a background read of the upload) changes no domain row
    check(entry, actor=world.secretary, action="roster.upload", obj=comparison, org=world.jb)

    with audited() as entries:
        roster_headcounts_apply(actor=fresh(world.secretary), comparison=comparison)
    assert [e.action for e in entries] == ["workplace.headcounts_apply", "roster.headcounts_apply"]
    assert entries[0].object_id == str(world.wp_b.pk) and entries[0].changes["gig_worker_count"] == [20, 3]
    check(entries[1], actor=world.secretary, action="roster.headcounts_apply", obj=comparison, org=world.jb)
    assert entries[1].changes["workplaces"] == 1 and entries[1].changes["headcounts_applied_by_id"] == [None, world.secretary.pk]


def test_uploads_purge_writes_one_summary_row_when_it_deletes(world):
    imported = member_import_upload(actor=fresh(world.secretary), org=world.jb, filename="m.xlsx", data=import_xlsx(
        IMPORT_LABELS, [import_row(姓名="导入甲", 身份证号=make_id(BORN, 7))]))
    MemberImport.objects.filter(pk=imported.pk).update(created_at=timezone.now() - dt.timedelta(days=60))
    with audited() as rows:
        assert uploads_purge(actor=SYSTEM) == {"imports": 1, "comparisons": 0}
    entry = only(rows)
    assert (entry.action, entry.actor_label, entry.changes["imports"], entry.changes["comparisons"]) == ("uploads.purge", "system", 1, 0)
    with audited() as rows:
        uploads_purge(actor=SYSTEM)
    assert rows == []


# ---------------------------------------------------------------- no actor
NO_ACTOR_CALLS = {
    "member_create": lambda w: member_create(actor=None, org=w.jb, id_number=ID_1, name="x", stage=Stage.FULL),
    "member_update": lambda w: member_update(actor=None, member=Member.objects.filter(org=w.jb).first(), notes="x"),
    "member_reveal": lambda w: member_reveal(actor=None, member=Member.objects.filter(org=w.jb).first(), field="phone", reason="核实"),
    "member_advance": lambda w: member_advance(actor=None, member=Member.objects.filter(org=w.jb).first(), to_stage=Stage.FULL,
                                               on=w.today),
    "member_extend_probation": lambda w: member_extend_probation(actor=None, member=Member.objects.filter(org=w.jb).first(),
                                                                 months=3, reason="延长"),
    "transfer_request": lambda w: transfer_request(actor=None, member=Member.objects.filter(org=w.jb).first(),
                                                   kind=TransferKind.INTERNAL, to_org=w.br_f, reason="x", dues_paid_until=w.today),
    "transfers_expire": lambda w: transfers_expire(actor=None),
    "member_import_upload": lambda w: member_import_upload(actor=None, org=w.jb, filename="m.xlsx", data=b""),
    "uploads_purge": lambda w: uploads_purge(actor=None),
    "members_move_on_merge": lambda w: members_move_on_merge(actor=None, source=w.br_a, target=w.jb),
    "duplicate_refusals_record": lambda w: duplicate_refusals_record(actor=None, org=w.jb, source="x"),
}


@pytest.mark.parametrize("name", sorted(NO_ACTOR_CALLS))
def test_no_action_accepts_a_missing_actor(world, name):
    before = (AuditEntry.objects.count(), Member.objects.count())
    with pytest.raises(ValueError, match="actor"):
        NO_ACTOR_CALLS[name](world)
    assert (AuditEntry.objects.count(), Member.objects.count()) == before
