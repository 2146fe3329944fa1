"""Organizational-life forms: `records` (log/edit a record, return, upload) and `exemptions`."""

from activities.forms.exemptions import ExemptionForm
from activities.forms.records import (
    ActivityForm,
    CalendarOrgForm,
    PickOrgForm,
    ReturnForm,
    UploadForm,
    attendance_from_post,
    loggable_orgs,
    party_groups_of,
)

__all__ = ["ActivityForm", "CalendarOrgForm", "ExemptionForm", "PickOrgForm", "ReturnForm", "UploadForm",
           "attendance_from_post", "loggable_orgs", "party_groups_of"]
