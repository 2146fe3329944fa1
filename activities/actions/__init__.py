"""Organizational-life writes: `records` (log a meeting with attendance, edit/resubmit, return, files) and
`exemptions` (组织生活豁免). The public names are re-exported so that `from activities import actions` keeps
working; tests that patch a module's internals patch `activities.actions.records`."""

from activities.actions.exemptions import MAX_EXEMPTION_DAYS, exemption_create
from activities.actions.records import (
    ACTIVITY_FIELDS,
    ALLOWED_EXTENSIONS,
    SUBMISSION_TOKEN_RE,
    ActivityAlreadySaved,
    activity_add_file,
    activity_add_files,
    activity_create,
    activity_remove_file,
    activity_return,
    activity_update,
    expected_members,
    is_voting,
    quorum_statement,
    sniff_type,
)

__all__ = [
    "ACTIVITY_FIELDS", "ALLOWED_EXTENSIONS", "ActivityAlreadySaved", "MAX_EXEMPTION_DAYS", "SUBMISSION_TOKEN_RE",
    "activity_add_file", "activity_add_files", "activity_create", "activity_remove_file", "activity_return",
    "activity_update", "exemption_create", "expected_members", "is_voting", "quorum_statement", "sniff_type",
]
