"""Generic scoped views (in the style of NetBox's generic views): every page is a class on one of these.

    ScopedListView    a filtered, keyset-paged list with .xlsx export and an htmx partial for filtering/paging
    ScopedDetailView  one object inside the user's scope
    ScopedFormView    a form whose valid data goes to an action; a DomainError lands on the form
    ScopedActionView  a POST-only action on one object; the outcome comes back as a message

What they decide for every page, so that pages do not (README "Who sees what"):
- Login is required (anonymous users go to the login page); `public = True` pages are the stated exceptions.
- `perm` ("member.view") is needed somewhere in the org tree, else the page is 404: a page you may not use
  does not exist for you, exactly like an object outside your subtree.
- Objects come from `queryset.restrict(user, action)` (the one scoping choke point, orgs.scoping): an object
  outside the user's subtree is 404, a list with nothing in scope is an empty page (never 403, never 404).
- Lists are paged by keyset (no OFFSET, no COUNT), at most `max_page_size` rows; the page size and the query
  count of every list are pinned by tests at two data sizes.
- Writes go through actions (`perform`); views never save a model.

The permission check is core.access.has_perm (installed by orgs), since core cannot import orgs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from core import access
from core.exceptions import DomainError, apply_to_form
from core.pagination import KeysetPage, keyset_page
from core.xlsx import workbook_response

#: query parameters that steer the list page itself, never a filter
CONTROL_PARAMS = ("cursor", "format", "per_page", "page")


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


class PortalView(LoginRequiredMixin, TemplateView):
    """Login, the page's permission gate and the shared context (menu section, title)."""

    #: the permission the page needs somewhere in the tree ("resource.action"); None: any logged-in user
    perm: ClassVar[str | None] = None
    #: the menu entry highlighted on this page (core.navigation)
    nav_section: ClassVar[str] = ""
    title: ClassVar[str] = ""
    #: True only for the pages open without an account (tests/test_architecture.py lists them)
    public: ClassVar[bool] = False
    #: True: the response is never cached (forms showing secrets, searches by personal data)
    never_cache: ClassVar[bool] = False

    def dispatch(self, request, *args, **kwargs):
        if self.public:
            response = super(LoginRequiredMixin, self).dispatch(request, *args, **kwargs)
        elif not request.user.is_authenticated:
            return self.handle_no_permission()
        else:
            self.check_permission()
            response = super(LoginRequiredMixin, self).dispatch(request, *args, **kwargs)
        if self.never_cache:
            add_never_cache_headers(response)
        return response

    def check_permission(self) -> None:
        if self.perm and not access.has_perm(self.request.user, self.perm):
            raise Http404

    def may(self, perm: str) -> bool:
        """For buttons: may the user do `perm` somewhere?"""
        return access.has_perm(self.request.user, perm)

    def get_title(self) -> str:
        return str(self.title)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("nav_section", self.nav_section)
        context.setdefault("title", self.get_title())
        context["view"] = self
        return context


class ScopedObjectMixin:
    """One object of `queryset`, restricted to the user's scope for `object_action`, looked up by URL kwarg."""

    queryset = None
    #: the scope action the object is fetched with ("view", "change", ...)
    object_action: ClassVar[str] = "view"
    lookup_field: ClassVar[str] = "pk"
    lookup_url_kwarg: ClassVar[str] = "pk"
    object = None

    def get_base_queryset(self):
        if self.queryset is None:
            raise NotImplementedError(f"{type(self).__name__} needs a queryset")
        return self.queryset.all()

    def get_object(self):
        qs = self.get_base_queryset().restrict(self.request.user, self.object_action)
        try:
            return qs.get(**{self.lookup_field: self.kwargs[self.lookup_url_kwarg]})
        except (qs.model.DoesNotExist, ValueError, TypeError):
            raise Http404 from None


