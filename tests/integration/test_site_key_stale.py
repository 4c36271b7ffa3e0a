"""A process still holding the replaced site key never commits what it encrypted with it (``core.uow``).

Another Accueil (a second bootstrap, as the portal, the worker or another staff session would be)
takes the cipher before a rotation's switch and commits after it: refused, nothing stale stored; on
PostgreSQL a commit racing the switch (threads) ends readable under the new key whichever goes first;
the worker's scheduler tries a refused job again at once with the new key.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

import core.bootstrap
import core.site_key_switch
from core.bootstrap import Accueil, bootstrap
from core.crypto import SiteCipher, SiteKeyChanged
from core.db.models import Message, Reply, Site, utcnow
from core.outbox.scheduler import Job, Scheduler
from core.outbox.worker import worker_for
from core.settings import Settings
from core.site_key import rotate
from tests.integration import stale_job
from tests.integration.key_clinic import NEW_KEY, counts, fill, key_clinic, key_file_settings, readable

POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


@pytest.fixture
def key_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # The other process does not look at the key check again during the test: the switch lands in the
    # seconds between two looks, the case being tested.
    monkeypatch.setattr(core.bootstrap, "KEY_RECHECK_SECONDS", 3600.0)
    return key_file_settings(settings)


def first_message(app: Accueil) -> int:
    with app.uow() as uow:
        return uow.session.scalars(select(Message.id).order_by(Message.id)).first()


def reply_count(app: Accueil) -> int:
    with app.uow() as uow:
        return uow.session.scalar(select(func.count(Reply.id)))


def site_salt(app: Accueil) -> bytes:
    with app.uow() as uow:
        return bytes(uow.session.scalar(select(Site.key_salt)))


def test_a_process_with_the_old_key_cannot_commit_after_the_switch(key_settings: Settings) -> None:
    with key_clinic(key_settings, messages=2) as app:
        other = bootstrap(key_settings)  # another process, opened before the rotation
        try:
            stale = other.cipher
            message_id = first_message(app)
            with other.uow(write=True) as uow:  # encrypted before the switch, committed after it
                blob = stale.encrypt_text("typed during the rotation", context="reply")
                rotate(app, NEW_KEY)
                uow.session.add(Reply(message_id=message_id, body_ciphertext=blob))
                with pytest.raises(SiteKeyChanged) as refused:
                    uow.commit()
            assert "not saved" in str(refused.value)
            after_rotation = counts(app)
            assert readable(app, app.cipher) == after_rotation  # nothing under the old key was stored
            assert other.cipher.salt == app.cipher.salt == site_salt(app)  # the refusal made it look again
            fill(other, 1, start=10)  # trying again: the new key
            assert readable(app, app.cipher)["replies.body_ciphertext"] == after_rotation["replies.body_ciphertext"] + 1
            with other.uow(write=True) as uow:  # a cipher kept from before the switch is refused every time
                uow.session.add(Reply(message_id=message_id,
                                      body_ciphertext=stale.encrypt_text("again", context="reply")))
                with pytest.raises(SiteKeyChanged):
                    uow.commit()
            with other.uow(write=True) as uow:  # a commit on the session itself is guarded as well
                uow.session.add(Reply(message_id=message_id,
                                      body_ciphertext=stale.encrypt_text("bypass", context="reply")))
                with pytest.raises(SiteKeyChanged):
                    uow.session.commit()
            assert reply_count(app) == after_rotation["replies.body_ciphertext"] + 1
        finally:
            other.dispose()


def test_commits_that_encrypt_nothing_or_with_the_key_in_force_pass(key_settings: Settings) -> None:
    with key_clinic(key_settings, messages=1) as app:
        rotate(app, NEW_KEY)
        fill(app, 2, start=5)  # this process switched: it encrypts with the new key at once
        with app.uow(write=True) as uow:  # encrypting with a key no one uses, outside any site: refused
            uow.session.add(Reply(message_id=first_message(app), body_ciphertext=SiteCipher(
                NEW_KEY, SiteCipher.new_salt()).encrypt_text("x", context="reply")))
            with pytest.raises(SiteKeyChanged):
                uow.commit()
        assert readable(app, app.cipher)["replies.body_ciphertext"] == 3


def _wait_for_a_blocked_lock(app: Accueil, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.engine.connect() as connection:
            if connection.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                return
        time.sleep(0.05)
    raise AssertionError("nothing waited for a lock")


def _in_thread(target: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@POSTGRES_ONLY
def test_a_writer_ahead_of_the_switch_commits_and_the_switch_re_encrypts_it(key_settings: Settings) -> None:
    """The writer's rows are written (locks held) when the switch starts: the switch waits, then
    re-encrypts them as rows added meanwhile."""
    with key_clinic(key_settings, messages=2) as app:
        other = bootstrap(key_settings)
        try:
            message_id, before = first_message(app), reply_count(app)
            written, go = threading.Event(), threading.Event()
            writer_errors: list[BaseException] = []
            rotation_errors: list[BaseException] = []

            def write() -> None:
                with other.uow(write=True) as uow:
                    uow.session.add(Reply(message_id=message_id, body_ciphertext=other.cipher.encrypt_text(
                        "sent as the key changed", context="reply")))
                    uow.session.flush()
                    written.set()
                    assert go.wait(30)
                    uow.commit()

            writer = _in_thread(write, writer_errors)
            assert written.wait(30)
            rotation = _in_thread(lambda: rotate(app, NEW_KEY), rotation_errors)
            _wait_for_a_blocked_lock(app)  # the switch waits for the writer's transaction
            go.set()
            writer.join(60)
            rotation.join(60)
            assert writer_errors == [] and rotation_errors == []
            assert reply_count(app) == before + 1
            texts = {app.cipher.decrypt_text(bytes(blob), context="reply") for blob in blobs_of_replies(app)}
            assert "sent as the key changed" in texts  # readable with the new key
        finally:
            other.dispose()


@POSTGRES_ONLY
def test_a_writer_behind_the_switch_is_refused(key_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The switch holds its locks (paused just before it commits): the writer's insert waits, then its
    commit sees the new salt and is refused."""
    with key_clinic(key_settings, messages=2) as app:
        other = bootstrap(key_settings)
        try:
            message_id, before = first_message(app), reply_count(app)
            switching, release = threading.Event(), threading.Event()
            original = core.site_key_switch.key_rotated

            def paused(*args, **kwargs) -> int:  # noqa: ANN002, ANN003 - the real function, then a pause
                done = original(*args, **kwargs)
                switching.set()
                assert release.wait(30)
                return done

            monkeypatch.setattr(core.site_key_switch, "key_rotated", paused)
            stale = other.cipher
            writer_errors: list[BaseException] = []
            rotation_errors: list[BaseException] = []
            rotation = _in_thread(lambda: rotate(app, NEW_KEY), rotation_errors)
            assert switching.wait(60)

            def write() -> None:
                with other.uow(write=True) as uow:
                    uow.session.add(Reply(message_id=message_id, body_ciphertext=stale.encrypt_text(
                        "sent as the key changed", context="reply")))
                    uow.commit()

            writer = _in_thread(write, writer_errors)
            _wait_for_a_blocked_lock(app)  # the writer's insert waits for the switch
            release.set()
            rotation.join(60)
            writer.join(60)
            assert rotation_errors == []
            assert [type(error) for error in writer_errors] == [SiteKeyChanged]
            assert reply_count(app) == before
            assert readable(app, app.cipher) == counts(app)
        finally:
            other.dispose()


def blobs_of_replies(app: Accueil) -> list[bytes]:
    with app.uow() as uow:
        return list(uow.session.scalars(select(Reply.body_ciphertext).where(Reply.body_ciphertext.is_not(None))))


def test_the_worker_tries_a_refused_job_again_with_the_new_key(key_settings: Settings) -> None:
    with key_clinic(key_settings, messages=1) as app:
        other = bootstrap(key_settings)  # the worker's process
        try:
            old_salt = other.cipher.salt
            stale_job.STATE.update(salts=[], admin=app, message_id=first_message(app), new_key=NEW_KEY)
            worker = worker_for(other)
            worker.scheduler = Scheduler(jobs=(Job("stale key test", "tests.integration.stale_job:add_reply",
                                                   every=timedelta(minutes=5)),))
            assert worker.scheduler.run_due(other, utcnow()) == 1
            assert stale_job.STATE["salts"] == [old_salt, site_salt(app)]
            assert readable(app, app.cipher)["replies.body_ciphertext"] == 2
            worker.close()
        finally:
            other.dispose()
