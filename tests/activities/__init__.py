"""Helpers for the organizational-life tests."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from activities.actions import activity_create
from activities.models import ActivityKind

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    Workbook().save(buffer)
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def log(world, *, kind: str = ActivityKind.THEME_DAY, org=None, actor=None, topic: str = "学习党章", **kwargs):
    """A record logged by the jb secretary (by default) through the action."""
    if kind == ActivityKind.GROUP_MEETING:
        kwargs.setdefault("party_group", world.group)
    if kind == ActivityKind.PARTY_LECTURE:
        kwargs.setdefault("lecturer", "王书记")
    kwargs.setdefault("starts_at", timezone.now())
    return activity_create(actor=actor or world.secretary, org=org or world.jb, kind=kind, topic=topic, **kwargs)
