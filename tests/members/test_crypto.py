"""core.crypto: round trip, key rotation (and the rotate_member_keys command), blind indexes, masks."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from core import crypto
from members.actions.registry import ID_PURPOSE, PHONE_PURPOSE
from members.models import Member, MemberImport, RosterComparison
from tests.factories import MemberFactory, UserFactory, default_root
from tests.members import make_id

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def test_round_trip_and_empty_values(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    token = crypto.encrypt("13812345678")
    assert token and "13812345678" not in token
    assert crypto.decrypt(token) == "13812345678"
    assert crypto.encrypt("") == "" and crypto.decrypt("") == ""
    assert crypto.encrypt("13812345678") != token  # random IV: equal values do not give equal ciphertext


def test_old_key_still_decrypts_after_a_new_key_is_prepended(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    token = crypto.encrypt("secret")
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert crypto.decrypt(token) == "secret"
    rotated = crypto.rotate(token)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert crypto.decrypt(rotated) == "secret"
    with pytest.raises(ValueError):
        crypto.decrypt(token)  # the old key is gone


@pytest.mark.django_db
def test_rotate_command_reencrypts_members_and_pending_uploads(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    number, phone = make_id(seq=11), "13912345678"
    members = [
        MemberFactory(id_number_encrypted=crypto.encrypt(number), phone_encrypted=crypto.encrypt(phone)),
        MemberFactory(id_number_encrypted=crypto.encrypt(make_id(seq=13)), phone_encrypted=""),
        MemberFactory(),  # nothing encrypted: left alone
    ]
    user = UserFactory()
    upload = MemberImport.objects.create(org=default_root(), uploaded_by=user, filename="a.xlsx", file_encrypted=crypto.encrypt("file"))
    emptied = MemberImport.objects.create(org=default_root(), uploaded_by=user, filename="b.xlsx", file_encrypted="")
    roster = RosterComparison.objects.create(org=default_root(), uploaded_by=user, filename="r.xlsx", upload_encrypted=crypto.encrypt("roster"))

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    out = io.StringIO()
    call_command("rotate_member_keys", "--batch-size", "1", stdout=out)
    assert "members.Member: 2" in out.getvalue()
    assert number not in out.getvalue() and phone not in out.getvalue()

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # only the new key: everything must still decrypt
    first = Member.objects.get(pk=members[0].pk)
    assert crypto.decrypt(first.id_number_encrypted) == number
    assert crypto.decrypt(first.phone_encrypted) == phone
    assert Member.objects.get(pk=members[2].pk).id_number_encrypted == ""
    assert crypto.decrypt(MemberImport.objects.get(pk=upload.pk).file_encrypted) == "file"
    assert MemberImport.objects.get(pk=emptied.pk).file_encrypted == ""
    assert crypto.decrypt(RosterComparison.objects.get(pk=roster.pk).upload_encrypted) == "roster"


def test_blind_index_is_stable_normalized_and_purpose_separated(settings):
    settings.BLIND_INDEX_KEY = "test-index-key"
    number = make_id(seq=21)
    a = crypto.blind_index(number, purpose=ID_PURPOSE)
    assert a == crypto.blind_index(number, purpose=ID_PURPOSE)
    assert a == crypto.blind_index(f" {number[:6]} {number[6:].lower()} ", purpose=ID_PURPOSE)
    assert a != crypto.blind_index(number, purpose=PHONE_PURPOSE)
    assert number not in a and len(a) == 64
    assert crypto.blind_index("", purpose=ID_PURPOSE) is None
    settings.BLIND_INDEX_KEY = "another-key"
    assert crypto.blind_index(number, purpose=ID_PURPOSE) != a  # keyed: not a plain hash


def test_masks():
    assert crypto.mask_id_number("110105194912310021") == "110***********0021"
    assert crypto.mask_id_number("11010519491231002X") == "110***********002X"
    assert crypto.mask_phone("13812345678") == "138****5678"
    assert crypto.mask_phone("") == "" and crypto.mask_id_number("") == ""
    assert crypto.mask_phone("12345") == "*****"
