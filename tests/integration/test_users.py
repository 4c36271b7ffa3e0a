"""Staff accounts on both backends: argon2 hashes, lock-out after repeated failures, audit of each try."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from accueil.cli import main
from core.db.models import AuditEntry, User, utcnow
from core.errors import InvalidInput
from core.users import LOCK_MINUTES, MAX_FAILURES, LoginRefused, add_user, authenticate, disable_user


def actions(app) -> list[str]:
    with app.uow() as uow:
        return list(uow.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_password_is_stored_only_as_argon2(app) -> None:
    with app.uow(write=True) as uow:
        add_user(uow, username="eleblanc", display_name="Élise Leblanc", role="moa", password="Correct-horse-9")
    with app.uow() as uow:
        stored = uow.session.scalar(select(User.password_hash).where(User.username == "eleblanc"))
    assert stored.startswith("$argon2id$") and "Correct-horse-9" not in stored
    with app.uow(write=True) as uow:
        assert authenticate(uow, "ELeblanc", "Correct-horse-9").display_name == "Élise Leblanc"
    assert actions(app)[-1] == "login.ok"


def test_lock_out_after_repeated_failures_even_with_the_right_password(app) -> None:
    with app.uow(write=True) as uow:
        add_user(uow, username="jdamours", display_name="Joël D'Amours", role="nurse", password="Right-password-1")
    for _ in range(MAX_FAILURES - 1):
        with app.uow(write=True) as uow, pytest.raises(LoginRefused, match="Wrong user name or password"):
            authenticate(uow, "jdamours", "wrong")
    with app.uow(write=True) as uow, pytest.raises(LoginRefused, match="locked"):
        authenticate(uow, "jdamours", "wrong")
    with app.uow(write=True) as uow, pytest.raises(LoginRefused, match="locked"):
        authenticate(uow, "jdamours", "Right-password-1")
    later = utcnow() + timedelta(minutes=LOCK_MINUTES + 1)
    with app.uow(write=True) as uow:
        assert authenticate(uow, "jdamours", "Right-password-1", now=later).username == "jdamours"
    trail = actions(app)
    assert trail.count("login.failed") == MAX_FAILURES - 1
    assert "login.locked" in trail and "login.refused-locked" in trail


def test_unknown_and_disabled_users_get_the_same_answer(app) -> None:
    with app.uow(write=True) as uow:
        add_user(uow, username="mstonge", display_name="Marie St-Onge", role="administrator",
                 password="Another-pass-22")
    with app.uow(write=True) as uow:
        disable_user(uow, "mstonge")
    messages = []
    for name in ("mstonge", "nobody"):
        with app.uow(write=True) as uow, pytest.raises(LoginRefused) as caught:
            authenticate(uow, name, "Another-pass-22")
        messages.append(caught.value.message)
    assert messages[0] == messages[1]


def test_bad_input_is_refused_clearly(app) -> None:
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="Unknown role"):
        add_user(uow, username="x1", display_name="X", role="janitor", password="Long-enough-1")
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="at least"):
        add_user(uow, username="x2", display_name="X", role="moa", password="short")
    with app.uow(write=True) as uow:
        add_user(uow, username="x3", display_name="X", role="moa", password="Long-enough-1")
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="already"):
        add_user(uow, username="X3", display_name="X", role="moa", password="Long-enough-1")


def test_cli_user_commands(app, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ACCUEIL_DATABASE_URL", app.settings.resolved_database_url())
    monkeypatch.setenv("ACCUEIL_SITE_KEY", app.settings.site_key)
    monkeypatch.setattr("sys.stdin", io.StringIO("First-password-1\n"))
    assert main(["user", "add", "gnadeau", "--name", "Geneviève Nadeau", "--role", "moa", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("Second-password-2\n"))
    assert main(["user", "passwd", "gnadeau", "--password-stdin"]) == 0
    with app.uow(write=True) as uow:
        assert authenticate(uow, "gnadeau", "Second-password-2").role == "moa"
    assert main(["user", "disable", "gnadeau"]) == 0
    assert main(["user", "disable", "nobody"]) == 2
    assert "No user named" in capsys.readouterr().err


def test_text_typed_as_an_unknown_user_name_never_reaches_the_audit_trail(app) -> None:
    with app.uow(write=True) as uow, pytest.raises(LoginRefused):
        authenticate(uow, "My-Secret-Password-1", "whatever")
    with app.uow() as uow:
        actors = list(uow.session.scalars(select(AuditEntry.actor)))
    assert not any("secret" in actor.lower() for actor in actors)
