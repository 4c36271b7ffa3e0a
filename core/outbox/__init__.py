"""The transactional outbox (MS-5, SR-4): side effects written with the change, sent by a worker.

``queue`` holds the table-as-queue operations and the crash semantics, ``transports`` the ways
an email leaves (SMTP, local mailbox), ``worker`` the loop that joins them, and ``staff`` what
the Outbox screen reads and the one staff action (resend an uncertain item).
"""

from core.outbox.queue import (
    ClaimedItem,
    OutboxRequest,
    Recovery,
    RetryPolicy,
    claim,
    enqueue,
    enqueue_many,
    mark_failed,
    mark_retry,
    mark_sent,
    recover_stale,
)
from core.outbox.staff import OutboxEntry, counts, list_items, requeue_uncertain

__all__ = [
    "ClaimedItem", "OutboxEntry", "OutboxRequest", "Recovery", "RetryPolicy", "claim", "counts", "enqueue",
    "enqueue_many", "list_items", "mark_failed", "mark_retry", "mark_sent", "recover_stale", "requeue_uncertain",
]
