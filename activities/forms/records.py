"""Forms of organizational life: log/edit a record (one page, one submit), return for correction, upload.

Attendance is not a form field: the template posts `att-<member id>` (present/absent/leave) and
`reason-<member id>` per expected member, and `attendance_from_post` turns them into the action's dict.
"""

from __future__ import annotations

import secrets

from django import forms
from django.utils.translation import gettext_lazy as _

from activities.actions import SUBMISSION_TOKEN_RE
from activities.models import ActivityKind, AttendanceStatus
from core.forms import BootstrapFormMixin
from orgs.forms.pickers import use_org_picker
from orgs.models import Organization, OrgKind
from orgs.scoping import grant_paths, path_q


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several uploads in one input; each is checked by the action (type, magic bytes, size)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,.pdf,.docx,.xlsx"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def loggable_orgs(user):
    """Orgs where `user` may log records (activity.add): active, not Party groups."""
    qs = Organization.objects.active().exclude(kind=OrgKind.PARTY_GROUP).order_by("path")
    if user.is_superuser:
        return qs
    paths = grant_paths(user, "activity.add")
    return qs.filter(path_q("path", paths)) if paths else qs.none()


def party_groups_of(org):
    return Organization.objects.active().filter(kind=OrgKind.PARTY_GROUP, path__startswith=org.path, depth=org.depth + 1).order_by("path")


class ActivityForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=ActivityKind.choices, widget=forms.RadioSelect)
    party_group = forms.ModelChoiceField(label=_("党小组"), queryset=Organization.objects.none(), required=False,
                                         help_text=_("党小组会必选"))
    starts_at = forms.DateTimeField(label=_("开始时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    ends_at = forms.DateTimeField(label=_("结束时间"), required=False,
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    place = forms.CharField(label=_("地点"), max_length=200, required=False)
    online = forms.BooleanField(label=_("线上开展"), required=False)
    topic = forms.CharField(label=_("议题/主题"), max_length=200)
    host = forms.CharField(label=_("主持人"), max_length=50, required=False)
    recorder = forms.CharField(label=_("记录人"), max_length=50, required=False)
    lecturer = forms.CharField(label=_("授课人"), max_length=50, required=False, help_text=_("党课必填"))
    minutes = forms.CharField(label=_("会议记录"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    decisions = forms.CharField(label=_("决议事项"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    makes_decision = forms.BooleanField(label=_("有表决事项（支部党员大会，核验法定人数）"), required=False)
    # On a phone: take photos with the camera (documents can be added on the record's page).
    files = MultipleFileField(label=_("照片"), help_text=_("可多选；jpg、png、webp 照片"),
                              widget=MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"}))
    # One-time token of this form (new records only): a second post of the same form saves nothing.
    submission_token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, org, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        self.fields["party_group"].queryset = party_groups_of(org)
        self.fields["kind"].widget.attrs.pop("class", None)
        if editing:
            del self.fields["files"]
            del self.fields["submission_token"]
        else:
            self.fields["submission_token"].initial = secrets.token_urlsafe(24)

    def clean_submission_token(self) -> str:
        """A malformed token (not one this form issued) is dropped rather than shown as an error."""
        token = self.cleaned_data.get("submission_token") or ""
        return token if SUBMISSION_TOKEN_RE.fullmatch(token) else ""


class ReturnForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("退回原因"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))


class UploadForm(BootstrapFormMixin, forms.Form):
    files = MultipleFileField(label=_("照片和附件"), required=True)


class PickOrgForm(forms.Form):
    """"Log a meeting" for users who may log for several orgs: which one (a searching picker, never every org)."""

    org = forms.ModelChoiceField(label=_("选择党组织"), queryset=Organization.objects.none(),
                                 widget=forms.Select(attrs={"class": "form-select mb-3", "id": "org-pick"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = loggable_orgs(user)
        self.fields["org"].label_from_instance = lambda org: f"{org.name}（{org.get_kind_display()}）"
        use_org_picker(self.fields["org"], "activity.add")


class CalendarOrgForm(forms.Form):
    """The calendar's org (its subtree is shown): a searching picker over the orgs the user may view."""

    org = forms.ModelChoiceField(label=_("党组织（含下级）"), queryset=Organization.objects.none(), required=False,
                                 widget=forms.Select(attrs={"class": "form-select"}))

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("auto_id", "cal-%s")
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = Organization.objects.restrict(user, "view").active().order_by("path")
        use_org_picker(self.fields["org"], "org.view")


def attendance_from_post(data, member_ids) -> dict[int, tuple[str, str]]:
    """{member id: (status, reason)} from `att-<id>`/`reason-<id>`; members without a value stay present."""
    result = {}
    for member_id in member_ids:
        status = data.get(f"att-{member_id}")
        if status:
            result[member_id] = (status if status in AttendanceStatus.values else "", data.get(f"reason-{member_id}", ""))
    return result


__all__ = ["ActivityForm", "CalendarOrgForm", "PickOrgForm", "ReturnForm", "UploadForm", "attendance_from_post",
           "loggable_orgs", "party_groups_of"]
