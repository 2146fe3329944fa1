"""Forms of the members app, one module per area: registry, transfers, imports (member import and roster
comparison). Re-exported here for code that imports `members.forms`."""

from members.forms.imports import MemberImportForm, RosterUploadForm
from members.forms.registry import AdvanceForm, ExactSearchForm, ExtendProbationForm, MemberForm, RevealForm
from members.forms.transfers import TransferActForm, TransferRequestForm, receiving_org_choices

__all__ = [
    "AdvanceForm", "ExactSearchForm", "ExtendProbationForm", "MemberForm", "RevealForm", "TransferActForm",
    "TransferRequestForm", "receiving_org_choices", "MemberImportForm", "RosterUploadForm",
]
