"""Unit tests for core.crypto: site key handling and AES-256-GCM at rest."""

from __future__ import annotations

import os
import pickle
import random
import stat
import threading
import time
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import crypto
from core.crypto import (
    DecryptionError,
    SiteCipher,
    SiteKeyError,
    check_key_policy,
    generate_passphrase,
    load_passphrase,
    read_key_file,
    write_key_file,
)

GOOD = "Correct-Horse-42-battery"
OTHER = "Another#Passphrase-2024"
SALT = bytes(range(16))
FRENCH = "Élodie Bérubé, 12 rue de l'Église — Trois-Rivières (Québec) ç œ « »"


@pytest.fixture(scope="module")
def cipher() -> SiteCipher:
    return SiteCipher(GOOD, SALT)


# --- encryption ------------------------------------------------------------


def test_round_trip_bytes(cipher: SiteCipher) -> None:
    data = bytes(range(256)) * 3
    blob = cipher.encrypt(data, context="attachment")
    assert data not in blob
    assert blob[:1] == b"\x01"
    assert len(blob) == 1 + 12 + len(data) + 16
    assert cipher.decrypt(blob, context="attachment") == data


def test_round_trip_text_with_accents(cipher: SiteCipher) -> None:
    blob = cipher.encrypt_text(FRENCH, context="secure_content")
    assert FRENCH.encode() not in blob
    assert cipher.decrypt_text(blob, context="secure_content") == FRENCH


def test_round_trip_empty_text(cipher: SiteCipher) -> None:
    blob = cipher.encrypt_text("", context="note")
    assert cipher.decrypt_text(blob, context="note") == ""


def test_same_plaintext_encrypts_differently(cipher: SiteCipher) -> None:
    a = cipher.encrypt_text(FRENCH, context="secure_content")
    b = cipher.encrypt_text(FRENCH, context="secure_content")
    assert a != b
    assert a[1:13] != b[1:13]  # distinct nonces


def test_other_cipher_same_key_and_salt_decrypts(cipher: SiteCipher) -> None:
    blob = cipher.encrypt_text(FRENCH, context="secure_content")
    assert SiteCipher(GOOD, SALT).decrypt_text(blob, context="secure_content") == FRENCH


def test_wrong_passphrase_raises(cipher: SiteCipher) -> None:
    blob = cipher.encrypt_text(FRENCH, context="secure_content")
    with pytest.raises(DecryptionError) as info:
        SiteCipher(OTHER, SALT).decrypt_text(blob, context="secure_content")
    assert info.value.code in ("corrupt", "wrong")


def test_same_passphrase_other_salt_raises(cipher: SiteCipher) -> None:
    blob = cipher.encrypt_text(FRENCH, context="secure_content")
    with pytest.raises(DecryptionError):
        SiteCipher(GOOD, bytes(16)).decrypt_text(blob, context="secure_content")


@pytest.mark.parametrize("index", [0, 1, 12, 13, 20, -1])
def test_tampered_byte_raises(cipher: SiteCipher, index: int) -> None:
    blob = bytearray(cipher.encrypt_text(FRENCH, context="secure_content"))
    blob[index] ^= 0x01
    with pytest.raises(DecryptionError) as info:
        cipher.decrypt(bytes(blob), context="secure_content")
    assert info.value.code == "corrupt"


@pytest.mark.parametrize("cut", [0, 1, 13, 28, 29, 1 + 12 + 16 + 5])
def test_truncated_blob_raises(cipher: SiteCipher, cut: int) -> None:
    blob = cipher.encrypt_text(FRENCH, context="secure_content")
    with pytest.raises(DecryptionError) as info:
        cipher.decrypt(blob[:cut], context="secure_content")
    assert info.value.code == "corrupt"


def test_wrong_context_raises(cipher: SiteCipher) -> None:
    blob = cipher.encrypt_text(FRENCH, context="secure_content")
    with pytest.raises(DecryptionError):
        cipher.decrypt_text(blob, context="patient_notes")


def test_decryption_error_is_a_site_key_error() -> None:
    assert issubclass(DecryptionError, SiteKeyError)


