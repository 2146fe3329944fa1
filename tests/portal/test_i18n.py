"""The English catalogue: source strings are Simplified Chinese, English comes from locale/en.

The compiled django.mo is not in git (`make install` / deploys run `manage.py compilemessages`);
the module fixture below compiles it when it is missing or older than the .po.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, trans_real

from core.models import User

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
PO_PATH = LOCALE_DIR / "django.po"
MO_PATH = LOCALE_DIR / "django.mo"

# Han ideographs, CJK punctuation (、。「」…) and fullwidth punctuation such as ：（），
# but not the fullwidth ＋ that the tree's expand buttons really show.
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff0a\uff0c-\uff20]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False


def _unquote(text: str) -> str:
    body = text.strip()
    assert body.startswith('"') and body.endswith('"'), body
    body = body[1:-1]
    return re.sub(r'\\(["\\nt])', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader: msgctxt, msgid(_plural), msgstr[n], continuation lines, flags."""
    entries: list[Entry] = []
    current = Entry()
    key: tuple[str, int] | None = None
    started = False

    def flush():
        nonlocal current, started, key
        if started:
            entries.append(current)
        current, started, key = Entry(), False, None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#~"):
            current.obsolete = True
            continue
        if not line:
            flush()
            continue
        if line.startswith("#,"):
            if started:
                flush()
            current.flags.update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith("#"):
            if started and key and key[0] == "msgstr":
                flush()
            continue
        m = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(\".*\")$", line)
        if m:
            kind, index, value = m.group(1), int(m.group(2) or 0), _unquote(m.group(3))
            if kind in ("msgctxt", "msgid") and started and key and key[0] == "msgstr":
                flush()
            started = True
            key = (kind, index)
        elif line.startswith('"') and key:
            kind, index, value = key[0], key[1], _unquote(line)
        else:
            raise AssertionError(f"unparsed line in {path.name}: {raw!r}")
        if kind == "msgctxt":
            current.msgctxt = (current.msgctxt or "") + value
        elif kind == "msgid":
            current.msgid += value
        elif kind == "msgid_plural":
            current.msgid_plural = (current.msgid_plural or "") + value
        else:
            current.msgstr[index] = current.msgstr.get(index, "") + value
    flush()
    return entries


@pytest.fixture(scope="module", autouse=True)
def english_catalogue():
    """Compile locale/en when the .mo is missing or stale, and make Django reload catalogues."""
    assert PO_PATH.exists(), "run manage.py makemessages -l en first"
    if not MO_PATH.exists() or MO_PATH.stat().st_mtime < PO_PATH.stat().st_mtime:
        call_command("compilemessages", locale=["en"], ignore_patterns=[".venv", "node_modules"], verbosity=0)
        # Catalogues are cached per process: drop them so the fresh .mo is read.
        trans_real._translations = {}
        trans_real._default = None
    assert MO_PATH.exists()


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    return parse_po(PO_PATH)


def _messages(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.msgid and not e.obsolete]


# ------------------------------------------------------------------ catalogue file


def test_header_is_english_with_english_plural_forms(po_entries):
    header = next(e for e in po_entries if e.msgid == "")
    text = header.msgstr[0]
    assert "Language: en\n" in text
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in text
    assert "charset=UTF-8" in text
    assert "fuzzy" not in header.flags


def test_every_message_has_an_english_translation(po_entries):
    messages = _messages(po_entries)
    assert len(messages) > 200  # the whole UI, not a stub
    problems = []
    for e in messages:
        if "fuzzy" in e.flags:
            problems.append(f"fuzzy: {e.msgid}")
        expected_forms = 2 if e.msgid_plural is not None else 1
        forms = [e.msgstr.get(i, "") for i in range(expected_forms)]
        for form in forms:
            if not form.strip():
                problems.append(f"empty msgstr: {e.msgid}")
            elif CJK.search(form):
                problems.append(f"Chinese left in msgstr: {e.msgid} -> {form}")
    assert not problems, "\n".join(problems)


def test_placeholders_are_kept(po_entries):
    problems = []
    for e in _messages(po_entries):
        source = set(PLACEHOLDER.findall(e.msgid)) | set(PLACEHOLDER.findall(e.msgid_plural or ""))
        for form in e.msgstr.values():
            if set(PLACEHOLDER.findall(form)) != source:
                problems.append(f"{e.msgid!r}: {sorted(source)} vs {form!r}")
    assert not problems, "\n".join(problems)


