"""Staff accounts (TU-2, SI-5): who is at the keyboard, and proving it.

Passwords are kept only as argon2id hashes. Failed logins are counted per account: after
``MAX_FAILURES`` in a row the account is locked for ``LOCK_MINUTES`` (whatever is typed), and
every success, failure and lock is audited. When the clinic maps SSH/OS users to accounts, the
OS user of the session is enough and no password is asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from core import audit
from core.db.models import User, utcnow
from core.errors import AccueilError, InvalidInput, NotFound
from core.uow import UnitOfWork

ROLES = ("provider", "nurse", "moa", "administrator", "resident", "medical_student", "medical_assistant", "operator")
SUPPORT_ROLES = ("moa", "administrator", "nurse", "resident", "medical_student", "medical_assistant")
MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10
if TYPE_CHECKING:
    from argon2 import PasswordHasher

_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")


class LoginRefused(AccueilError):
    title = "Sign-in refused"


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: int
    username: str
    display_name: str
    role: str
    language: str
    email: str | None
    can_campaigns: bool
    is_operator: bool
    active: bool
    theme: str | None = None
    """The terminal app theme this user chose (``themes.THEME_NAMES``), or None: the setting's."""


def _hasher() -> PasswordHasher:  # argon2 is imported when a password is really checked, not at start-up
    from argon2 import PasswordHasher

    return PasswordHasher()


def _member(user: User) -> StaffMember:
    return StaffMember(user.id, user.username, user.display_name, user.role, user.language, user.email,
                       user.can_campaigns, user.is_operator, user.active, user.theme)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD} characters.")


def add_user(uow: UnitOfWork, *, username: str, display_name: str, role: str, password: str | None,
             email: str | None = None, language: str = "en", os_user: str | None = None) -> StaffMember:
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise InvalidInput("A user name is 2 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter.")
    if role not in ROLES:
        raise InvalidInput(f"Unknown role '{role}': choose one of {', '.join(ROLES)}.")
    if language not in ("en", "fr"):
        raise InvalidInput("The language is en or fr.")
    if uow.session.scalar(select(func.count()).where(User.username == username)):
        raise InvalidInput(f"There is already a user named '{username}'.")
    if password is not None:
        check_password_rules(password)
    user = User(username=username, display_name=display_name.strip() or username, role=role, email=email,
                language=language, os_user=os_user, is_operator=role == "operator",
                password_hash=_hasher().hash(password) if password is not None else None)
    uow.session.add(user)
    uow.session.flush()
    audit.record(uow.session, actor=uow.actor, action="user.add", detail={"user_id": user.id, "role": role})
    uow.commit()
    return _member(user)


def _find(uow: UnitOfWork, username: str) -> User:
    user = uow.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"No user named '{username}'.")
    return user


def set_password(uow: UnitOfWork, username: str, password: str) -> None:
    check_password_rules(password)
    user = _find(uow, username)
    user.password_hash = _hasher().hash(password)
    user.failed_logins, user.locked_until = 0, None
    audit.record(uow.session, actor=uow.actor, action="user.password", detail={"user_id": user.id})
    uow.commit()


def disable_user(uow: UnitOfWork, username: str) -> None:
    user = _find(uow, username)
    user.active = False
    audit.record(uow.session, actor=uow.actor, action="user.disable", detail={"user_id": user.id})
    uow.commit()


def authenticate(uow: UnitOfWork, username: str, password: str, *, now: datetime | None = None) -> StaffMember:
    """Check a password. Every outcome is audited and committed; failures raise ``LoginRefused``.

    The message never says whether the user name exists, so the login screen cannot be used to
    find out who works at the clinic.
    """
    now = now or utcnow()
    session = uow.session
    user = session.scalar(select(User).where(User.username == username.strip().lower()).with_for_update())
    refused = LoginRefused("Wrong user name or password.")
    if user is None or not user.active or user.password_hash is None:
        _hasher().hash(password)  # same work as a real check: no timing hint either
        # Never the typed name: people type their password into the user-name field.
        audit.record(session, actor="?", action="login.failed", detail={"reason": "unknown-or-disabled"})
        uow.commit()
        raise refused
    if user.locked_until is not None and user.locked_until > now:
        audit.record(session, actor=user.username, action="login.refused-locked", detail={"user_id": user.id})
        uow.commit()
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise LoginRefused(f"Too many failed attempts: this account is locked for {minutes} more minutes.")
    from argon2.exceptions import VerificationError

    try:
        _hasher().verify(user.password_hash, password)
    except VerificationError:
        user.failed_logins += 1
        locked = user.failed_logins >= MAX_FAILURES
        if locked:
            user.locked_until, user.failed_logins = now + timedelta(minutes=LOCK_MINUTES), 0
        audit.record(session, actor=user.username, action="login.locked" if locked else "login.failed",
                     detail={"user_id": user.id})
        uow.commit()
        if locked:
            raise LoginRefused(
                f"Too many failed attempts: this account is locked for {LOCK_MINUTES} minutes.") from None
        raise refused from None
    user.failed_logins, user.locked_until = 0, None
    audit.record(session, actor=user.username, action="login.ok", detail={"user_id": user.id})
    uow.commit()
    return _member(user)


def user_for_os_account(uow: UnitOfWork, os_user: str) -> StaffMember | None:
    """The active account mapped to this SSH/OS user, if the clinic set one up."""
    user = uow.session.scalar(select(User).where(User.os_user == os_user, User.active.is_(True)))
    if user is None:
        return None
    audit.record(uow.session, actor=user.username, action="login.os-user", detail={"user_id": user.id})
    uow.commit()
    return _member(user)


def save_preferences(uow: UnitOfWork, user_id: int, *, theme: str | None = None, language: str | None = None) -> None:
    """Keep what a user chose in the terminal app (theme, language) for their next sign-in."""
    if language is not None and language not in ("en", "fr"):
        raise InvalidInput("The language is en or fr.")
    if theme is not None and not re.fullmatch(r"[a-z][a-z-]{0,39}", theme):
        raise InvalidInput("A theme is named by lower-case letters and hyphens.")
    user = uow.session.get(User, user_id)
    if user is None:
        raise NotFound("This account no longer exists.")
    changed = {}
    if theme is not None and theme != user.theme:
        user.theme = changed["theme"] = theme
    if language is not None and language != user.language:
        user.language = changed["language"] = language
    if changed:
        audit.record(uow.session, actor=uow.actor, action="user.preferences", detail={"user_id": user.id, **changed})
    uow.commit()
