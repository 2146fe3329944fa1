"""Abandoned uploads (unconfirmed imports, failed or unfinished roster comparisons) are deleted after rule
upload_retention_days by the daily task members.uploads_purge; the pages say so."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from members.actions.imports import (
    IMPORT_LABELS,
    member_import_confirm,
    member_import_upload,
    roster_comparison_fail,
    roster_comparison_run,
)
from members.models import MemberImport, RosterComparison, RosterFinding, UploadStatus
from members.tasks import purge_uploads
from tests.factories import fresh, set_rule
from tests.members.test_imports import make_id as import_id
from tests.members.test_imports import row
from tests.members.test_imports import xlsx_bytes as import_xlsx
from tests.members.test_roster import make_id, start, xlsx_bytes


def age(obj, days: float) -> None:
    type(obj).objects.filter(pk=obj.pk).update(created_at=timezone.now() - dt.timedelta(days=days))


def new_import(world, n: int) -> MemberImport:
    return member_import_upload(actor=fresh(world.secretary), org=world.jb, filename="m.xlsx",
                                data=import_xlsx(IMPORT_LABELS, [row(姓名=f"导入{n}", 身份证号=import_id(200 + n))]))


def test_abandoned_uploads_are_deleted_after_the_retention_period_and_the_task_is_idempotent(world):
    old_unconfirmed = new_import(world, 1)
    recent_unconfirmed = new_import(world, 2)
    old_confirmed = member_import_confirm(actor=fresh(world.secretary), member_import=new_import(world, 3))
    for item, days in ((old_unconfirmed, 4), (recent_unconfirmed, 2), (old_confirmed, 30)):
        age(item, days)

    rows = [("名单某甲", make_id(1), world.wp_b.name)]
    old_pending = start(world, xlsx_bytes(rows))
    old_failed = start(world, xlsx_bytes(rows))
    roster_comparison_fail(comparison_id=old_failed.pk, message="失败")
    old_done = start(world, xlsx_bytes(rows))
    roster_comparison_run(comparison_id=old_done.pk)
    recent_pending = start(world, xlsx_bytes(rows))
    for item, days in ((old_pending, 3.5), (old_failed, 10), (old_done, 10), (recent_pending, 1)):
        age(item, days)
    assert RosterFinding.objects.filter(comparison=old_done).exists()

    assert purge_uploads() == {"imports": 1, "comparisons": 2}  # the task, in-process
    assert set(MemberImport.objects.values_list("pk", flat=True)) == {recent_unconfirmed.pk, old_confirmed.pk}
    assert set(RosterComparison.objects.values_list("pk", flat=True)) == {old_done.pk, recent_pending.pk}
    assert RosterComparison.objects.get(pk=recent_pending.pk).upload_encrypted  # still waiting for its task
    assert RosterFinding.objects.filter(comparison=old_done).exists()  # finished results stay
    assert purge_uploads() == {"imports": 0, "comparisons": 0}

    set_rule("upload_retention_days", 1)  # a shorter period: the 2-day-old import and the 1-day-old comparison go too
    assert purge_uploads() == {"imports": 1, "comparisons": 1}
    assert not MemberImport.objects.filter(status=UploadStatus.PREVIEWED).exists()
    assert set(RosterComparison.objects.values_list("pk", flat=True)) == {old_done.pk}


def test_the_purge_runs_daily_from_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["uploads-purge"]
    assert entry["task"] == "members.uploads_purge"
    assert entry["schedule"].hour == {3} and entry["schedule"].minute == {40}
    assert purge_uploads.acks_late is True and purge_uploads.max_retries


def test_pages_say_when_unconfirmed_uploads_are_deleted(client, world):
    set_rule("upload_retention_days", 5)
    client.force_login(world.secretary)
    for name in ("members:import_start", "members:roster_start", "members:roster_list"):
        assert "未确认的上传在 5 天后自动删除" in client.get(reverse(name)).content.decode(), name
    preview = new_import(world, 4)
    assert "未确认的上传在 5 天后自动删除" in client.get(reverse("members:import_preview", args=[preview.pk])).content.decode()
