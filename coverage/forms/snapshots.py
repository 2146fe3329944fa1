"""The "生成快照" form: orgs limited to where the user may take snapshots (snapshot.add). A district holds
thousands of orgs, so the field searches (orgs:org_pick) instead of listing them all."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from coverage.selectors.snapshots import snapshot_orgs
from orgs.forms.pickers import use_org_picker


class SnapshotRequestForm(BootstrapFormMixin, forms.Form):
    org = forms.ModelChoiceField(label=_("党组织"), queryset=None, empty_label=None,
                                 help_text=_("统计本月1日至今的覆盖、党员、组织生活和服务诉求情况"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = snapshot_orgs(user=user, perm="snapshot.add")
        use_org_picker(self.fields["org"], "snapshot.add")
