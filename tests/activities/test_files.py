"""Activity files: type by extension and magic bytes, size by rule row, private storage, scoped serving."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from activities.actions import activity_add_file, activity_add_files, activity_remove_file
from activities.models import Activity, ActivityFile
from core.exceptions import DomainError
from orgs.models import Role
from tests.activities import JPEG, PDF, PNG, log, upload, xlsx_bytes
from tests.factories import UserFactory, grant, set_rule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"
    return settings.MEDIA_ROOT


def _stored(media):
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


@pytest.mark.parametrize("name,content,photo", [
    ("现场.jpg", JPEG, True), ("合影.PNG", PNG, True), ("记录.pdf", PDF, False), ("签到.xlsx", None, False),
    ("照片.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 32, True),
])
def test_allowed_files_are_stored_privately(world, media, name, content, photo):
    activity = log(world)
    record = activity_add_file(actor=world.secretary, activity=activity, upload=upload(name, content or xlsx_bytes()))
    assert record.is_photo is photo and record.original_name == name
    path = media / record.file.name
    assert path.is_file() and str(path).startswith(str(media))
    assert name not in record.file.name  # a neutral stored name
    assert not str(path).startswith(str(django_settings.STATIC_ROOT))


@pytest.mark.parametrize("name,content,message", [
    ("病毒.exe", b"MZ\x90\x00", "只能上传"),
    ("图.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "只能上传"),
    ("无扩展名", JPEG, "只能上传"),
    ("伪装.jpg", PDF, "内容与文件类型不符"),
    ("伪装.pdf", b"<html><script>alert(1)</script>", "内容与文件类型不符"),
    ("伪装.docx", JPEG, "内容与文件类型不符"),
    ("空.png", b"", "空文件"),
])
def test_bad_types_are_refused(world, media, name, content, message):
    activity = log(world)
    with pytest.raises(DomainError) as exc:
        activity_add_file(actor=world.secretary, activity=activity, upload=upload(name, content))
    assert message in str(exc.value.message)
    assert ActivityFile.objects.count() == 0 and _stored(media) == []


def test_size_limit_is_the_rule_row(world, media):
    activity = log(world)
    set_rule("activity_file_max_mb", 1)
    big = JPEG + b"\x00" * (1024 * 1024)
    with pytest.raises(DomainError) as exc:
        activity_add_file(actor=world.secretary, activity=activity, upload=upload("大.jpg", big))
    assert "1 MB" in str(exc.value.message)
    set_rule("activity_file_max_mb", 2)
    assert activity_add_file(actor=world.secretary, activity=activity, upload=upload("大.jpg", big)).size == len(big)


def test_one_bad_file_stores_none(world, media):
    activity = log(world)
    with pytest.raises(DomainError):
        activity_add_files(actor=world.secretary, activity=activity,
                           uploads=[upload("a.jpg", JPEG), upload("b.jpg", b"not an image")])
    with pytest.raises(DomainError):
        log(world, files=[upload("a.jpg", JPEG), upload("b.exe", b"MZ")])
    assert ActivityFile.objects.count() == 0 and Activity.objects.count() == 1 and _stored(media) == []


def test_files_need_change_scope(world, media):
    activity = log(world, org=world.br_a, actor=world.district_user)
    with pytest.raises(DomainError):
        activity_add_file(actor=world.secretary, activity=activity, upload=upload("a.jpg", JPEG))
    with pytest.raises(DomainError):
        activity_add_file(actor=world.instructor, activity=activity, upload=upload("a.jpg", JPEG))


def test_file_view_is_scoped_with_safe_headers(client, world, media):
    activity = log(world, files=[upload("现场.jpg", JPEG), upload("记录.pdf", PDF)])
    photo, pdf = activity.files.order_by("id")
    client.force_login(world.secretary)
    response = client.get(reverse("activities:activity_file", args=[photo.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == JPEG
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    response = client.get(reverse("activities:activity_file", args=[pdf.pk]))
    assert response["Content-Disposition"].startswith("attachment") and response["Content-Type"] == "application/pdf"
    # another branch's secretary, an account without grants and a viewer: 404, as for a missing file
    other = UserFactory(username="other-secretary")
    grant(other, world.br_a, Role.SECRETARY)
    for user in (other, world.nobody, world.viewer):
        client.force_login(user)
        assert client.get(reverse("activities:activity_file", args=[photo.pk])).status_code == 404
    client.force_login(world.instructor)  # instructor@express sees jb's records
    assert client.get(reverse("activities:activity_file", args=[photo.pk])).status_code == 200
    assert client.get(reverse("activities:activity_file", args=[999999])).status_code == 404
    # MEDIA_URL is not served
    assert client.get(f"{django_settings.MEDIA_URL}{photo.file.name}").status_code == 404


def test_remove_file(client, world, media, django_capture_on_commit_callbacks):
    activity = log(world, files=[upload("现场.jpg", JPEG)])
    record = activity.files.get()
    assert len(_stored(media)) == 1
    with pytest.raises(DomainError):
        activity_remove_file(actor=world.instructor, file=record)
    client.force_login(world.instructor)
    assert client.post(reverse("activities:activity_file_remove", args=[record.pk])).status_code == 404
    client.force_login(world.secretary)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("activities:activity_file_remove", args=[record.pk]))
    assert response.status_code == 302
    assert ActivityFile.objects.count() == 0 and _stored(media) == []


def test_upload_through_the_detail_page(client, world, media):
    activity = log(world)
    client.force_login(world.secretary)
    url = reverse("activities:activity_upload", args=[activity.pk])
    response = client.post(url, {"files": [upload("a.jpg", JPEG), upload("b.png", PNG)]})
    assert response.status_code == 302 and activity.files.count() == 2
    response = client.post(url, {"files": [upload("c.jpg", PDF)]})
    assert response.status_code == 200 and "内容与文件类型不符" in response.content.decode()
    assert activity.files.count() == 2
    client.force_login(world.instructor)
    assert client.post(url, {"files": [upload("a.jpg", JPEG)]}).status_code == 404


# ---------------------------------------------------------------- total per record (rule activity_files_total_mb)
def _jpeg(size: int) -> bytes:
    return JPEG + b"\x00" * (size - len(JPEG))


MB = 1024 * 1024


def test_total_size_per_record_when_logging(client, world, media):
    set_rule("activity_files_total_mb", 1)
    with pytest.raises(DomainError) as exc:
        log(world, files=[upload("a.jpg", _jpeg(600 * 1024)), upload("b.jpg", _jpeg(600 * 1024))])
    assert "合计不能超过 1 MB" in str(exc.value.message) and exc.value.field == "files"
    assert Activity.objects.count() == 0 and ActivityFile.objects.count() == 0 and _stored(media) == []
    client.force_login(world.secretary)
    response = client.post(reverse("activities:activity_create"), {
        "org": world.jb.pk, "kind": "theme_day", "topic": "学习", "starts_at": "2026-01-05T09:00",
        "files": [upload("a.jpg", _jpeg(600 * 1024)), upload("b.jpg", _jpeg(600 * 1024))],
    })
    assert response.status_code == 200 and "合计不能超过 1 MB" in response.content.decode()
    assert Activity.objects.count() == 0 and _stored(media) == []
    assert log(world, files=[upload("a.jpg", _jpeg(MB))]).files.count() == 1  # exactly the limit is fine


def test_total_size_per_record_on_the_record_page(client, world, media):
    set_rule("activity_files_total_mb", 1)
    activity = log(world, files=[upload("a.jpg", _jpeg(700 * 1024))])
    with pytest.raises(DomainError) as exc:
        activity_add_file(actor=world.secretary, activity=activity, upload=upload("b.jpg", _jpeg(400 * 1024)))
    assert "已有 0.7 MB，本次 0.4 MB" in str(exc.value.message)
    client.force_login(world.secretary)
    url = reverse("activities:activity_upload", args=[activity.pk])
    response = client.post(url, {"files": [upload("b.jpg", _jpeg(200 * 1024)), upload("c.jpg", _jpeg(200 * 1024))]})
    assert response.status_code == 200 and "合计不能超过 1 MB" in response.content.decode()
    assert activity.files.count() == 1 and len(_stored(media)) == 1
    assert client.post(url, {"files": [upload("b.jpg", _jpeg(300 * 1024))]}).status_code == 302
    assert activity.files.count() == 2
    set_rule("activity_files_total_mb", 2)  # the rule row, not a constant
    assert client.post(url, {"files": [upload("c.jpg", _jpeg(500 * 1024))]}).status_code == 302
    assert activity.files.count() == 3 and len(_stored(media)) == 3


def test_a_failing_store_leaves_no_file_on_disk(world, media, monkeypatch):
    activity = log(world)
    real_save = ActivityFile.save
    calls = {"n": 0}

    def fail_second(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(ActivityFile, "save", fail_second)
    with pytest.raises(OSError):
        activity_add_files(actor=world.secretary, activity=activity, uploads=[upload("a.jpg", JPEG), upload("b.png", PNG)])
    assert ActivityFile.objects.count() == 0 and _stored(media) == []
