"""`accueil site key rotate / show` on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from core.bootstrap import bootstrap
from core.crypto import SiteCipher
from core.db.models import AuditEntry, OutboxItem
from core.settings import Settings
from tests.integration.key_clinic import NEW_KEY, OLD_KEY, counts, key_clinic, key_file_settings, readable
from tests.integration.test_cli import run


@pytest.fixture
def key_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ACCUEIL_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("ACCUEIL_CONFIG_DIR", str(settings.resolved_config_dir()))
    monkeypatch.setenv("ACCUEIL_DATA_DIR", str(settings.resolved_data_dir()))
    return key_file_settings(settings)


def fresh_cipher(settings: Settings) -> SiteCipher:
    """The cipher a newly started Accueil opens (the command ran in its own)."""
    opened = bootstrap(settings)
    opened.dispose()
    return opened.cipher


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_rotate_from_stdin_with_progress(key_settings: Settings, capsys, monkeypatch) -> None:
    with key_clinic(key_settings, messages=2) as app:
        before = counts(app)
        stdin(monkeypatch, "weak-key\n")
        code, out, err = run(["site", "key", "rotate"], capsys)
        assert code == 2 and out == ""
        assert "too weak: it needs at least 16 characters, a digit" in err
        stdin(monkeypatch, NEW_KEY + "\n")
        code, out, err = run(["site", "key", "rotate"], capsys)
        assert code == 0, err
        assert out == "" and NEW_KEY not in err
        assert f"{sum(before.values())}/{sum(before.values())} encrypted items" in err
        assert "Site encryption key changed" in err
        assert key_settings.resolved_key_file().read_text().strip() == NEW_KEY
        assert readable(app, fresh_cipher(key_settings))["outbox.payload"] == before["outbox.payload"] + 2
    # The old key file: a clear refusal, exit 2.
    key_settings.resolved_key_file().write_text(OLD_KEY + "\n")
    code, _out, err = run(["site", "key", "show"], capsys)
    assert code == 2 and "does not match this database" in err


def test_generate_prints_the_key_once_and_show_is_audited(key_settings: Settings, capsys, monkeypatch) -> None:
    with key_clinic(key_settings, messages=1) as app:
        code, out, err = run(["site", "key", "rotate", "--generate"], capsys)
        assert code == 0, err
        generated = out.strip()
        assert len(generated) == 24 and generated not in err
        assert key_settings.resolved_key_file().read_text().strip() == generated
        code, out, err = run(["site", "key", "show"], capsys)
        assert (code, out.strip()) == (0, generated) and "emailed" in err
        with app.uow() as uow:
            assert uow.session.scalar(select(AuditEntry.actor).where(AuditEntry.action == "site.key_shown"))
            shown_mails = uow.session.scalars(select(OutboxItem.id).where(
                OutboxItem.idempotency_key.like("key-shown:%"))).all()
        assert len(shown_mails) == 2


def test_a_cancelled_rotation_is_resumed_by_the_next_rotate(key_settings: Settings, capsys, monkeypatch) -> None:
    from threading import Event

    from core import site_key

    with key_clinic(key_settings, messages=3) as app:
        before = counts(app)
        stop = Event()
        stop.set()
        site_key.start(app, NEW_KEY)
        assert not site_key.resume(app, cancel=stop).finished
        stdin(monkeypatch, "")  # not read: the key chosen at the start is kept
        code, _out, err = run(["site", "key", "rotate"], capsys)
        assert code == 0, err
        assert "Resuming the interrupted key rotation" in err
        assert key_settings.resolved_key_file().read_text().strip() == NEW_KEY
        assert readable(app, fresh_cipher(key_settings))["secure_contents.ciphertext"] == before["secure_contents.ciphertext"]