def test_compiled_catalogue_matches_po(po_entries):
    """Every simple message really translates at run time (the .mo is current and loaded)."""
    wrong = []
    with translation.override("en"):
        for e in _messages(po_entries):
            if e.msgctxt is not None or e.msgid_plural is not None:
                continue
            got = gettext(e.msgid)
            if got != e.msgstr[0]:
                wrong.append(f"{e.msgid!r}: got {got!r}, expected {e.msgstr[0]!r}")
    assert not wrong, "\n".join(wrong)


# ------------------------------------------------------------------ key terms


@pytest.mark.parametrize(
    ("source", "english"),
    [
        ("组织体系", "Organization tree"),
        ("覆盖概览", "Coverage overview"),
        ("覆盖单位", "Workplaces"),
        ("空白点", "Gaps"),
        ("党支部", "Party branch"),
        ("联合党支部", "Joint Party branch"),
        ("党总支", "General Party branch"),
        ("党小组", "Party group"),
        ("行业党委", "Industry Party committee"),
        ("组织覆盖", "Organization coverage"),
        ("工作覆盖", "Work coverage"),
        ("党建指导员", "Party-building instructor"),
        ("党建联络员", "Party-building liaison"),
        ("单独组建", "Own branch"),
        ("联合组建", "Joint branch"),
        ("区域联建", "Area-based"),
        ("行业统建", "Industry-built"),
        ("文号", "Document no."),
        ("快递", "Express delivery"),
        ("外卖配送", "Food delivery"),
        ("网约车", "Ride-hailing"),
        ("网络货运", "Online freight"),
        ("网络直播", "Live streaming"),
        ("网约家政", "On-demand domestic work"),
        ("登录", "Log in"),
    ],
)
def test_key_terms(source, english):
    with translation.override("en"):
        assert gettext(source) == english
    with translation.override("zh-hans"):
        assert gettext(source) == source


def test_interpolated_messages():
    with translation.override("en"):
        assert gettext("已设立“%(name)s”。") % {"name": "X"} == "“X” has been set up."
        assert gettext("第 %(n)s / %(total)s 页") % {"n": 2, "total": 5} == "Page 2 of 5"
        assert (
            gettext("联合党支部覆盖单位不能超过%(limit)d个（当前选择了%(count)d个）。") % {"limit": 5, "count": 6}
            == "A joint Party branch may cover at most 5 workplaces (6 selected)."
        )


def test_model_choices_follow_the_active_language():
    from orgs.models import Industry, OrgKind

    with translation.override("en"):
        assert str(OrgKind.JOINT_BRANCH.label) == "Joint Party branch"
        assert str(Industry.EXPRESS.label) == "Express delivery"
    with translation.override("zh-hans"):
        assert str(OrgKind.JOINT_BRANCH.label) == "联合党支部"


# ------------------------------------------------------------------ pages


def _h1(html: str) -> str:
    m = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert m, "page has no <h1>"
    return re.sub(r"<[^>]+>", "", m.group(1)).strip()


@pytest.mark.django_db
def test_login_page_in_english_via_language_cookie(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert _h1(html) == "Log in"
    assert "登录" not in _h1(html)
    assert '<html lang="en">' in html
    assert "Username" in html and "Password" in html
    assert "Party-Building Platform for New-Employment Groups" in html


@pytest.mark.django_db
def test_login_page_defaults_to_chinese(client):
    response = client.get(reverse("login"), headers={"accept-language": ""})
    html = response.content.decode()
    assert _h1(html) == "登录"
    assert '<html lang="zh-hans">' in html


@pytest.mark.django_db
def test_language_switch_for_a_signed_in_user(client):
    user = User.objects.create_user(username="i18n-user", password="a-long-test-password-2026")
    client.force_login(user)

    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("home")})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    html = client.get(reverse("home")).content.decode()
    assert '<html lang="en">' in html
    assert "Coverage overview" in html
    assert "Organization tree" in html
    assert "Your account has not been granted access to any Party organization." in html
    assert "覆盖概览" not in html

    client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("home")})
    assert "覆盖概览" in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_overview_in_english_for_a_district_user(client, world):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(world.district_user)
    html = client.get(reverse("home")).content.decode()
    for text in ("Two coverages", "Organization coverage", "Work coverage", "Gaps", "By industry", "By subdistrict",
                 "Express delivery", "Food delivery", "District Organization Department staff"):
        assert text in html, text
    # The page's own labels are English; only data (org, region, workplace names) stays Chinese.
    for label in ("覆盖概览", "组织覆盖", "工作覆盖", "按行业", "按街道", "区委组织部工作人员"):
        assert label not in html, label
