"""Push notifications through a real HTTP gateway on loopback, and the local-mailbox default."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from core.campaigns import campaigns as cs
from core.campaigns.push import deliver_due
from core.campaigns.recipients import assign_csv
from core.campaigns.start import start_campaign
from core.db.models import OutboxItem, utcnow
from core.outbox.scheduler import JOBS
from tests.integration.campaign_fixtures import NOW, TODAY, add_staff_and_patients, app_draft


class Gateway:
    """A push gateway on 127.0.0.1 answering each POST with the next status in ``statuses``."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.received: list[tuple[str | None, dict[str, object]]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.received.append((self.headers.get("Authorization"), body))
                status = gateway.statuses.pop(0) if gateway.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/push"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    running = Gateway()
    try:
        yield running
    finally:
        running.close()


def started_app_campaign(app) -> int:
    add_staff_and_patients(app)
    with app.uow(write=True) as uow:
        campaign_id = cs.create_campaign(uow, app_draft())
    with app.uow(write=True) as uow:
        assign_csv(uow, campaign_id, b"Chart ID\n1001\n1002\n", today=TODAY)  # both: consent and push on
    with app.uow(write=True) as uow:
        assert start_campaign(uow, campaign_id, settings=app.settings, cipher=app.cipher, now=NOW).sent == 2
    return campaign_id


def states(app) -> list[str]:
    with app.uow() as uow:
        return list(uow.session.scalars(select(OutboxItem.state).order_by(OutboxItem.id)))


def test_gateway_sent_retried_and_failed(app, gateway: Gateway) -> None:
    campaign_id = started_app_campaign(app)
    app.settings = app.settings.with_changes(push_gateway_url=gateway.url, push_gateway_token="s3cret-token")
    gateway.statuses = [503, 400]
    when = utcnow()  # the outbox items are due from the moment they were written
    assert deliver_due(app, when) == 2
    assert states(app) == ["pending", "failed"]
    authorization, body = gateway.received[0]
    assert authorization == "Bearer s3cret-token"
    assert body["title"] in ("Nouvel horaire, Zoé", "Nouvel horaire, Margaret") and body["campaign_id"] == campaign_id
    assert deliver_due(app, when) == 0  # the retry waits for its back-off
    assert deliver_due(app, when + timedelta(minutes=2)) == 1
    assert states(app) == ["sent", "failed"]
    with app.uow() as uow:
        [summary] = cs.list_campaigns(uow, TODAY)
    assert (summary.counts.sent, summary.counts.failed) == (1, 1)


def test_unreachable_gateway_releases_the_batch(app, gateway: Gateway) -> None:
    started_app_campaign(app)
    url = gateway.url
    gateway.close()  # nothing listens on that port any more
    app.settings = app.settings.with_changes(push_gateway_url=url)
    assert deliver_due(app, utcnow()) == 2
    assert states(app) == ["pending", "pending"]


def test_default_writes_the_push_to_the_local_mailbox(app) -> None:
    started_app_campaign(app)
    assert any(job.target == "core.campaigns.push:deliver_due" for job in JOBS)
    assert deliver_due(app, utcnow()) == 2
    files = sorted((app.data_dir / "mailbox").glob("*-push-*.json"))
    assert len(files) == 2 and states(app) == ["sent", "sent"]
    assert {json.loads(path.read_text())["title"] for path in files} == {"Nouvel horaire, Zoé",
                                                                         "Nouvel horaire, Margaret"}
