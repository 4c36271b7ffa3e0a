"""End to end in headless Chromium: the email caught by a real SMTP server (aiosmtpd), its link opened
in the browser, the date of birth typed, the message read, a reply with a file, a form filled.

Chromium is driven over the DevTools protocol (a websocket on loopback); the portal itself runs
no JavaScript — the test's own script only types into fields and presses the buttons a patient
would. Where Debian's ``chromium`` is not installed the test skips and says so (`.ci/run`
installs it when it can).
"""

from __future__ import annotations

import dataclasses
import email
import itertools
import json
import re
import shutil
import subprocess
import time
from email import policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from core.db.models import Attachment, FormRequest, Reply
from core.outbox.transports import SmtpTransport
from core.outbox.worker import Worker
from core.settings import SmtpSettings
from portal.server import ThreadedServer
from tests.portal.conftest import DOB
from tests.portal.test_messages import pdf_bytes
from tests.portal.test_serving import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-extensions", "--disable-dev-shm-usage"]
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install "
                                                           "chromium; .ci/run tries it)")


class Catcher:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope.original_content or envelope.content)
        return "250 OK"


class Browser:
    """Just enough of the DevTools protocol: navigate, run a line of script, attach a file."""

    def __init__(self, profile: Path) -> None:
        from websockets.sync.client import connect

        self.process = subprocess.Popen([CHROMIUM, *FLAGS, "--remote-debugging-port=0",
                                         "--remote-debugging-address=127.0.0.1", f"--user-data-dir={profile}",
                                         "about:blank"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = self.process.stderr.readline().decode(errors="replace")
            if not line and self.process.poll() is not None:
                raise RuntimeError("chromium exited before it listened")
            found = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            port = int(found.group(1)) if found else None
        if port is None:
            raise RuntimeError("chromium did not start its DevTools endpoint")
        page = next(t for t in httpx.get(f"http://127.0.0.1:{port}/json/list").json() if t["type"] == "page")
        self._connection = connect(page["webSocketDebuggerUrl"], max_size=None)
        self.ws = self._connection.__enter__()
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        self.call("Page.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        self.ws.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=30))
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for_load(self) -> None:
        while True:
            if any(e.get("method") == "Page.loadEventFired" for e in self.events):
                self.events.clear()
                return
            self.events.append(json.loads(self.ws.recv(timeout=30)))

    def go(self, url: str) -> str:
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for_load()
        return self.text()

    def run(self, script: str) -> Any:
        return self.call("Runtime.evaluate", expression=script, returnByValue=True).get("result", {}).get("value")

    def submit(self, selector: str) -> str:
        self.events.clear()
        self.run(f"document.querySelector({json.dumps(selector)}).requestSubmit()")
        self.wait_for_load()
        return self.text()

    def text(self) -> str:
        return self.run("document.documentElement.lang + '\\n' + document.body.innerText") or ""

    def attach(self, selector: str, path: Path) -> None:
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.call("DOM.setFileInputFiles", files=[str(path)], nodeId=node)

    def close(self) -> None:
        self._connection.__exit__(None, None, None)
        self.process.terminate()
        self.process.wait(timeout=20)


def test_patient_reads_replies_with_a_file_and_fills_a_form_in_chromium(clinic, tmp_path) -> None:
    catcher = Catcher()
    smtp = Controller(catcher, hostname="127.0.0.1", port=free_port())
    smtp.start()
    port = free_port()
    clinic.app.settings = dataclasses.replace(clinic.app.settings, portal_base_url=f"http://127.0.0.1:{port}")
    portal = ThreadedServer(clinic.app, "127.0.0.1", port).start()
    browser = None
    try:
        clinic.send(forms=("email_consent",), allow_attachment=True)
        transport = SmtpTransport(SmtpSettings(host="127.0.0.1", port=smtp.port, security="none", timeout_seconds=10))
        assert Worker(clinic.app, transport, worker_id="e2e").run_once() == 1
        mail = email.message_from_bytes(catcher.messages[0], policy=policy.default)
        link = re.search(r"http://127\.0\.0\.1:\d+/m/[A-Za-z0-9_-]{43}",
                         mail.get_body(("plain",)).get_content()).group(0)
        browser = Browser(tmp_path / "profile")
        page = browser.go(link)
        assert page.startswith("en\n") and "Confirm your identity" in page  # the browser's language until then
        browser.run(f"document.querySelector('#dob').value = '{DOB.isoformat()}'")
        inbox = browser.submit("form[action='/check']")
        assert inbox.startswith("fr\n") and "Résultats d'analyse" in inbox  # then the patient's
        message = browser.go(f"http://127.0.0.1:{port}/messages/{clinic.last_id()}?lang=en")
        assert message.startswith("en\n") and "Vos résultats sont normaux." in message and "911" in message
        scan = tmp_path / "scan.pdf"
        scan.write_bytes(pdf_bytes())
        browser.run("document.querySelector('#text').value = 'Merci, tout est clair.'")
        browser.attach("#files", scan)
        assert "Your reply was sent" in browser.submit("form[enctype='multipart/form-data']")
        with clinic.app.uow() as uow:
            form_id = uow.session.scalar(select(FormRequest.id))
        browser.go(f"http://127.0.0.1:{port}/forms/{form_id}")
        browser.run("document.querySelector('#f-full_name').value = \"Zoé Côté-O'Neil\";"
                    "document.querySelector('input[name=consents_to_email][value=yes]').checked = true;"
                    "document.querySelector('#f-consent_date').value = '2026-03-02'")
        assert "Thank you" in browser.submit("form[action^='/forms/']")
        # On a phone (360 px wide): no page is wider than the screen, and the text is not shrunk.
        browser.call("Emulation.setDeviceMetricsOverride", width=360, height=740, deviceScaleFactor=2, mobile=True)
        for path in ("/inbox", f"/messages/{clinic.last_id()}", "/forms"):
            browser.go(f"http://127.0.0.1:{port}{path}")
            wide, font = browser.run("[document.documentElement.scrollWidth, "
                                     "parseFloat(getComputedStyle(document.body).fontSize)]")
            assert wide <= 360 and font >= 16, (path, wide, font)
        with clinic.app.uow() as uow:
            assert uow.session.scalar(select(FormRequest.state)) == "completed"
            assert uow.session.scalar(select(Reply.id)) is not None
            assert uow.session.scalar(select(Attachment.size).where(Attachment.direction == "patient")) > 0
    finally:
        if browser is not None:
            browser.close()
        portal.stop()
        smtp.stop()