def test_bad_salt_refused() -> None:
    with pytest.raises(SiteKeyError) as info:
        SiteCipher(GOOD, b"short")
    assert info.value.code == "corrupt"


def test_new_salt_is_random_16_bytes() -> None:
    a, b = SiteCipher.new_salt(), SiteCipher.new_salt()
    assert isinstance(a, bytes) and len(a) == 16
    assert a != b


# --- key check ------------------------------------------------------------


def test_key_check_accepts_right_key(cipher: SiteCipher) -> None:
    check = cipher.make_key_check()
    SiteCipher(GOOD, SALT).verify_key_check(check)  # must not raise


def test_key_check_wrong_key(cipher: SiteCipher) -> None:
    check = cipher.make_key_check()
    with pytest.raises(SiteKeyError) as info:
        SiteCipher(OTHER, SALT).verify_key_check(check)
    assert info.value.code == "wrong"
    assert "does not match this database" in info.value.message
    assert OTHER not in info.value.message and GOOD not in info.value.message


def test_key_check_rejects_other_plaintext(cipher: SiteCipher) -> None:
    forged = cipher.encrypt(b"something else", context="key-check")
    with pytest.raises(SiteKeyError) as info:
        cipher.verify_key_check(forged)
    assert info.value.code == "wrong"


# --- laziness, thread safety, secrecy ---------------------------------------


def test_derivation_is_lazy_and_happens_once() -> None:
    calls: list[int] = []
    real = crypto.Scrypt

    class SlowCountingScrypt:
        def __init__(self, **kwargs: object) -> None:
            self._kdf = real(**kwargs)  # type: ignore[arg-type]

        def derive(self, password: bytes) -> bytes:
            calls.append(1)
            time.sleep(0.05)  # widen the race window so a missing lock shows up
            return self._kdf.derive(password)

    with mock.patch.object(crypto, "Scrypt", SlowCountingScrypt):
        c = SiteCipher(GOOD, SALT)
        assert calls == []
        errors: list[BaseException] = []

        def work() -> None:
            try:
                c.decrypt(c.encrypt(b"x", context="t"), context="t")
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert len(calls) == 1


def test_repr_leaks_nothing(cipher: SiteCipher) -> None:
    fresh = SiteCipher(GOOD, SALT)
    for obj in (fresh, cipher):
        text = repr(obj) + str(obj)
        assert GOOD not in text
        assert SALT.hex() not in text and repr(SALT) not in text
    assert "Horse" not in repr(fresh)


def test_cannot_be_pickled(cipher: SiteCipher) -> None:
    with pytest.raises(TypeError):
        pickle.dumps(cipher)


# --- policy -----------------------------------------------------------------


def test_policy_accepts_good_passphrase() -> None:
    assert check_key_policy(GOOD) == []


@pytest.mark.parametrize(
    ("passphrase", "rule"),
    [
        ("Short-42-aB", "at least 16 characters"),
        ("Correct-Horse-battery", "a digit"),
        ("correct-horse-42-battery", "an upper-case letter"),
        ("CORRECT-HORSE-42-BATTERY", "a lower-case letter"),
        ("CorrectHorse42battery", "a punctuation mark"),
        ("Correct Horse 42 battery", "a punctuation mark"),  # a space is not punctuation
    ],
)
def test_policy_each_rule_alone(passphrase: str, rule: str) -> None:
    assert check_key_policy(passphrase) == [rule]


def test_policy_lists_every_unmet_rule() -> None:
    assert check_key_policy("") == [
        "at least 16 characters",
        "a digit",
        "an upper-case letter",
        "a lower-case letter",
        "a punctuation mark",
    ]


def test_generate_passphrase_shape() -> None:
    a, b = generate_passphrase(), generate_passphrase()
    assert len(a) == 24 and check_key_policy(a) == []
    assert a != b


@settings(max_examples=300)
@given(rng=st.randoms(use_true_random=False))
def test_generate_passphrase_always_passes(rng: random.Random) -> None:
    # Hypothesis drives the randomness, including degenerate sequences.
    with mock.patch.object(crypto, "_rng", rng):
        passphrase = generate_passphrase()
    assert len(passphrase) == 24
    assert check_key_policy(passphrase) == []


