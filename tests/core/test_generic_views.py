"""The generic scoped views (core.views.generic) through pages: small test pages on orgs.Organization (mounted
next to the real URLs by this module's urlconf) and the real pages already built on them."""

from __future__ import annotations

import html
import re

import django_filters
import pytest
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, include, path, reverse

from core import navigation
from core.exceptions import DomainError
from core.models import AuditEntry
from core.templatetags import portal_ui
from core.views.generic import PortalView, ScopedActionView, ScopedFormView, ScopedListView
from orgs.actions import org_dissolve, org_update
from orgs.models import Organization, OrgEvent, Role, Workplace
from tests.factories import UserFactory, fresh, grant, make_org

pytestmark = pytest.mark.urls(__name__)


# ---------------------------------------------------------------- test pages
class OrgFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Organization
        fields = ["name"]


class OrgListView(ScopedListView):
    perm = "org.view"
    title = "测试组织列表"
    queryset = Organization.objects.all()
    filterset_class = OrgFilterSet
    ordering = ("name", "pk")
    page_size = 3
    max_page_size = 4
    columns = [("名称", "name"), ("编码", "code"), ("状态", "get_status_display")]
    export_headers = ["名称", "编码"]
    export_limit = 5

    def export_row(self, obj):
        return [obj.name, obj.code]


class WorkplaceListView(ScopedListView):
    perm = "workplace.view"
    title = "测试单位列表"
    queryset = Workplace.objects.all()
    columns = [("名称", "name")]


class RenameForm(forms.Form):
    name = forms.CharField(max_length=50)
    reason = forms.CharField(max_length=50, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user


class OrgRenameView(ScopedFormView):
    """Renames, refusing names containing "坏" after the rename is written (in the same transaction)."""

    perm = "org.change"
    title = "测试改名"
    queryset = Organization.objects.all()
    form_class = RenameForm
    success_message = "已改名"

    def perform(self, form):
        with transaction.atomic():
            org = org_update(actor=self.request.user, org=self.object, name=form.cleaned_data["name"])
            if "坏" in form.cleaned_data["name"]:
                raise DomainError("名称不合规", field="name")
        return org

    def get_success_url(self, result):
        return reverse("t:org_list")


class OrgDissolveFormView(ScopedFormView):
    perm = "org.delete"
    object_action = "delete"
    title = "测试撤销"
    queryset = Organization.objects.all()
    form_class = RenameForm

    def perform(self, form):
        return org_dissolve(actor=self.request.user, org=self.object, reason=form.cleaned_data["reason"] or "测试")

    def get_success_url(self, result):
        return reverse("t:org_list")


class OrgDissolveActionView(ScopedActionView):
    perm = "org.delete"
    object_action = "delete"
    queryset = Organization.objects.all()
    success_message = "已撤销"

    def perform(self, obj):
        return org_dissolve(actor=self.request.user, org=obj, reason="测试")

    def get_success_url(self, obj):
        return reverse("t:org_list")


test_patterns = [
    path("orgs/", OrgListView.as_view(), name="org_list"),
    path("workplaces/", WorkplaceListView.as_view(), name="workplace_list"),
    path("orgs/<int:pk>/rename/", OrgRenameView.as_view(), name="org_rename"),
    path("orgs/<int:pk>/dissolve-form/", OrgDissolveFormView.as_view(), name="org_dissolve_form"),
    path("orgs/<int:pk>/dissolve/", OrgDissolveActionView.as_view(), name="org_dissolve"),
]
urlpatterns = [path("__generic-test__/", include((test_patterns, "t"))), path("", include("portal.urls"))]

HX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "list-body"}


def login(client, user):
    client.force_login(user)
    return client


def next_href(content: str) -> str | None:
    match = re.search(r'rel="next" href="([^"]+)"', content)
    return html.unescape(match.group(1)) if match else None


