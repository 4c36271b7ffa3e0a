"""Push notifications of app campaigns: the outbox kind ``push``, its transports and its job.

Start writes one ``push`` outbox item per patient (payload: the patient's portal reference,
the title, the campaign, the language). :func:`deliver_due`, a scheduler job the worker runs
between email batches, claims due push items and hands each to the configured transport:

* :class:`HttpPushGateway` (``push_gateway_url`` and ``push_gateway_token`` set): a JSON POST with
  a bearer token, through httpx. 2xx: sent. 408, 429, 5xx or no connection: retried with the
  email back-off. Any other 4xx: failed, never retried (the recipient shows as failed).
* :class:`MailboxPush` (the default): the notification as a JSON file in the local mailbox folder,
  beside the emails, so a demo clinic can see what would have gone out.

As for email, ``transmitting`` is committed before the request; a worker that dies in the middle
leaves the item ``uncertain`` (never pushed twice by itself). Logs carry outbox ids only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.outbox import queue
from core.outbox.queue import LostClaim
from core.outbox.transports import ConnectionFailure, PermanentFailure, TemporaryFailure
from core.settings import Settings

if TYPE_CHECKING:
    from core.bootstrap import Accueil

log = logging.getLogger("accueil.push")

PUSH = "push"
BATCH = 100


class PushTransport(Protocol):
    def send(self, payload: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class HttpPushGateway:
    """POST ``{"to", "title", "campaign_id", "language"}`` as JSON to the gateway."""

    def __init__(self, url: str, token: str | None, *, timeout: float = 10.0) -> None:
        import httpx  # only a clinic with a gateway pays for the import

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url
        self._httpx = httpx
        self._client = httpx.Client(timeout=timeout, headers=headers)

    def send(self, payload: dict[str, Any]) -> None:
        body = {"to": payload.get("patient"), "title": payload.get("title"),
                "campaign_id": payload.get("campaign_id"), "language": payload.get("language")}
        try:
            response = self._client.post(self.url, json=body)
        except self._httpx.ConnectError as exc:
            raise ConnectionFailure(None, f"push gateway unreachable ({type(exc).__name__})") from None
        except self._httpx.HTTPError as exc:
            raise TemporaryFailure(None, f"push gateway request failed ({type(exc).__name__})") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        reason = f"push gateway answered {status}"
        if status in (408, 429) or status >= 500:
            raise TemporaryFailure(status, reason)
        raise PermanentFailure(status, reason)

    def close(self) -> None:
        self._client.close()


class MailboxPush:
    """The embedded default: ``<folder>/<UTC timestamp>-push-<key>.json``, written whole or not at all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        key = hashlib.sha256(data).hexdigest()[:20]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self.folder / f".{stamp}-push-{key}.part"
            partial.write_bytes(data)
            os.replace(partial, self.folder / f"{stamp}-push-{key}.json")
        except OSError as exc:
            raise TemporaryFailure(None, f"cannot write to the mailbox ({type(exc).__name__})") from None

    def close(self) -> None:
        return None


def transport_for(settings: Settings, data_dir: Path) -> PushTransport:
    if settings.push_gateway_url:
        return HttpPushGateway(settings.push_gateway_url, settings.push_gateway_token,
                               timeout=settings.push_timeout_seconds)
    return MailboxPush(data_dir / "mailbox")


def deliver_due(app: Accueil, now: datetime, *, transport: PushTransport | None = None) -> int:
    """Send the due push items (one batch); returns how many were claimed. A scheduler job."""
    worker_id = f"push-{socket.gethostname()[:60]}-{os.getpid()}#{secrets.token_hex(4)}"
    items = queue.claim(app, worker_id=worker_id, limit=BATCH, now=now, kinds=(PUSH,))
    if not items:
        return 0
    own = transport is None
    transport = transport or transport_for(app.settings, app.data_dir)
    try:
        for index, item in enumerate(items):
            try:
                queue.mark_transmitting(app, item, now=now)
            except LostClaim:
                continue
            try:
                transport.send(item.payload)
            except ConnectionFailure as exc:
                queue.mark_retry(app, item, str(exc), now=now)
                rest = items[index + 1:]
                queue.release(app, rest, next_try_at=now + queue.DEFAULT_POLICY.delay(1),
                              reason="not tried: the push gateway could not be reached")
                log.warning("push: gateway unreachable, %d items released", len(rest))
                break
            except PermanentFailure as exc:
                queue.mark_failed(app, item, str(exc), now=now)
                log.warning("push item %d failed: %s", item.id, exc.code)
            except TemporaryFailure as exc:
                queue.mark_retry(app, item, str(exc), now=now)
                log.info("push item %d: temporary failure %s", item.id, exc.code)
            else:
                queue.mark_sent(app, item, now=now)
    finally:
        if own:
            transport.close()
    return len(items)
