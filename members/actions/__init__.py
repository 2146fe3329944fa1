"""Writes for members. One module per area; import from here.

registry: member_create / member_update / member_reveal and the joining pipeline
transfers: the transfer state machine
imports: member import (preview/confirm) and roster comparison
"""

from members.actions.imports import *  # noqa: F401,F403
from members.actions.pipeline import *  # noqa: F401,F403
from members.actions.registry import *  # noqa: F401,F403
from members.actions.transfers import *  # noqa: F401,F403
