"""Reads for members, restricted to what the user may see. One module per area; import from here."""

from members.selectors.registry import *  # noqa: F401,F403