@given(body=st.text(alphabet=st.characters(categories=["Ll", "Lu", "Nd", "Po"])))
def test_policy_digit_rule_matches_content(body: str) -> None:
    unmet = check_key_policy(body)
    assert ("a digit" in unmet) == (not any(ch.isdigit() for ch in body))
    assert ("at least 16 characters" in unmet) == (len(body) < 16)


# --- key file ---------------------------------------------------------------


def test_key_file_written_0600_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "config" / "accueil" / "site.key"
    write_key_file(path, GOOD)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_key_file(path) == GOOD
    assert sorted(p.name for p in path.parent.iterdir()) == ["site.key"]  # no temp left


def test_key_file_overwrite_replaces_loose_permissions(tmp_path: Path) -> None:
    path = tmp_path / "site.key"
    path.write_text("old\n")
    path.chmod(0o644)
    old_umask = os.umask(0)
    try:
        write_key_file(path, OTHER)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_key_file(path) == OTHER


def test_write_refuses_weak_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "site.key"
    with pytest.raises(SiteKeyError) as info:
        write_key_file(path, "password")
    assert info.value.code == "weak"
    assert "a digit" in info.value.message
    assert "password" not in info.value.message
    assert not path.exists()


def test_world_readable_key_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "site.key"
    path.write_text(GOOD + "\n")
    path.chmod(0o644)
    with pytest.raises(SiteKeyError) as info:
        read_key_file(path)
    assert info.value.code == "permissions"
    assert str(path) in info.value.message
    assert "chmod 600" in info.value.message
    assert GOOD not in info.value.message


def test_missing_key_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "site.key"
    with pytest.raises(SiteKeyError) as info:
        read_key_file(path)
    assert info.value.code == "missing"
    assert str(path) in info.value.message
    assert "ACCUEIL_SITE_KEY" in info.value.message


def test_empty_key_file_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "site.key"
    path.write_text("\n")
    path.chmod(0o600)
    with pytest.raises(SiteKeyError) as info:
        read_key_file(path)
    assert info.value.code == "missing"


def test_weak_key_file(tmp_path: Path) -> None:
    path = tmp_path / "site.key"
    path.write_text("tooshort\n")
    path.chmod(0o600)
    with pytest.raises(SiteKeyError) as info:
        read_key_file(path)
    assert info.value.code == "weak"
    assert "at least 16 characters" in info.value.message
    assert "tooshort" not in info.value.message


def test_unreadable_key_file(tmp_path: Path) -> None:
    path = tmp_path / "site.key"
    path.mkdir(mode=0o700)  # a directory where the file should be
    with pytest.raises(SiteKeyError) as info:
        read_key_file(path)
    assert info.value.code == "unreadable"
    assert str(path) in info.value.message


def test_env_value_wins_over_file(tmp_path: Path) -> None:
    path = tmp_path / "site.key"
    write_key_file(path, GOOD)
    assert load_passphrase(env_value=OTHER, key_file=path) == OTHER
    assert load_passphrase(env_value=OTHER, key_file=tmp_path / "absent") == OTHER


@pytest.mark.parametrize("env_value", [None, ""])
def test_unset_env_falls_back_to_file(tmp_path: Path, env_value: str | None) -> None:
    path = tmp_path / "site.key"
    write_key_file(path, GOOD)
    assert load_passphrase(env_value=env_value, key_file=path) == GOOD


def test_nothing_configured_is_missing(tmp_path: Path) -> None:
    with pytest.raises(SiteKeyError) as info:
        load_passphrase(env_value=None, key_file=tmp_path / "site.key")
    assert info.value.code == "missing"


def test_weak_env_value_refused(tmp_path: Path) -> None:
    with pytest.raises(SiteKeyError) as info:
        load_passphrase(env_value="weak", key_file=tmp_path / "site.key")
    assert info.value.code == "weak"
    assert "ACCUEIL_SITE_KEY" in info.value.message
