"""Site key rotation and showing (SI-5, SR-2) on SQLite and PostgreSQL."""

from __future__ import annotations

import ast
import re
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import LargeBinary, select, update

from core import audit
from core.bootstrap import bootstrap
from core.crypto import DecryptionError, SiteCipher, SiteKeyError
from core.db.models import AuditEntry, Base, KeyRotation, KeyRotationBlob, OutboxItem, Site, User
from core.encrypted_columns import NOT_ENCRYPTED, NOT_STORED, PROTECTED
from core.errors import InvalidInput
from core.outbox.worker import decode_email_payload
from core.settings import Settings
from core.site_key import (
    pending_files,
    resume,
    rotate,
    start,
    unfinished,
)
from core.site_key_notices import reveal
from tests.integration.key_clinic import (
    ADMIN,
    NEW_KEY,
    OLD_KEY,
    blobs,
    counts,
    fill,
    key_clinic,
    key_file_settings,
    readable,
)  # fmt: skip

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def key_settings(settings: Settings) -> Settings:
    return key_file_settings(settings)


def ciphers(app) -> tuple[SiteCipher, SiteCipher]:
    with app.uow() as uow:
        salt = uow.session.scalar(select(Site.key_salt))
    return SiteCipher(OLD_KEY, salt), SiteCipher(NEW_KEY, salt)


def parsed(payload: dict, cipher: SiteCipher) -> EmailMessage:
    return message_from_bytes(decode_email_payload(payload, cipher)[2], policy=policy.default)  # type: ignore[return-value]


def with_notices(found: dict[str, int]) -> dict[str, int]:
    """``found`` plus the rotation's emails to the two administrators, queued under the new key."""
    return {**found, "outbox.payload": found["outbox.payload"] + 2}


# -- the registry ------------------------------------------------------------------------------------
def test_every_binary_column_is_registered_or_explained() -> None:
    registered = {target.target for target in PROTECTED}
    binary = {f"{table.name}.{column.name}" for table in Base.metadata.tables.values() for column in table.columns
              if isinstance(column.type, LargeBinary)}
    assert binary - registered - set(NOT_ENCRYPTED) == set()
    assert set(NOT_ENCRYPTED) <= binary


def test_every_encryption_context_in_the_sources_is_registered() -> None:
    """Any ``context="…"`` given to the cipher in the code names a registered column's context."""
    contexts = {target.context for target in PROTECTED} | set(NOT_STORED)
    used: set[str] = set()
    for folder in ("core", "portal", "screens", "tui", "accueil"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and re.fullmatch(
                        r"(en|de)crypt(_text)?", node.func.attr):
                    for keyword in node.keywords:
                        if keyword.arg == "context" and isinstance(keyword.value, ast.Constant):
                            used.add(keyword.value.value)
    assert used and used <= contexts
    assert "outbox-email" in contexts  # given as a constant (OUTBOX_CONTEXT), registered all the same


# -- rotation ----------------------------------------------------------------------------------------
def test_rotation_re_encrypts_everything(key_settings: Settings) -> None:
    with key_clinic(key_settings) as app:
        before = counts(app)
        assert all(before.values())
        seen: list[tuple[int, int]] = []
        result, passphrase = rotate(app, NEW_KEY, progress=lambda d, t: seen.append((d, t)), batch=2)
        assert result.finished and passphrase == NEW_KEY and result.unreadable == 0
        assert result.rows == sum(before.values())
        assert seen[-1][0] == seen[-1][1] and [d for d, _t in seen] == sorted(d for d, _t in seen)
        old, new = ciphers(app)
        assert readable(app, new) == with_notices(before)
        for target in PROTECTED:
            for blob in blobs(app, target):
                with pytest.raises(DecryptionError):
                    old.decrypt(blob, context=target.context)
        assert key_settings.resolved_key_file().read_text().strip() == NEW_KEY
        assert pending_files(key_settings) == []
        with app.uow() as uow:
            assert uow.session.scalar(select(KeyRotationBlob.row_id)) is None
            entry = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "site.key_rotated")).one()
            assert entry.detail["rows"] == result.rows and NEW_KEY not in str(entry.detail)
            assert audit.verify(uow.session).ok
            mails = uow.session.execute(select(OutboxItem.idempotency_key, OutboxItem.payload).where(
                OutboxItem.idempotency_key.like("key-rotated:%"))).all()
        assert {key.rsplit(":", 1)[1] for key, _p in mails} >= {"admin@clinic.example", "adele@clinic.example"}
        for _key, payload in mails:
            mail = parsed(payload, new)
            assert "was changed" in mail["Subject"] and NEW_KEY not in mail.as_string()
        # The app itself now works with the new key; a fresh start reads the new key file.
        assert app.cipher.decrypt_text(app.cipher.encrypt_text("x", context="reply"), context="reply") == "x"
    reopened = bootstrap(key_settings)
    reopened.dispose()
    key_settings.resolved_key_file().write_text(OLD_KEY + "\n")
    with pytest.raises(SiteKeyError) as refused:
        bootstrap(key_settings)
    assert refused.value.code == "wrong" and "does not match" in refused.value.message


