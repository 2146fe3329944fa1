"""Real-browser journeys (Playwright, sync API) against pytest-django's live server.

They drive Debian's Chromium, never a browser downloaded by `playwright install`: the path comes from
CHROMIUM_PATH (set by the real-services leg of .ci/run) or /usr/bin/chromium. Without one, the module skips.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password

# --disable-background-networking & co.: on a closed network Chromium's own background connections
# (component updates, sync, QUIC probes) are refused and slow it down; the tests need none of them.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_executable() -> str | None:
    """The first executable Chromium among CHROMIUM_PATH and /usr/bin/chromium, or None."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), DEFAULT_CHROMIUM):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None
