"""`accueil portal` as a real process, and the demo's in-process portal opening a local-mailbox link."""

from __future__ import annotations

import dataclasses
import email
import os
import re
import socket
import subprocess
import sys
import time
from email import policy
from pathlib import Path

import httpx

from accueil.cli import _start_demo_portal
from core.outbox.worker import worker_for
from tests.conftest import TEST_SITE_KEY
from tests.portal.conftest import DOB, csrf_of

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen | None = None, timeout: float = 90.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url)
        except httpx.TransportError:
            if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # polling a socket that is not listening yet


def test_accueil_portal_command_serves_on_the_given_port(clinic) -> None:
    settings = clinic.app.settings
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ACCUEIL_DATABASE_URL": settings.database_url,
           "ACCUEIL_DATA_DIR": str(settings.data_dir), "ACCUEIL_CONFIG_DIR": str(settings.config_dir),
           "ACCUEIL_SITE_KEY": TEST_SITE_KEY}
    process = subprocess.Popen([sys.executable, "-m", "accueil", "portal", "--host", "127.0.0.1", "--port", str(port)], env=env,
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        home = wait_until_up(f"http://127.0.0.1:{port}/", process)
        assert home.status_code == 200 and "Clinique synthétique du Plateau" in home.text
    finally:
        process.terminate()
        _, err = process.communicate(timeout=20)
    assert f"Patient portal on http://127.0.0.1:{port}" in err.decode()


def test_demo_portal_opens_the_link_of_a_local_mailbox_email(clinic) -> None:
    port = free_port()
    settings = dataclasses.replace(clinic.app.settings, portal_base_url=f"http://127.0.0.1:{port}")
    clinic.app.settings = settings
    clinic.send()
    assert worker_for(clinic.app).run_once() >= 1
    eml = next((settings.resolved_data_dir() / "mailbox").glob("*.eml"))
    text = email.message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()
    link = re.search(r"http://127\.0\.0\.1:\d+/m/[A-Za-z0-9_-]{43}", text).group(0)
    portal = _start_demo_portal(settings)
    assert portal is not None
    try:
        with httpx.Client(cookies={"lang": "en"}, follow_redirects=True) as browser:
            identity = browser.get(link)
            assert "Confirm your identity" in identity.text
            inbox = browser.post(f"http://127.0.0.1:{port}/check",
                                 data={"csrf": csrf_of(identity.text), "date_of_birth": DOB.isoformat()})
            assert "Résultats" in inbox.text
    finally:
        portal.stop()
