"""Site key rotation: a failure at the points not covered in test_site_key.py, on SQLite and PostgreSQL.

* inside the switching transaction, after rows were already rewritten under the new key;
* a second rotation started while the first one had committed its switch but not yet written the
  key file (its pending key must survive: it is the key the database is under);
* the key material itself: never in an exception, an audit entry or an email of the rotation.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.bootstrap import bootstrap
from core.crypto import SiteCipher
from core.db.models import AuditEntry, KeyRotation, OutboxItem, Site
from core.settings import Settings
from core.site_key import pending_file, pending_files, resume, rotate, start
from tests.integration.key_clinic import NEW_KEY, OLD_KEY, counts, key_clinic, key_file_settings, readable

THIRD_KEY = "Third-Clinic-Key-2027#"


@pytest.fixture
def key_settings(settings: Settings) -> Settings:
    return key_file_settings(settings)


def with_notices(found: dict[str, int], rotations: int = 1) -> dict[str, int]:
    """``found`` plus each finished rotation's emails to the two administrators."""
    return {**found, "outbox.payload": found["outbox.payload"] + 2 * rotations}


def test_a_failure_inside_the_switch_rolls_everything_back(key_settings: Settings,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import core.site_key_switch as site_key_switch

    with key_clinic(key_settings, messages=3) as app:
        before = counts(app)
        written: list[int] = []

        def dies(session, *_args, **_kwargs) -> int:  # noqa: ANN001 - the notice's signature
            # every protected row has been rewritten under the new key in this transaction by now
            written.append(session.scalar(select(KeyRotation.id)))
            raise OSError("power cut inside the switching transaction")

        with monkeypatch.context() as patched:
            patched.setattr(site_key_switch, "key_rotated", dies)
            with pytest.raises(OSError, match="power cut"):
                rotate(app, NEW_KEY, batch=2)
        assert written  # the failure really came after the rows were rewritten
        with app.uow() as uow:
            assert uow.session.scalar(select(KeyRotation.state)) == "staging"
        assert key_settings.resolved_key_file().read_text().strip() == OLD_KEY
        fresh = bootstrap(key_settings)  # a new process: the old key, everything readable
        try:
            assert readable(fresh, fresh.cipher) == before
        finally:
            fresh.dispose()
        finished = resume(app)
        assert finished.finished and finished.unreadable == 0
        with app.uow() as uow:
            salt = uow.session.scalar(select(Site.key_salt))
        assert readable(app, SiteCipher(NEW_KEY, salt)) == with_notices(before)
    assert pending_files(key_settings) == []


def test_a_new_rotation_never_overwrites_the_key_of_one_that_has_switched(key_settings: Settings,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import core.site_key_switch as site_key_switch

    with key_clinic(key_settings, messages=2) as app:
        before = counts(app)

        def crash(_settings: Settings, _passphrase: str) -> None:
            raise OSError("the process dies after the commit, before the key file is written")

        with monkeypatch.context() as patched:
            patched.setattr(site_key_switch, "promote", crash)
            with pytest.raises(OSError):
                rotate(app, NEW_KEY)
        assert readable(app, app.cipher) == with_notices(before)  # this process went on with the new key
        # Another administrator starts a rotation at that moment (their start writes its own pending key).
        second_id, _key = start(app, THIRD_KEY)
        assert len(pending_files(key_settings)) == 2
    reopened = bootstrap(key_settings)  # the database is under NEW_KEY: its pending key takes over
    try:
        assert readable(reopened, reopened.cipher) == with_notices(before)
        assert key_settings.resolved_key_file().read_text().strip() == NEW_KEY
        with reopened.uow() as uow:
            second = uow.session.get(KeyRotation, second_id)
            assert second is not None and second.state == "staging"
            second_salt = bytes(second.new_salt)
        assert pending_files(key_settings) == [pending_file(key_settings, second_salt)]  # still staging: kept
    finally:
        reopened.dispose()


def test_the_key_is_in_no_audit_entry_email_or_error(key_settings: Settings) -> None:
    with key_clinic(key_settings, messages=1) as app:
        with pytest.raises(Exception) as refused:  # noqa: PT011 - any refusal: its text is what is checked
            start(app, "Weak-but-secret")
        assert "Weak-but-secret" not in str(refused.value) and "Weak-but-secret" not in repr(refused.value)
        result, passphrase = rotate(app, None)
        assert result.finished
        with app.uow() as uow:
            details = [str(d) for d in uow.session.scalars(select(AuditEntry.detail))]
            payloads = uow.session.scalars(select(OutboxItem.payload)).all()
        assert details and not any(passphrase in d or OLD_KEY in d for d in details)
        from core.outbox.worker import decode_email_payload

        for payload in payloads:
            raw = decode_email_payload(payload, app.cipher)[2]
            assert passphrase.encode() not in raw and OLD_KEY.encode() not in raw
        assert passphrase not in repr(app.cipher) and passphrase not in repr(app.settings)
