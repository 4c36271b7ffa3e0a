"""The demo's in-process worker on both backends: a message sent lands in the local mailbox; it stops cleanly."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import insert, select

import accueil.cli as cli
from core.db.models import Message, OutboxItem, Patient
from core.demo import DemoWorker
from core.licences import grant_licence
from core.messaging.compose import Draft, send_draft
from core.patients.keys import fold
from core.users import add_user


def wait_for(condition, timeout: float = 30.0) -> bool:
    """Waits on a condition (re-checked every 50 ms) rather than a fixed sleep."""
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if condition():
            return True
        done.wait(0.05)
    return condition()


def test_demo_worker_delivers_to_the_mailbox_and_stops(app, settings) -> None:
    with app.uow(write=True) as uow:
        uow.session.execute(insert(Patient), [{
            "chart_id": "9", "last_name": "Lévesque", "first_name": "Éloïse", "last_key": fold("Lévesque"),
            "first_key": fold("Éloïse"), "email": "eloise@example.org", "email_consent": True, "language": "fr",
            "date_of_birth": date(1990, 2, 3)}])
        uow.commit()
    with app.uow() as uow:
        patient_id = uow.session.scalar(select(Patient.id))
    draft = Draft(patient_ids=(patient_id,), subject="Bonjour", salutation="Bonjour @ptFirstName,",
                  body_html="<p>[weblink]</p>", sender_emr_name="Réception")
    mailbox = settings.resolved_data_dir() / "mailbox"
    worker = DemoWorker(settings, idle_sleep=0.05)
    with worker:
        assert worker.wait_ready() and worker.error is None
        with app.uow(write=True) as uow:
            add_user(uow, username="drroy", display_name="Dr Paul Roy", role="provider", password=None)
        with app.uow(write=True) as uow:
            grant_licence(uow, "drroy")
        with app.uow(write=True) as uow:
            send_draft(uow, draft, settings=app.settings, cipher=app.cipher)
        assert wait_for(lambda: len(list(mailbox.glob("*.eml"))) == 1)
        assert worker.running
    assert not worker.running and worker.error is None
    with app.uow() as uow:
        assert uow.session.scalar(select(OutboxItem.state)) == "sent"
        assert uow.session.scalar(select(Message.delivery_state)) == "sent"
    assert b"Message-ID:" in next(mailbox.glob("*.eml")).read_bytes()


def test_accueil_demo_runs_the_worker_while_the_app_is_open(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ACCUEIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ACCUEIL_CONFIG_DIR", str(tmp_path / "config"))
    seen: list[bool] = []

    def fake_app(settings) -> int:
        seen.append(any(t.name == DemoWorker.THREAD_NAME and t.is_alive() for t in threading.enumerate()))
        assert settings.mail_transport == "mailbox"
        return 0

    monkeypatch.setattr(cli, "_run_app", fake_app)
    assert cli.main(["demo", "--patients", "30"]) == 0, capsys.readouterr().err
    assert seen == [True]
    assert not any(t.name == DemoWorker.THREAD_NAME for t in threading.enumerate())


@pytest.fixture(autouse=True)
def _no_leftover_threads():
    yield
    assert not any(t.name == DemoWorker.THREAD_NAME and t.is_alive() for t in threading.enumerate())