class ScopedListView(PortalView):
    """A list: restricted queryset → filterset → keyset page; `?format=xlsx` exports what the filters select."""

    template_name = "core/generic/list.html"
    #: the table and its pager, rendered alone for htmx requests (filtering and paging swap only it)
    table_template_name: ClassVar[str] = "core/generic/_table.html"
    queryset = None
    action: ClassVar[str] = "view"
    filterset_class: ClassVar[type | None] = None
    #: a total ordering for keyset pages: non-null fields ending with a unique one
    ordering: ClassVar[tuple[str, ...]] = ("-pk",)
    page_size: ClassVar[int] = 50
    max_page_size: ClassVar[int] = 100
    #: show how many rows the filters select (one COUNT query per page, however deep; False skips it)
    show_total: ClassVar[bool] = True
    #: generic table: [(header, attribute path or callable(obj))]
    columns: ClassVar[list] = []
    #: the detail URL name for the first column's link (generic table); None: no link
    detail_url_name: ClassVar[str | None] = None
    #: export: headers and `export_row(obj)`; no headers means no export
    export_headers: ClassVar[list] = []
    export_title: ClassVar[str] = ""
    #: refuse (with a message) an export of more rows than this; None: no limit
    export_limit: ClassVar[int | None] = None

    # ---------------------------------------------------------------- data
    def get_queryset(self):
        if self.queryset is None:
            raise NotImplementedError(f"{type(self).__name__} needs a queryset or get_queryset()")
        return self.queryset.all().restrict(self.request.user, self.action)

    def filter_data(self):
        data = self.request.GET.copy()
        for name in CONTROL_PARAMS:
            data.pop(name, None)
        return data

    def get_filterset(self, queryset):
        if self.filterset_class is None:
            return None
        data = self.filter_data()
        return self.filterset_class(data or None, queryset=queryset, request=self.request)

    def filtered_queryset(self):
        qs = self.get_queryset()
        self.filterset = self.get_filterset(qs)
        if self.filterset is not None:
            qs = self.filterset.qs
        return qs

    def get_page_size(self) -> int:
        try:
            asked = int(self.request.GET.get("per_page") or self.page_size)
        except (TypeError, ValueError):
            asked = self.page_size
        return max(1, min(asked, self.max_page_size))

    def get_page(self, qs) -> KeysetPage:
        return keyset_page(qs, ordering=self.ordering, cursor=self.request.GET.get("cursor", ""),
                           size=self.get_page_size())

    def decorate(self, rows: list) -> list:
        """Hook: attach display values to the page's rows (masks, flags) without per-row queries."""
        return rows

    def query_string(self, *, drop=("cursor", "format", "page")) -> str:
        query = self.request.GET.copy()
        for name in drop:
            query.pop(name, None)
        return query.urlencode()

    # ---------------------------------------------------------------- export
    @property
    def exportable(self) -> bool:
        return bool(self.export_headers)

    def export_row(self, obj) -> list:
        return [_cell(obj, column) for _label, column in self.columns]

    def export_rows(self, qs):
        return (self.export_row(obj) for obj in qs.iterator(chunk_size=2000))

    def export(self, qs) -> HttpResponse:
        if self.export_limit is not None and qs[: self.export_limit + 1].count() > self.export_limit:
            messages.warning(self.request, _("符合条件的记录超过 %(limit)s 条，未导出；请缩小筛选范围后再导出。")
                             % {"limit": self.export_limit})
            return redirect(f"{self.request.path}?{self.query_string()}")
        title = str(self.export_title or self.get_title())
        return workbook_response(filename=title, title=title, headers=[str(h) for h in self.export_headers],
                                 rows=self.export_rows(qs))

    # ---------------------------------------------------------------- response
    def get(self, request, *args, **kwargs):
        qs = self.filtered_queryset()
        if request.GET.get("format") == "xlsx" and self.exportable:
            return self.export(qs)
        page = self.get_page(qs)
        page.object_list = self.decorate(page.object_list)
        total = qs.count() if self.show_total else None
        context = self.get_context_data(page=page, rows=page.object_list, total=total)
        if is_htmx(request) and request.headers.get("HX-Target") == "list-body":
            context["htmx_partial"] = True
            return self.response_class(request=request, template=[self.table_template_name], context=context,
                                       using=self.template_engine)
        return self.render_to_response(context)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.query_string()
        context.update({
            "filter": getattr(self, "filterset", None), "query": query, "table_template": self.table_template_name,
            "columns": [(label, _Column(column)) for label, column in self.columns],
            "detail_url_name": self.detail_url_name,
            "export_query": f"{query}&format=xlsx" if query else "format=xlsx",
            "exportable": self.exportable,
        })
        return context


