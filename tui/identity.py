"""Opening the clinic, signing in and the idle lock (TU-2), for ``AccueilApp``.

Start-up is shaped by the thin clients on slow links: the Patients screen is painted first, and
only then does a thread worker call ``opener()`` (which imports SQLAlchemy and opens the
database, the slow part). Typing meanwhile stays in the search box and is searched when the
clinic is open (``clinic_ready_signal``).

If the clinic cannot be opened for a reason the user can act on (wrong site key, database
unreachable, schema newer than this code, bad settings), the app exits with return code 2 and
keeps the one-line reason in ``startup_error``, which the CLI prints once the terminal is
restored: never a traceback. Anything else is a bug and gets Textual's traceback.

Once the clinic is open, the OS/SSH user mapped to an account signs in without a prompt, or the
login screen (``screens.login``) asks. Only then is ``accueil`` set (with the user as its actor)
and ``clinic_ready_signal`` published, so nothing reads patient data before someone has signed
in; ``user`` is who that is. After ``lock_after_minutes`` without a key the lock screen
(``screens.lock``) covers the screen.

This module must not import SQLAlchemy or ``core.bootstrap`` at import time (see
``bench/startup.py``); the core types appear only under ``TYPE_CHECKING``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from textual import events, work
from textual.worker import Worker, WorkerState

from core.i18n import _
from screens.lock import CHECK_SECONDS, IdleWatch

if TYPE_CHECKING:
    from textual.app import App
    from textual.signal import Signal

    from core.bootstrap import Accueil
    from core.users import StaffMember
    from tui.clock import Clock

    _Base = App[int]
else:
    _Base = object

OPEN_GROUP = "open-clinic"
OS_SIGN_IN_GROUP = "os-sign-in"
PERMISSIONS_GROUP = "permissions"


class IdentityMixin(_Base):
    """The open clinic, who is signed in, and the idle lock."""

    accueil: Accueil | None
    user: StaffMember | None
    campaigns_allowed: bool
    startup_error: str | None
    clinic_ready_signal: Signal[Accueil]
    clock: Clock
    signed_out_screen_up: bool
    _clinic: Accueil | None
    _idle: IdleWatch
    _opener: Callable[[], Accueil]
    apply_user_preferences: Callable[[StaffMember], None]
    """The user's own language (``tui.preferences``), applied at sign-in."""

    def signed_in(self, user: StaffMember | None) -> None:
        """``user`` is at the keyboard (OS account or login screen): open the clinic to them."""
        if user is None or self._clinic is None:
            return
        self.user = user
        self._clinic.actor = user.username
        self.accueil = self._clinic
        self._idle.touch(self.clock.now())
        self.set_interval(CHECK_SECONDS, self.lock_if_idle, name="idle-lock")
        self.clinic_ready_signal.publish(self._clinic)
        self._check_permissions(self._clinic)
        self.apply_user_preferences(user)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self._idle.touch(self.clock.now())
        await super().on_event(event)

    def lock_if_idle(self) -> None:
        """Lock if no key came for ``lock_after_minutes`` (a timer calls this; it draws nothing)."""
        if self.user is not None and not self.signed_out_screen_up and self._idle.due(self.clock.now()):
            self.command_lock()

    def command_lock(self) -> None:
        from screens.lock import LockScreen

        if self.user is not None and self._clinic is not None and not self.signed_out_screen_up:
            self.push_screen(LockScreen(self._clinic, self.user, self._idle.minutes),
                             lambda _user: self._idle.touch(self.clock.now()))

    def on_unmount(self) -> None:
        if self._clinic is not None:
            self._clinic.dispose()

    @work(thread=True, exclusive=True, exit_on_error=False, group=OPEN_GROUP, description="open the clinic")
    def _open_clinic(self) -> Accueil:
        return self._opener()

    @work(thread=True, exclusive=True, exit_on_error=False, group=PERMISSIONS_GROUP, description="permissions")
    def _check_permissions(self, accueil: Accueil) -> bool:
        from screens.campaigns import campaigns_allowed

        return campaigns_allowed(accueil)  # the signed-in user's Campaigns permission (CA-3)

    @work(thread=True, exclusive=True, exit_on_error=False, group=OS_SIGN_IN_GROUP, description="OS account")
    def _sign_in_os_user(self, accueil: Accueil) -> StaffMember | None:
        from screens.login import os_account

        return os_account(accueil)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group not in (OPEN_GROUP, OS_SIGN_IN_GROUP, PERMISSIONS_GROUP):
            return
        if worker.state == WorkerState.SUCCESS and worker.group == PERMISSIONS_GROUP:
            self.campaigns_allowed = bool(worker.result)
            self.refresh_bindings()
        elif worker.state == WorkerState.SUCCESS and worker.group == OS_SIGN_IN_GROUP:
            if worker.result is not None:
                self.signed_in(cast("StaffMember", worker.result))
            else:
                from screens.login import LoginScreen

                assert self._clinic is not None
                self.push_screen(LoginScreen(self._clinic), self.signed_in)
        elif worker.state == WorkerState.SUCCESS:
            self._clinic = cast("Accueil", worker.result)
            self._sign_in_os_user(self._clinic)
        elif worker.state == WorkerState.ERROR and isinstance(worker.error, Exception):
            self._opening_failed(worker.error)

    def _opening_failed(self, error: Exception) -> None:
        reason = startup_reason(error)
        if reason is None:
            self._handle_exception(error)  # a bug, not a clinic problem: show the traceback
            return
        self.startup_error = reason
        self.exit(return_code=2)


def startup_reason(error: BaseException) -> str | None:
    """The translated one-line reason for an error the clinic can fix, or None for a bug."""
    # Imported here: by now the opener has loaded these modules, and app start-up has not paid.
    from core.crypto import SiteKeyError
    from core.errors import AccueilError
    from core.settings import SettingsError

    if not isinstance(error, AccueilError | SiteKeyError | SettingsError):
        return None
    return " ".join(_(error.message).split())


__all__ = ["OPEN_GROUP", "OS_SIGN_IN_GROUP", "PERMISSIONS_GROUP", "IdentityMixin", "startup_reason"]
