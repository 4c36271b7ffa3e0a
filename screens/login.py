"""Signing in (TU-2): the OS/SSH user when the clinic mapped it, else the login screen.

Once the clinic is open the app calls ``os_account`` in a thread worker: if the session's OS
user (``getpass.getuser()``) is mapped to an active account, that is who is at the keyboard and
no password is asked. Otherwise ``LoginScreen`` covers everything until a user name and password
pass ``core.users.authenticate``, which counts failures, locks an account for 15 minutes after
five in a row and audits every attempt. The screen dismisses with the ``StaffMember``, which the
app keeps as ``app.user`` (the actor of every audited action from then on).

``check_password`` is shared with the lock screen: it turns a refusal into one translated
sentence (wrong password, account locked for N more minutes, account disabled), never a
traceback. Whether a user name exists is told only where core already tells it (a locked
account), so the screen cannot be used to list the clinic's staff.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from core.i18n import _
from tui.errors import error_text
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from sqlalchemy import Row

    from core.bootstrap import Accueil
    from core.users import StaffMember

SIGN_IN_GROUP = "sign-in"


class SignInRefused(Exception):
    """A refused password, with the sentence to show (already translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def os_account(accueil: Accueil) -> StaffMember | None:
    """The account mapped to this session's OS/SSH user, or None (then the login screen asks)."""
    from core.bootstrap import default_actor
    from core.users import user_for_os_account

    with accueil.uow(write=True) as uow:
        return user_for_os_account(uow, default_actor())


def check_password(accueil: Accueil, username: str, password: str, *, known_user: bool = False) -> StaffMember:
    """``authenticate`` (audited, counted, locking); a refusal becomes ``SignInRefused``.

    ``known_user``: the account is the one signed in (the lock screen), so saying that it has
    been disabled since tells nobody anything new.
    """
    from sqlalchemy import select

    from core.db.models import User, utcnow
    from core.users import LoginRefused, authenticate

    if not username.strip() or not password:
        raise SignInRefused(_("Type your user name and your password."))
    now = utcnow()
    try:
        with accueil.uow(write=True) as uow:
            return authenticate(uow, username, password, now=now)
    except LoginRefused:
        with accueil.uow() as uow:
            row = uow.session.execute(select(User.locked_until, User.active)
                                      .where(User.username == username.strip().lower())).first()
        raise SignInRefused(refusal_text(row, now, known_user=known_user)) from None


def refusal_text(row: Row[tuple[datetime | None, bool]] | None, now: datetime, *, known_user: bool) -> str:
    if known_user and row is not None and not row[1]:
        return _("This account has been disabled: ask the clinic's administrator.")
    locked_until = row[0] if row is not None else None
    if locked_until is not None and locked_until > now:
        minutes = max(1, math.ceil((locked_until - now).total_seconds() / 60))
        return _("Too many failed attempts: this account is locked for {minutes} more minutes.").format(
            minutes=minutes)
    return _("Wrong user name or password.")


class PasswordDialog(ModalScreen["StaffMember"]):
    """What the login and lock screens share: an opaque cover, a box, a password check."""

    SIGNED_OUT: ClassVar[bool] = True
    """The app refuses section keys and the palette while this screen is up (see ``check_action``)."""
    DEFAULT_CSS = """
    PasswordDialog { align: center middle; background: $background; }
    #sign-in { width: 60; height: auto; padding: 1 2; background: $panel; border: round $primary;
               border-title-color: $text; }
    #sign-in Input { margin-top: 1; background: $surface; }
    #sign-in-message { margin-top: 1; color: $text-error; height: auto; }
    """

    def __init__(self, accueil: Accueil) -> None:
        super().__init__()
        translate_bindings(self)
        self.accueil = accueil

    def password_input(self) -> Input:
        field = Input(placeholder=_("Password"), password=True, id="password", compact=True)
        field.cursor_blink = False  # a blinking cursor sends bytes for as long as nobody types
        return field

    def show_message(self, text: str) -> None:
        self.query_one("#sign-in-message", Static).update(text)

    known_user: ClassVar[bool] = False

    def username(self) -> str:
        """Whose password is checked: the login screen reads its field, the lock screen knows the user."""
        raise NotImplementedError  # each of the two screens says

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "password":
            self.query_one("#password", Input).focus()
            return
        self.show_message(_("Checking…"))
        self._check(self.username(), event.value)

    @work(thread=True, exclusive=True, group=SIGN_IN_GROUP, exit_on_error=False, description="sign in")
    def _check(self, username: str, password: str) -> StaffMember:
        return check_password(self.accueil, username, password, known_user=self.known_user)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != SIGN_IN_GROUP:
            return
        if worker.state == WorkerState.SUCCESS:
            self.dismiss(cast("StaffMember", worker.result))
        elif worker.state == WorkerState.ERROR and worker.error is not None:
            error = worker.error
            self.show_message(error.message if isinstance(error, SignInRefused) else error_text(error))
            password = self.query_one("#password", Input)
            password.value = ""
            password.focus()


class LoginScreen(PasswordDialog):
    SCREEN_HELP: ClassVar[str] = N_(
        "Sign in with your Accueil user name and password. After five wrong passwords in a row the account "
        "is locked for 15 minutes. Ctrl+Q leaves.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "username": N_("Your Accueil user name, as the clinic's administrator created it."),
        "password": N_("Your password; Enter signs in."),
    }
    AUTO_FOCUS = "#username"
    BINDINGS = [
        Binding("escape", "clear", N_("Clear"), id="login.clear",
                tooltip=N_("Clear both fields and start again.")),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="sign-in") as box:
            box.border_title = _("Accueil: sign in")
            yield Static(_("Type your user name and password, then Enter."), markup=False)
            name = Input(placeholder=_("User name"), id="username", compact=True)
            name.cursor_blink = False
            yield name
            yield self.password_input()
            yield Static("", id="sign-in-message", markup=False)
        yield KeyFooter()

    def username(self) -> str:
        return self.query_one("#username", Input).value

    def action_clear(self) -> None:
        for field in self.query(Input):
            field.value = ""
        self.show_message("")
        self.query_one("#username", Input).focus()


__all__ = ["LoginScreen", "PasswordDialog", "SignInRefused", "check_password", "os_account"]