class _Column:
    """A column handed to a template: the engine must not call a callable column without its row."""

    do_not_call_in_templates = True

    def __init__(self, column):
        self.column = column


def _cell(obj, column):
    if isinstance(column, _Column):
        column = column.column
    if callable(column):
        return column(obj)
    value = obj
    for part in column.split("."):
        value = getattr(value, part, None)
        if value is None:
            return ""
        if callable(value) and not hasattr(value, "all"):
            value = value()
    return value


class ScopedDetailView(ScopedObjectMixin, PortalView):
    template_name = "core/generic/detail.html"
    context_object_name: ClassVar[str] = "object"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return self.render_to_response(self.get_context_data(**{self.context_object_name: self.object,
                                                                "object": self.object}))


class ScopedFormView(ScopedObjectMixin, PortalView):
    """GET shows the form; a valid POST calls `perform(form)` (an action); a DomainError is shown on the form
    (on its field when it names one) and nothing is written; success redirects with a message."""

    template_name = "core/generic/form.html"
    form_class: ClassVar[type | None] = None
    #: the object the form acts on is fetched (for `object_action`, 404 outside scope) when `queryset` is set
    object_action: ClassVar[str] = "change"
    success_message: ClassVar[str] = ""
    submit_label: ClassVar[str] = ""
    #: pass the request's user to the form as `user=` (forms that offer only the orgs in scope)
    form_takes_user: ClassVar[bool] = True

    def check_permission(self) -> None:
        super().check_permission()
        if self.queryset is not None:
            self.object = self.get_object()

    def get_initial(self) -> dict:
        return {}

    def get_form_kwargs(self) -> dict:
        kwargs: dict[str, Any] = {"initial": self.get_initial()}
        if self.request.method == "POST":
            kwargs.update(data=self.request.POST, files=self.request.FILES)
        if self.form_takes_user:
            kwargs["user"] = self.request.user
        return kwargs

    def get_form(self):
        return self.form_class(**self.get_form_kwargs())

    def perform(self, form) -> Any:
        """Call the action with the form's cleaned data; return what `get_success_url` needs."""
        raise NotImplementedError

    def get_success_url(self, result) -> str:
        raise NotImplementedError

    def get_success_message(self, result) -> str:
        return str(self.success_message)

    def get_cancel_url(self) -> str | None:
        return None

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=self.get_form()))

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if form.is_valid():
            try:
                result = self.perform(form)
            except DomainError as exc:
                apply_to_form(form, exc)
            else:
                if isinstance(result, HttpResponse):
                    return result
                message = self.get_success_message(result)
                if message:
                    messages.success(request, message)
                return HttpResponseRedirect(self.get_success_url(result))
        return self.render_to_response(self.get_context_data(form=form))

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update({"object": self.object, "cancel_url": self.get_cancel_url(),
                        "submit_label": str(self.submit_label or _("保存"))})
        return context


class ScopedActionView(ScopedObjectMixin, PortalView):
    """POST only: fetch the object for `object_action`, `perform(obj)`, redirect with the outcome as a message."""

    http_method_names = ["post"]
    object_action: ClassVar[str] = "change"
    success_message: ClassVar[str] = ""

    def perform(self, obj) -> Any:
        raise NotImplementedError

    def get_success_url(self, obj) -> str:
        raise NotImplementedError

    def get_success_message(self, obj, result) -> str:
        return str(self.success_message)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        try:
            result = self.perform(self.object)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            message = self.get_success_message(self.object, result)
            if message:
                messages.success(request, message)
        return HttpResponseRedirect(self.get_success_url(self.object))
