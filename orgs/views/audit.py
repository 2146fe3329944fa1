"""The audit log for district staff (/audit/): every write made through an action, newest first, filtered
by who, what, when and org subtree, paged by keyset ("older" carries the cursor), exported to .xlsx with the
same filters. Read-only: nothing here edits or deletes a row. Thin: orgs.selectors.audit reads.

The filter form lives here (one page uses it; it only validates GET values into plain filters)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from core.forms import BootstrapFormMixin
from core.xlsx import workbook_response
from orgs.models import Organization
from orgs.scoping import get_scoped_or_404, has_perm
from orgs.selectors import audit as selectors

NAV = "audit"
EXPORT_HEADERS = [
    gettext_lazy("时间"), gettext_lazy("操作人"), gettext_lazy("来源地址"), gettext_lazy("操作"), gettext_lazy("对象"),
    gettext_lazy("对象类型"), gettext_lazy("对象编号"), gettext_lazy("变更内容"),
]


class AuditFilterForm(BootstrapFormMixin, forms.Form):
    who = forms.CharField(label=gettext_lazy("操作人"), required=False, max_length=150)
    what = forms.CharField(label=gettext_lazy("操作"), required=False, max_length=60, widget=forms.Select)
    date_from = forms.DateField(label=gettext_lazy("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=gettext_lazy("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    org = forms.IntegerField(label=gettext_lazy("党组织（含下级）"), required=False, min_value=1, max_value=2**63 - 1,
                             widget=forms.Select)
    cursor = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(self, *args, org_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        what_choices = [("", _("全部操作"))] + [
            (f"{resource}.", f"{label}（{resource}.*）") for resource, label in selectors.AUDIT_RESOURCES.items()
        ]
        asked = (self.data.get("what") or "") if self.is_bound else ""
        if asked and asked not in dict(what_choices) and selectors.ACTION_PATTERN.match(asked):
            what_choices.append((asked, asked))  # an exact action (e.g. from a link in the table) stays selected
        self.fields["what"].widget.choices = what_choices
        self.fields["what"].widget.attrs.pop("maxlength", None)  # a select, not a text box
        self.fields["org"].widget.choices = [("", _("全部党组织"))] + list(org_choices)

    def clean_who(self):
        return self.cleaned_data["who"].strip()

    def clean_what(self):
        value = self.cleaned_data["what"].strip()
        if value and not selectors.ACTION_PATTERN.match(value):
            raise forms.ValidationError(_("操作应为“资源.”或“资源.动作”，例如 member. 或 member.update。"))
        return value

    def clean_cursor(self):
        value = self.cleaned_data["cursor"]
        if not value:
            return None
        position = selectors.decode_cursor(value)
        if position is None:
            raise forms.ValidationError(_("翻页位置无效，已从最新记录显示。"))
        return position

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("截止日期不能早于开始日期。"))
        return data


def _error_text(form: forms.Form) -> str:
    return "；".join(
        f"{form.fields[name].label}: {error}" if name in form.fields and form.fields[name].label else str(error)
        for name, errors in form.errors.items() for error in errors
    )


def _query(request, *, drop=("cursor", "format")) -> str:
    query = request.GET.copy()
    for name in drop:
        query.pop(name, None)
    return query.urlencode()


@login_required
@require_GET
def entry_list(request):
    if not has_perm(request.user, selectors.PERM):
        raise Http404
    form = AuditFilterForm(request.GET or None, org_choices=selectors.audit_org_choices(user=request.user))
    valid = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if form.is_bound else {}  # only the fields that passed
    exporting = request.GET.get("format") == "xlsx"
    if not valid:
        if exporting:  # never export other rows than asked for
            messages.error(request, _("筛选条件有误，未导出：%(errors)s") % {"errors": _error_text(form)})
            return redirect(f"{reverse('orgs:audit_list')}?{_query(request)}")
        messages.warning(request, _("部分筛选条件有误，已忽略：%(errors)s") % {"errors": _error_text(form)})
    org = None
    if data.get("org"):
        org = get_scoped_or_404(Organization.objects, request.user, "view", pk=data["org"])
    qs = selectors.audit_entries_filter(
        selectors.audit_entries_for(user=request.user), who=data.get("who", ""), what=data.get("what", ""),
        date_from=data.get("date_from"), date_to=data.get("date_to"), org=org,
    )
    if exporting:
        return _export(request, qs)
    page = selectors.audit_page(qs, after=data.get("cursor"))
    query = _query(request)
    return render(request, "orgs/audit/list.html", {
        "nav_section": NAV, "form": form, "entries": page.entries, "next_cursor": page.next_cursor,
        "query": query, "paged": bool(data.get("cursor")),
    })


def _export(request, qs):
    limit = selectors.EXPORT_LIMIT
    if selectors.audit_export_too_large(qs, limit=limit):
        messages.warning(request, _("符合条件的记录超过 %(limit)s 条，未导出；请缩小日期范围或其他筛选条件后再导出。")
                         % {"limit": limit})
        return redirect(f"{reverse('orgs:audit_list')}?{_query(request)}")
    title = _("操作日志")
    return workbook_response(filename=title, title=title, headers=[str(h) for h in EXPORT_HEADERS],
                             rows=selectors.audit_export_rows(qs, limit=limit))
