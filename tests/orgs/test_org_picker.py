"""The org picker (orgs:org_pick + core.forms.SearchSelect): it searches among the orgs where the user may do
a permission, never lists one outside them, and a select over thousands of orgs renders only a handful."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.urls import reverse

from core.forms import SearchSelect
from orgs.forms.pickers import org_picker, use_org_picker
from orgs.models import Organization, Role
from orgs.selectors import orgs_where
from tests.factories import UserFactory, fresh, grant, make_branch

OPTION = re.compile(r'<option value="(\d*)"')


def options(content: str) -> list[str]:
    """The values of the rendered <option>s ("" for the placeholder and the "more" marker)."""
    return OPTION.findall(content)


def pick(client, **params):
    response = client.get(reverse("orgs:org_pick"), params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def many(world):
    """200 more branches under the express committee (210 active orgs in its subtree)."""
    for i in range(200):
        make_branch(f"批量支部{i:03d}", parent=world.express, code=f"BULK-{i:03d}")
    return world.refresh()


def test_the_picker_lists_only_orgs_in_scope_for_the_permission(client, world):
    client.force_login(world.secretary)  # secretary at jb: org.view on jb and its group
    content = pick(client, perm="org.view")
    shown = {int(v) for v in options(content) if v}
    assert shown == {world.jb.pk, world.group.pk}
    assert "美团站点党支部" not in content and "区委两新工委" not in content


def test_the_picker_follows_the_permission_asked(client, world):
    client.force_login(world.instructor)  # instructor at express: org.view, but no member.add anywhere
    assert {int(v) for v in options(pick(client, perm="org.view")) if v} == set(
        Organization.objects.active().filter(path__startswith=world.express.path).values_list("pk", flat=True))
    assert [v for v in options(pick(client, perm="member.add")) if v] == []


@pytest.mark.parametrize("perm", ["", "nonsense", "org.fly", "org.view' OR 1=1"])
def test_an_unknown_permission_lists_nothing(client, world, perm):
    client.force_login(world.district_user)
    content = pick(client, perm=perm)
    assert [v for v in options(content) if v] == []
    assert "没有匹配的选项" in content


def test_the_picker_matches_by_name(client, world):
    client.force_login(world.district_user)
    content = pick(client, perm="org.view", q="快递")
    assert {int(v) for v in options(content) if v} == {world.express.pk, world.jb.pk}
    # the widget's own search box sends `<name>__q`
    content = pick(client, perm="org.view", name="org", org__q="美团")
    assert {int(v) for v in options(content) if v} == {world.br_f.pk}
    assert [v for v in options(pick(client, perm="org.view", q="不存在的名字")) if v] == []


def test_the_picker_never_lists_dissolved_orgs(client, world):
    client.force_login(world.district_user)
    assert "已撤销党支部" not in pick(client, perm="org.view", q="撤销")


def test_the_picker_shows_at_most_twenty_and_a_more_marker(client, many):
    client.force_login(many.district_user)
    content = pick(client, perm="org.view")
    assert len([v for v in options(content) if v]) == 20
    assert "结果较多" in content and "disabled" in content
    narrow = pick(client, perm="org.view", q="批量支部19")  # 190..199
    assert len([v for v in options(narrow) if v]) == 10 and "结果较多" not in narrow


def test_the_picker_needs_a_login(client, world):
    response = client.get(reverse("orgs:org_pick"), {"perm": "org.view"})
    assert response.status_code == 302 and "/login/" in response["Location"]


# ---------------------------------------------------------------- a form with the picker
class OrgForm(forms.Form):
    org = forms.ModelChoiceField(queryset=Organization.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs_where(user=user, perm="org.view").order_by("path")
        use_org_picker(self.fields["org"], "org.view")


def test_a_form_over_200_orgs_renders_at_most_21_options_and_a_search_box(many, django_assert_max_num_queries):
    user = fresh(many.instructor)  # express subtree: 210 orgs
    form = OrgForm(user=user)
    with django_assert_max_num_queries(3):
        html = form.as_p()
    assert len(options(html)) <= 21  # the placeholder and 20 orgs
    assert isinstance(form.fields["org"].widget, SearchSelect)
    assert reverse("orgs:org_pick") in html and "perm=org.view" in html and 'name="org__q"' in html


def test_a_chosen_org_not_among_the_first_twenty_is_rendered_and_valid(many):
    user = fresh(many.instructor)
    last = Organization.objects.filter(code="BULK-199").get()
    form = OrgForm({"org": str(last.pk)}, user=user)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["org"] == last
    html = str(form["org"])
    values = options(html)
    assert str(last.pk) in values and len(values) <= 22  # the chosen one besides the 20 first
    assert re.search(rf'<option value="{last.pk}" selected>', html)


def test_an_org_outside_the_scope_is_refused(many):
    user = fresh(many.instructor)
    form = OrgForm({"org": str(many.br_f.pk)}, user=user)  # food committee: not the instructor's
    assert not form.is_valid() and "org" in form.errors
    assert str(many.br_f.pk) not in options(str(form["org"]))
    assert not OrgForm({"org": "not-a-number"}, user=user).is_valid()


def test_the_widget_leaves_plain_choices_alone():
    widget = SearchSelect(search_url="/x/")
    widget.choices = [(str(i), f"选项{i}") for i in range(40)]
    assert len(options(widget.render("kind", "3"))) == 40


def test_org_picker_builds_the_search_url():
    widget = org_picker("member.add", limit=5)
    assert widget.limit == 5 and widget.search_params == {"perm": "member.add"}


# ---------------------------------------------------------------- a real page's filter
def test_the_member_list_org_filter_renders_few_options_with_200_orgs(client, many):
    account = UserFactory()
    grant(account, many.express, Role.SECRETARY)  # member.view and org.view over 210 orgs
    client.force_login(account)
    response = client.get(reverse("members:member_list"))
    assert response.status_code == 200
    select = re.search(r'<select name="org".*?</select>', response.content.decode(), re.S)
    assert select, "the member list has an org filter"
    assert len(options(select.group(0))) <= 21
    last = Organization.objects.get(code="BULK-199")
    response = client.get(reverse("members:member_list"), {"org": last.pk})
    select = re.search(r'<select name="org".*?</select>', response.content.decode(), re.S).group(0)
    assert str(last.pk) in options(select) and len(options(select)) <= 22
