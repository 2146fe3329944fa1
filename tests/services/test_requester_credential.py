"""The requester's credential (查询密码): staff never see anything that opens the public tracking page, and
only the public session that looked a request up can confirm it with a score or reopen it.

Before: staff pages and exports showed the tracking code and 139****5678, and the public look-up took exactly
the code and the last four digits, so any staff member, even read-only, could act as the requester."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from services import credentials
from services.models import EntryKind, RequestStatus, ServiceRequest, TimelineEntry
from services.views.requests import STEPS
from tests.services.factories import SECRET, make_request

pytestmark = pytest.mark.django_db

PHONE = "13912340917"
SHOWN_SECRET = re.compile(r'id="access-secret">([^<]+)<')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
NOT_FOUND = "未找到对应的诉求，请核对查询码和查询密码"


def _submit(client) -> tuple[ServiceRequest, str]:
    """Submit on the public form like a gig worker; returns the request and the 查询密码 the page showed."""
    data = {
        "description": "园区不让电动车进门充电，晚上只能停在路边。", "requester_name": "刘师傅", "phone": PHONE,
        "member_answer": "no", "region": "", "workplace": "", "place": "东大街12号", "latitude": "", "longitude": "",
        "consent": "on", "website": "",
    }
    assert client.post(reverse("services:public_intake_form", kwargs={"code": "other"}), data).status_code == 302
    page = client.get(reverse("services:public_submitted")).content.decode()
    return ServiceRequest.objects.get(), SHOWN_SECRET.search(page).group(1)


def _track(client, code, secret):
    return client.post(reverse("services:public_track"), {"code": code, "secret": secret})


def _resolve(req, staff) -> None:
    from services.actions import handling

    handling.request_accept(actor=staff, request=req)
    handling.request_resolve(actor=staff, request=req, reply="已协调园区开放充电棚。")


def _staff_views(client, req) -> list[str]:
    """Everything a staff member can read about the request: queue, detail, export (text of the workbook)."""
    pages = [client.get(reverse("services:request_list"), {"status": "all"}).content.decode(),
             client.get(reverse("services:request_detail", args=[req.tracking_code])).content.decode()]
    workbook = client.get(reverse("services:request_list"), {"status": "all", "format": "xlsx"}).content
    pages.append(str(list(load_workbook(io.BytesIO(workbook)).active.iter_rows(values_only=True))))
    return [CSRF.sub("", page) for page in pages]


# ---------------------------------------------------------------- the secret at submission
def test_submission_shows_a_secret_once_and_keeps_only_its_hash(world, client):
    req, shown = _submit(client)
    secret = credentials.normalize_secret(shown)
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", shown)
    assert req.access_secret_hash == credentials.secret_hash(code=req.tracking_code, secret=secret)
    row = ServiceRequest.objects.filter(pk=req.pk).values().get()
    assert not any(secret in str(value) or shown in str(value) for value in row.values())
    assert not TimelineEntry.objects.filter(body__contains=secret).exists()
    # Shown once: gone from the session (kept in the database) and from the page once it has been shown.
    assert all(secret not in str(s.get_decoded()) for s in Session.objects.all())
    again = client.get(reverse("services:public_submitted"))
    assert 'id="access-secret"' not in again.content.decode() and "不再显示" in again.content.decode()
    assert "no-store" in again["Cache-Control"]
    # The submitting session can still follow it.
    assert client.get(reverse("services:public_track_detail", kwargs={"code": req.tracking_code})).status_code == 200


def test_two_requests_get_different_secrets(world, client):
    _submit(client)
    first = ServiceRequest.objects.get()
    first.delete()
    second, _shown = _submit(Client(REMOTE_ADDR="10.9.9.9"))
    assert first.access_secret_hash != second.access_secret_hash


# ---------------------------------------------------------------- what staff can see does not open anything
@pytest.mark.parametrize("user", ["district_user", "secretary", "instructor"])
def test_staff_pages_and_export_do_not_contain_the_credential(world, client, user):
    req, shown = _submit(Client())
    req.responsible_org = world.jb  # where the secretary works too
    req.save(update_fields=["responsible_org"])
    client.force_login(getattr(world, user))
    views = _staff_views(client, req)
    secret = credentials.normalize_secret(shown)
    for text in views:
        assert secret not in text and shown not in text
        assert "0917" not in text and PHONE not in text
    assert "139********" in views[1] and "139********" in views[2]  # the detail page and the export mask alike


@pytest.mark.parametrize("seen", ["0917", "139****0917", "139********", "139", ""])
def test_looking_up_with_what_staff_can_see_fails(world, client, seen):
    req, _shown = _submit(Client())
    stranger = Client()
    response = _track(stranger, req.display_code, seen)
    assert response.status_code == 200
    assert stranger.get(reverse("services:public_track_detail", kwargs={"code": req.tracking_code})).status_code == 302


def test_even_the_logged_reveal_does_not_open_a_request_with_a_secret(world, client):
    """The full phone is no credential for a request that has a 查询密码."""
    req, _shown = _submit(Client())
    client.force_login(world.district_user)
    reveal = client.post(reverse("services:request_reveal", args=[req.tracking_code]), {"reveal-reason": "电话回访"})
    assert PHONE in reveal.content.decode()
    response = _track(client, req.tracking_code, PHONE)
    assert NOT_FOUND in response.content.decode()


def test_wrong_secret_answers_exactly_like_an_unknown_code(world, client):
    req, shown = _submit(Client())
    wrong = _track(client, req.tracking_code, "2345-6789")
    unknown = _track(client, "ZZZZ-ZZZZ-ZZZZ", shown)
    assert wrong.status_code == unknown.status_code == 200
    assert CSRF.sub("", wrong.content.decode()) == CSRF.sub("", unknown.content.decode())
    assert NOT_FOUND in wrong.content.decode()


# ---------------------------------------------------------------- requests from before the secret
def test_request_without_a_secret_opens_with_the_complete_phone_only(world, client):
    legacy = make_request(org=world.jb, status=RequestStatus.RESOLVED, phone=PHONE, secret=None, resolved_at=timezone.now())
    assert legacy.access_secret_hash == ""
    staff = Client()
    staff.force_login(world.instructor)  # read-only
    assert all("0917" not in text for text in _staff_views(staff, legacy))
    wrong_phone = _track(client, legacy.tracking_code, "13900000000")
    suffix = _track(client, legacy.tracking_code, "0917")
    unknown = _track(client, "ZZZZ-ZZZZ-ZZZZ", PHONE)
    assert NOT_FOUND in wrong_phone.content.decode()
    assert CSRF.sub("", wrong_phone.content.decode()) == CSRF.sub("", unknown.content.decode())
    assert "请输入8位查询密码" in suffix.content.decode()  # the last four digits are no credential any more
    response = _track(client, legacy.display_code, "+86 139-1234-0917")
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    assert _track(Client(), legacy.tracking_code, SECRET).status_code == 200  # nor is someone else's secret


# ---------------------------------------------------------------- the requester acts, staff cannot
def test_requester_with_the_secret_looks_up_confirms_and_the_timeline_says_so(world, client):
    req, shown = _submit(Client())
    _resolve(req, world.district_user)
    requester = Client()  # later, on another phone: the code and the 查询密码
    response = _track(requester, req.display_code.lower(), shown.lower().replace("-", " "))
    assert response.status_code == 302
    assert "确认办结" in requester.get(response["Location"]).content.decode()
    confirm = requester.post(reverse("services:public_track_confirm", kwargs={"code": req.tracking_code}),
                             {"satisfaction": "4", "comment": "谢谢"}, follow=True)
    assert "感谢您的评价" in confirm.content.decode()
    req.refresh_from_db()
    assert req.status == RequestStatus.CLOSED and req.satisfaction == 4
    entry = req.timeline.get(kind=EntryKind.CLOSED)
    assert entry.by_requester and entry.public and entry.actor is None

    client.force_login(world.district_user)
    page = client.get(reverse("services:request_detail", args=[req.tracking_code])).content.decode()
    assert "4 / 5 · 谢谢" in page and 'name="satisfaction"' not in page  # read-only


def test_requester_with_the_secret_reopens(world):
    req, shown = _submit(Client())
    _resolve(req, world.district_user)
    requester = Client()
    assert _track(requester, req.tracking_code, shown).status_code == 302
    response = requester.post(reverse("services:public_track_reopen", kwargs={"code": req.tracking_code}),
                              {"reason": "充电棚还是锁着"}, follow=True)
    assert "已重新打开" in response.content.decode()
    req.refresh_from_db()
    assert req.status == RequestStatus.REOPENED and req.reopen_count == 1
    entry = req.timeline.get(kind=EntryKind.REOPENED)
    assert entry.by_requester and entry.public and entry.actor is None


@pytest.mark.parametrize("user", ["district_user", "secretary", "superuser"])
def test_staff_cannot_set_the_score_or_reopen_by_any_post(world, client, user):
    req = make_request(org=world.jb, status=RequestStatus.RESOLVED, phone=PHONE, resolved_at=timezone.now())
    client.force_login(getattr(world, user))
    payload = {"satisfaction": "1", "comment": "差", "reason": "重新打开", "status": RequestStatus.CLOSED,
               "reopen_count": "3", "satisfaction_comment": "差"}
    for step in ("confirm", "reopen", "close", "score", "satisfaction"):
        assert client.post(f"/services/requests/{req.tracking_code}/{step}/", payload).status_code == 404
    for step in [*STEPS, "reveal"]:
        data = {**payload, **{f"{step}-{key}": value for key, value in payload.items()}, f"{step}-body": "回复",
                f"{step}-reply": "答复", f"{step}-reason": "事由"}
        client.post(reverse(f"services:request_{step}", args=[req.tracking_code]), data)
    # The public confirm and reopen without a look-up in this session: sent to the look-up form.
    for name in ("services:public_track_confirm", "services:public_track_reopen"):
        response = client.post(reverse(name, kwargs={"code": req.tracking_code}), payload)
        assert response.status_code == 302 and response["Location"] == reverse("services:public_track")
    req.refresh_from_db()
    assert req.satisfaction is None and req.satisfaction_comment == "" and req.reopen_count == 0
    assert req.status == RequestStatus.RESOLVED
    assert not req.timeline.filter(kind__in=[EntryKind.CLOSED, EntryKind.REOPENED]).exists()


def test_staff_modules_never_call_the_requester_actions():
    """Only the public tracking views confirm or reopen (the staff views have no step for it)."""
    from pathlib import Path

    import services

    root = Path(services.__file__).parent
    callers = {p.relative_to(root).as_posix() for p in root.rglob("*.py")
               if re.search(r"request_(confirm|reopen)\(", p.read_text(encoding="utf-8"))}
    assert callers == {"views/public.py", "actions/handling.py"}
    assert not {"confirm", "reopen"} & set(STEPS)