# ---------------------------------------------------------------- login and the permission gate
@pytest.mark.parametrize("name, args", [("t:org_list", []), ("t:org_rename", [1]), ("t:org_dissolve_form", [1])])
def test_anonymous_users_go_to_the_login_page(client, world, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_anonymous_post_to_an_action_goes_to_the_login_page_and_changes_nothing(client, world):
    response = client.post(reverse("t:org_dissolve", args=[world.group.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert fresh_org(world.group).status == "active"


def fresh_org(org):
    return Organization.objects.get(pk=org.pk)


def test_a_page_whose_permission_the_user_holds_nowhere_is_404(client, world):
    login(client, world.nobody)
    assert client.get(reverse("t:org_list")).status_code == 404
    login(client, world.viewer)  # org.view, but not org.change / org.delete
    assert client.get(reverse("t:org_list")).status_code == 200
    assert client.get(reverse("t:org_rename", args=[world.jb.pk])).status_code == 404
    assert client.post(reverse("t:org_dissolve", args=[world.group.pk])).status_code == 404
    assert fresh_org(world.group).status == "active"


def test_an_inactive_account_is_refused(client, world):
    login(client, world.inactive)
    response = client.get(reverse("t:org_list"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_object_outside_the_subtree_is_404_and_inside_it_is_the_page(client, world):
    login(client, world.secretary)  # secretary at jb: org.change on jb and its group
    assert client.get(reverse("t:org_rename", args=[world.br_f.pk])).status_code == 404
    assert client.post(reverse("t:org_rename", args=[world.br_f.pk]), {"name": "外面"}).status_code == 404
    assert fresh_org(world.br_f).name == "美团站点党支部"
    assert client.get(reverse("t:org_rename", args=[world.jb.pk])).status_code == 200
    assert client.get(reverse("t:org_rename", args=[999999])).status_code == 404


def test_a_list_shows_only_the_subtree_and_an_empty_scope_is_an_empty_page(client, world):
    login(client, world.secretary)
    response = client.get(reverse("t:org_list"))
    assert response.status_code == 200
    assert {o.name for o in response.context["rows"]} == {"快递联合党支部", "第一党小组"}
    assert response.context["total"] == 2
    lonely = UserFactory()
    grant(lonely, world.group, Role.SECRETARY)  # workplace.view at a node covering no workplace
    login(client, lonely)
    response = client.get(reverse("t:workplace_list"))
    assert response.status_code == 200
    assert list(response.context["rows"]) == [] and "data-empty" in response.content.decode()


# ---------------------------------------------------------------- paging, htmx, page size
def test_following_the_next_links_shows_every_row_once(client, world):
    login(client, world.district_user)
    url, seen, pages = reverse("t:org_list"), [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += [o.pk for o in response.context["rows"]]
        assert len(response.context["rows"]) <= 3
        pages += 1
        href = next_href(response.content.decode())
        url = f"{reverse('t:org_list')}{href}" if href else None
        assert pages < 20
    expected = list(Organization.objects.order_by("name", "pk").values_list("pk", flat=True))
    assert seen == expected and pages == 3


def test_the_next_link_keeps_the_filter(client, world):
    login(client, world.district_user)
    response = client.get(reverse("t:org_list"), {"name": "党", "per_page": 1})
    href = next_href(response.content.decode())
    assert "name=%E5%85%9A" in href and "per_page=1" in href and "cursor=" in href
    second = client.get(reverse("t:org_list") + href)
    assert not second.context["page"].first
    assert all("党" in o.name for o in second.context["rows"])


def test_htmx_requests_aimed_at_the_list_body_get_only_the_table(client, world):
    login(client, world.district_user)
    full = client.get(reverse("t:org_list")).content.decode()
    assert "<html" in full and 'id="list-body"' in full and 'role="search"' in full
    partial = client.get(reverse("t:org_list"), **HX).content.decode()
    assert "<html" not in partial and 'id="list-body"' not in partial and 'role="search"' not in partial
    assert "<table" in partial and "data-pager" in partial and "data-total" in partial
    # an htmx request aimed elsewhere, or a history restore, gets the whole page
    assert "<html" in client.get(reverse("t:org_list"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="main").content.decode()
    restore = client.get(reverse("t:org_list"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="list-body",
                         HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in restore.content.decode()


@pytest.mark.parametrize("asked, size", [("1000000", 4), ("4", 4), ("2", 2), ("0", 1), ("-3", 1), ("x", 3), ("", 3)])
def test_the_page_size_is_bounded(client, world, asked, size):
    login(client, world.district_user)
    response = client.get(reverse("t:org_list"), {"per_page": asked})
    assert response.context["page"].size == size
    assert len(response.context["rows"]) == size


def test_a_bad_cursor_shows_the_first_page(client, world):
    login(client, world.district_user)
    first = client.get(reverse("t:org_list")).context["rows"]
    for cursor in ("garbage", "a:b:c", "x" * 600):
        response = client.get(reverse("t:org_list"), {"cursor": cursor})
        assert response.status_code == 200 and response.context["page"].first
        assert [o.pk for o in response.context["rows"]] == [o.pk for o in first]


def test_the_list_costs_the_same_queries_as_rows_grow(client, world):
    login(client, world.district_user)
    url = reverse("t:org_list") + "?per_page=4"

    def count():
        client.get(url)  # warm the session and caches alike for both sizes
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    small = count()
    for i in range(30):
        make_org(f"新增支部{i}", parent=world.express, code=f"GV-{i:03d}")
    assert count() == small


# ---------------------------------------------------------------- export
def test_export_above_the_limit_is_refused_with_a_message(client, world):
    login(client, world.district_user)  # 8 orgs in scope, limit 5
    response = client.get(reverse("t:org_list"), {"format": "xlsx"})
    assert response.status_code == 302 and "format" not in response["Location"]
    page = client.get(response["Location"])
    assert "超过 5 条" in page.content.decode()


def test_export_within_the_limit_is_a_workbook_of_what_the_filters_select(client, world):
    login(client, world.district_user)
    response = client.get(reverse("t:org_list"), {"format": "xlsx", "name": "支部"})
    assert response.status_code == 200
    assert "spreadsheetml" in response["Content-Type"]
    from io import BytesIO

    from openpyxl import load_workbook

    content = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = load_workbook(BytesIO(content)).active
    values = {cell for row in sheet.iter_rows(values_only=True) for cell in row if cell}
    assert {"顺丰站点党支部", "快递联合党支部", "美团站点党支部"} <= values
    assert "区委两新工委" not in values


def test_the_export_limit_counts_only_the_users_scope(client, world):
    login(client, world.secretary)  # 2 orgs in scope
    response = client.get(reverse("t:org_list"), {"format": "xlsx"})
    assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"]


def test_a_list_without_export_headers_ignores_format(client, world):
    login(client, world.district_user)
    response = client.get(reverse("t:workplace_list"), {"format": "xlsx"})
    assert response.status_code == 200 and "text/html" in response["Content-Type"]


# ---------------------------------------------------------------- forms and actions
def test_a_valid_form_calls_the_action_and_redirects_with_the_message(client, world):
    login(client, world.district_user)
    response = client.post(reverse("t:org_rename", args=[world.group.pk]), {"name": "第一党小组（新）"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("t:org_list")
    assert "已改名" in response.content.decode()
    assert fresh_org(world.group).name == "第一党小组（新）"


def test_a_domain_error_lands_on_its_field_and_nothing_is_written(client, world):
    login(client, world.district_user)
    audit_before = AuditEntry.objects.count()
    events_before = OrgEvent.objects.count()
    response = client.post(reverse("t:org_rename", args=[world.group.pk]), {"name": "坏名字"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {"name": ["名称不合规"]}
    content = response.content.decode()
    assert "名称不合规" in content and 'aria-invalid="true"' in content
    assert fresh_org(world.group).name == "第一党小组"
    assert AuditEntry.objects.count() == audit_before and OrgEvent.objects.count() == events_before


def test_a_domain_error_from_the_action_is_a_form_error_and_nothing_is_written(client, world):
    login(client, world.district_user)
    audit_before = AuditEntry.objects.count()
    response = client.post(reverse("t:org_dissolve_form", args=[world.br_a.pk]), {"name": "x", "reason": "合并"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()  # br_a still has members
    assert fresh_org(world.br_a).status == "active"
    assert AuditEntry.objects.count() == audit_before


def test_an_invalid_form_is_shown_again_without_calling_the_action(client, world):
    login(client, world.district_user)
    response = client.post(reverse("t:org_rename", args=[world.group.pk]), {"name": ""})
    assert response.status_code == 200 and "name" in response.context["form"].errors
    assert fresh_org(world.group).name == "第一党小组"


def test_an_action_view_refuses_get_and_reports_a_domain_error_as_a_message(client, world):
    login(client, world.district_user)
    url = reverse("t:org_dissolve", args=[world.br_a.pk])
    assert client.get(url).status_code == 405
    audit_before = AuditEntry.objects.count()
    response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("t:org_list")
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1 and "alert-danger" in response.content.decode()
    assert fresh_org(world.br_a).status == "active" and AuditEntry.objects.count() == audit_before


def test_an_action_view_success_is_a_message(client, world):
    login(client, world.district_user)
    response = client.post(reverse("t:org_dissolve", args=[world.group.pk]), follow=True)
    assert "已撤销" in [str(m) for m in response.context["messages"]]
    assert fresh_org(world.group).status == "dissolved"


def test_an_action_on_an_object_outside_the_subtree_is_404(client, world):
    lone = UserFactory()
    grant(lone, world.express, Role.DISTRICT)
    login(client, lone)
    assert client.post(reverse("t:org_dissolve", args=[world.br_f.pk])).status_code == 404
    assert fresh_org(world.br_f).status == "active"


# ---------------------------------------------------------------- template tags
def render(source: str, **context) -> str:
    return Template("{% load portal_ui %}" + source).render(Context(context))


def test_status_badge_shows_the_label_and_the_registered_tone(world, monkeypatch):
    monkeypatch.setattr(portal_ui, "_tones", {})
    out = render("{% status_badge org %}", org=world.br_dead)
    assert 'data-status="dissolved"' in out and "已撤销" in out and "text-bg-light" in out  # neutral
    portal_ui.register_tones("orgs.Organization", "status", {"dissolved": "danger", "active": "success"})
    assert "text-bg-danger" in render("{% status_badge org %}", org=world.br_dead)
    assert "text-bg-success" in render("{% status_badge org 'status' %}", org=world.jb)
    assert render("{% status_badge none %}", none=None) == ""
    with pytest.raises(ValueError):
        portal_ui.register_tones("orgs.organization", "status", {"active": "purple"})


def test_masked_marks_masked_values_and_dashes_empty_ones():
    out = render("{% masked v 'id_number' %}", v="1101**********1234")
    assert 'data-masked="id_number"' in out and "1101**********1234" in out
    assert render("{% masked v %}", v="") == "—"
    assert "&lt;b&gt;" in render("{% masked v %}", v="<b>")


def test_cell_follows_attribute_paths_calls_methods_and_escapes(world):
    world.jb.name = "<script>x</script>"
    assert render("{% cell o 'name' %}", o=world.jb) == "&lt;script&gt;x&lt;/script&gt;"
    assert render("{% cell o 'get_parent.name' %}", o=world.jb) == "快递行业党委"
    assert render("{% cell o 'get_status_display' %}", o=world.jb) == "正常"
    assert render("{% cell o 'get_parent.get_parent.get_parent.name' %}", o=world.jb) == "—"  # None on the way
    assert render("{% cell o 'no_such_attribute' %}", o=world.jb) == "—"
    assert portal_ui.cell(world.jb, lambda obj: obj.code) == "EXP-J"  # a callable column, called with the row


def test_a_callable_column_renders_in_the_generic_table(client, world):
    class WithCallable(OrgListView):
        columns = [("名称", "name"), ("编码小写", lambda obj: obj.code.lower())]

    request = RequestFactory().get("/", {"name": "联合"})
    request.user = world.district_user
    response = WithCallable.as_view()(request)
    content = response.render().content.decode()
    assert "快递联合党支部" in content  # the table is there
    assert "exp-j" in content


# ---------------------------------------------------------------- the menu
def _menu_keys(user) -> set[str]:
    request = RequestFactory().get("/")
    request.user = user
    context = navigation.navigation(request)
    return {e["key"] for e in context.get("nav_menu", []) + context.get("nav_manage", [])}


@pytest.mark.parametrize("who", ["district_user", "secretary", "instructor", "viewer", "nobody", "superuser"])
def test_the_menu_lists_exactly_the_entries_the_user_may_use(client, world, who):
    from core import access

    user = fresh(getattr(world, who))
    keys = _menu_keys(user)
    expected = {item.key for item in navigation.menu_items()
                if (item.perm is None or access.has_perm(user, item.perm)) and navigation.optional_url(item.url_name)}
    assert keys == expected
    if who == "viewer":
        assert not keys & {"members", "transfers", "users", "audit", "rules", "service_requests"}
    if who == "nobody":
        assert all(item.perm is None for item in navigation.menu_items() if item.key in keys)
    login(client, user)
    for item in navigation.menu_items():
        url = navigation.optional_url(item.url_name)
        if url is None:
            continue
        status = client.get(url).status_code
        if item.key in keys:
            assert status == 200, f"{who} sees {item.key} in the menu but {url} answers {status}"
        elif _view_class(url) is not None:
            assert status == 404, f"{who} does not see {item.key} but {url} answers {status}"


def test_every_menu_entry_asks_the_permission_its_page_asks():
    """Else the menu offers a page that is 404 for some users, or hides one they may use."""
    mismatched = []
    for item in navigation.menu_items():
        url = navigation.optional_url(item.url_name)
        view_class = _view_class(url) if url else None
        if view_class is not None and view_class.perm != item.perm:
            mismatched.append(f"{item.key}: menu {item.perm!r}, page {view_class.perm!r}")
    assert mismatched == []


def test_the_menu_is_empty_for_anonymous_users():
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert navigation.navigation(request) == {}


def _view_class(url: str):
    from django.urls import resolve

    view_class = getattr(resolve(url).func, "view_class", None)
    return view_class if view_class is not None and issubclass(view_class, PortalView) else None


# ---------------------------------------------------------------- real pages on the generic views
def _real_list_pages() -> list[str]:
    """URL names of the real pages (no URL arguments) that are ScopedListView classes right now."""
    from tests.view_cases import url_patterns

    found = []
    for name, pattern in url_patterns(get_resolver("portal.urls")):
        view_class = getattr(pattern.callback, "view_class", None)
        if view_class and issubclass(view_class, ScopedListView) and not pattern.pattern.regex.groupindex:
            found.append(name)
    return found


@pytest.mark.parametrize("name", _real_list_pages())
def test_real_lists_answer_htmx_with_the_table_only_and_bound_the_page_size(client, world, name):
    view_class = get_resolver("portal.urls").resolve(reverse(name)).func.view_class
    login(client, world.superuser)
    url = reverse(name)
    assert client.get(url).status_code == 200
    partial = client.get(url, **HX)
    assert partial.status_code == 200
    content = partial.content.decode()
    assert "<html" not in content and 'id="list-body"' not in content and 'role="search"' not in content
    response = client.get(url, {"per_page": "1000000"})
    assert response.status_code == 200
    assert response.context["page"].size == view_class.max_page_size
    client.logout()
    assert "/login/" in client.get(url)["Location"]


def test_the_org_picker_is_a_generic_page(client, world):
    from django.urls import resolve

    assert issubclass(resolve(reverse("orgs:org_pick")).func.view_class, PortalView)
    assert "/login/" in client.get(reverse("orgs:org_pick"))["Location"]