def test_an_interrupted_rotation_leaves_everything_readable_and_resumes(key_settings: Settings) -> None:
    with key_clinic(key_settings, messages=4) as app:
        before = counts(app)
        stop = threading.Event()
        steps = 0

        def progress(done: int, total: int) -> None:
            nonlocal steps
            steps += 1
            if steps == 4:
                stop.set()  # Esc after three whole batches

        result, _ = rotate(app, NEW_KEY, progress=progress, cancel=stop, batch=2)
        assert not result.finished
        old, _new = ciphers(app)
        assert readable(app, old) == before  # nothing the app reads has changed
        with app.uow() as uow:
            rotation = unfinished(uow.session)
            assert rotation is not None and 0 < rotation.done_rows < rotation.total_rows
        assert key_settings.resolved_key_file().read_text().strip() == OLD_KEY
        # A crash now: a fresh process still opens with the old key and reads everything.
        fresh = bootstrap(key_settings)
        assert readable(fresh, fresh.cipher) == before
        fresh.dispose()
        # New data arrives, and a staged row changes, before the rotation goes on.
        fill(app, 2, start=100)
        with app.uow(write=True) as uow:
            uow.session.execute(update(KeyRotationBlob.__table__).values(old_nonce=b"\0" * 12))  # as if rewritten
            uow.commit()
        finished = resume(app, batch=3)
        assert finished.finished and finished.unreadable == 0
        after = counts(app)
        assert after == with_notices({k: v + 2 for k, v in before.items()})
        _old, new = ciphers(app)
        assert readable(app, new) == after
    reopened = bootstrap(key_settings)
    assert readable(reopened, reopened.cipher) == after
    reopened.dispose()


