"""Signals the foundation defines so that lower layers can ask upper layers to react without importing them.

Receivers run synchronously, in the sender's transaction (Django signals are plain calls): a receiver that
writes rows writes them atomically with the action that sent the signal.
"""

from django.dispatch import Signal

# "Tell these users": the inbox (notifications.receivers) writes one notice per user.
# kwargs: user_ids (iterable of ints), title, body, url, kind ("system", "report", "reminder").
notice_requested = Signal()
