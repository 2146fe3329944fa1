"""Re-encrypt protected personal data with the newest key in FIELD_ENCRYPTION_KEYS.

Run after putting a new key first in FIELD_ENCRYPTION_KEYS (keep the old keys after it); when the command
has finished, the old keys may be removed. Works in batches, one transaction per batch, so a long run can be
interrupted and repeated (re-encrypting a value already under the newest key is harmless).
Blind indexes use BLIND_INDEX_KEY and do not change. Nothing decrypted is printed or logged.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from core import crypto
from members.models import Member, MemberImport, RosterComparison

# model → encrypted text fields to rotate
TARGETS = (
    (Member, ("id_number_encrypted", "phone_encrypted")),
    (MemberImport, ("file_encrypted",)),
    (RosterComparison, ("upload_encrypted",)),
)


class Command(BaseCommand):
    help = "用最新密钥重新加密党员身份证号、手机号及待处理的上传文件（密钥轮换）。"

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int = 500, **options):
        for model, fields in TARGETS:
            done = rotate_model(model, fields, batch_size=batch_size)
            self.stdout.write(f"{model._meta.label}: {done}")


def rotate_model(model, fields: tuple[str, ...], *, batch_size: int = 500) -> int:
    """Re-encrypt `fields` of every row of `model` in primary-key order; returns the number of rows changed."""
    changed = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                model._base_manager.select_for_update().filter(pk__gt=last_pk).order_by("pk").only("pk", *fields)[:batch_size]
            )
            if not batch:
                break
            dirty = []
            for row in batch:
                touched = False
                for field in fields:
                    token = getattr(row, field)
                    if token:
                        setattr(row, field, crypto.rotate(token))
                        touched = True
                if touched:
                    dirty.append(row)
            if dirty:
                model._base_manager.bulk_update(dirty, fields, batch_size=batch_size)
            changed += len(dirty)
            last_pk = batch[-1].pk
    return changed