def test_a_crash_between_commit_and_key_file_rename_recovers_on_start(key_settings: Settings,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import core.site_key_switch as site_key_switch

    with key_clinic(key_settings, messages=1) as app:
        before = counts(app)

        def crash(_settings: Settings, _passphrase: str) -> None:
            raise OSError("power cut")  # the process dies after the commit, before the rename

        with monkeypatch.context() as patched:
            patched.setattr(site_key_switch, "promote", crash)
            with pytest.raises(OSError):
                rotate(app, NEW_KEY)
    assert key_settings.resolved_key_file().read_text().strip() == OLD_KEY
    reopened = bootstrap(key_settings)  # the database is under the new key: the pending key takes over
    try:
        assert readable(reopened, reopened.cipher) == with_notices(before)
        assert key_settings.resolved_key_file().read_text().strip() == NEW_KEY
        assert pending_files(key_settings) == []
    finally:
        reopened.dispose()


def test_a_rotation_never_replaces_a_key_that_is_no_longer_in_force(key_settings: Settings) -> None:
    """Another rotation finished meanwhile: this one stops, nothing changes."""
    with key_clinic(key_settings, messages=2) as app:
        stop = threading.Event()
        stop.set()
        start(app, NEW_KEY)
        assert not resume(app, cancel=stop).finished
        with app.uow(write=True) as uow:  # as if another administrator's rotation had switched the key
            third = SiteCipher("Third-Clinic-Key-2027#", SiteCipher.new_salt())
            uow.session.execute(update(Site).values(key_salt=third.salt, key_check=third.make_key_check()))
            uow.commit()
        with pytest.raises(SiteKeyError) as refused:
            resume(app)
        assert refused.value.code in ("wrong", "unreadable")
        with app.uow() as uow:
            assert uow.session.scalar(select(KeyRotation.state)) == "staging"
        assert key_settings.resolved_key_file().read_text().strip() == OLD_KEY


def test_generated_key_meets_the_policy_and_is_audited(key_settings: Settings) -> None:
    with key_clinic(key_settings, messages=1) as app:
        result, passphrase = rotate(app, None)
        assert result.finished and passphrase != OLD_KEY
        assert key_settings.resolved_key_file().read_text().strip() == passphrase
        with app.uow() as uow:
            started = uow.session.scalar(select(AuditEntry.detail).where(
                AuditEntry.action == "site.key_rotation_started"))
        assert started["generated"] is True and passphrase not in str(started)


@pytest.mark.parametrize(("weak", "rule"), [("short-Key-1", "at least 16 characters"),
                                             ("no-digits-in-this-Key", "a digit"),
                                             ("NoPunctuation1234567", "a punctuation mark")])
def test_weak_keys_and_the_same_key_are_refused(key_settings: Settings, weak: str, rule: str) -> None:
    with key_clinic(key_settings, messages=1) as app:
        with pytest.raises(SiteKeyError) as refused:
            start(app, weak)
        assert refused.value.code == "weak" and rule in refused.value.message
        with pytest.raises(SiteKeyError, match="the one in use"):
            start(app, OLD_KEY)
        with app.uow() as uow:
            assert uow.session.scalar(select(KeyRotation.id)) is None
        assert pending_files(key_settings) == []


def test_only_an_administrator_rotates_or_shows(key_settings: Settings) -> None:
    with key_clinic(key_settings, messages=1) as app:
        with app.uow(write=True) as uow:
            uow.session.execute(update(User).where(User.username == ADMIN).values(role="moa"))
            uow.commit()
        with pytest.raises(InvalidInput, match="Only an administrator"):
            start(app, NEW_KEY)
        with pytest.raises(InvalidInput, match="Only an administrator"):
            reveal(app)


def test_a_key_from_the_environment_is_not_rotated(settings: Settings) -> None:
    from tests.conftest import open_clinic

    with open_clinic(settings) as app, pytest.raises(SiteKeyError, match="ACCUEIL_SITE_KEY"):
        start(app, NEW_KEY)


def test_showing_the_key_is_audited_and_emailed(key_settings: Settings) -> None:
    with key_clinic(key_settings, messages=0) as app:
        assert reveal(app) == OLD_KEY
        assert reveal(app) == OLD_KEY
        with app.uow() as uow:
            shown = uow.session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "site.key_shown")).all()
            mails = uow.session.scalars(select(OutboxItem.payload).where(
                OutboxItem.idempotency_key.like("key-shown:%"))).all()
        assert len(shown) == 2 and all(OLD_KEY not in str(detail) for detail in shown)
        assert len(mails) == 4  # two showings, two administrators each
        for payload in mails:
            mail = parsed(payload, app.cipher)
            assert "was shown" in mail["Subject"] and ADMIN in mail.get_content()
            assert OLD_KEY not in mail.as_string()


def test_another_running_process_follows_the_rotation(key_settings: Settings) -> None:
    """A worker opened before the rotation delivers the email queued under the new key, not fails it."""
    from core.outbox.worker import worker_for

    with key_clinic(key_settings, messages=0) as app:
        other = bootstrap(key_settings)
        try:
            worker = worker_for(other)
            rotate(app, NEW_KEY)
            with app.uow() as uow:
                queued = len(uow.session.scalars(select(OutboxItem.id).where(OutboxItem.state == "pending")).all())
            assert queued == 2  # the administrators' notices, under the new key
            assert worker.run_once() == 2  # the worker's cipher was the old key: it looked again
            with app.uow() as uow:
                states = uow.session.scalars(select(OutboxItem.state)).all()
            assert states == ["sent", "sent"]
            assert other.refresh_cipher() is False  # already following
            assert other.cipher.decrypt_text(app.cipher.encrypt_text("x", context="reply"), context="reply") == "x"
            worker.close()
        finally:
            other.dispose()


def test_batches_of_files_are_bounded_by_size(key_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.site_key as site_key

    with key_clinic(key_settings, messages=3) as app:
        before = counts(app)
        monkeypatch.setattr(site_key, "BATCH_BYTES", 1)  # every binary batch holds a single row
        steps: list[int] = []
        result, _ = rotate(app, NEW_KEY, progress=lambda done, _total: steps.append(done))
        assert result.finished
        binary_rows = sum(n for target, n in before.items() if target != "outbox.payload")
        # one report before each batch: a batch per binary row, one for the outbox, one empty look per column
        assert len(steps) == binary_rows + 1 + len(PROTECTED) + 1
        _old, new = ciphers(app)
        assert readable(app, new) == with_notices(before)
