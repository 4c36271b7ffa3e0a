"""The idle lock (TU-2): after ``lock_after_minutes`` without a key, a screen covers everything.

``IdleWatch`` keeps the time of the last key or click, read from the app's clock (so a test
moves time forward by giving the app another clock, without sleeping). The app checks it from a
timer that draws nothing, so an idle app still writes no byte until the lock is due. The lock
is a modal screen pushed over whatever was on screen; the screens underneath are neither
rebuilt nor touched, so unlocking with the password (``core.users.authenticate``: counted,
locking, audited) shows exactly what was there. Ctrl+Q still leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from core.i18n import _
from screens.login import PasswordDialog
from tui.i18n import N_
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.users import StaffMember

CHECK_SECONDS = 15.0
"""How often the app asks whether the lock is due (the lock comes at most this late)."""


@dataclass
class IdleWatch:
    minutes: int
    """0 or less: never lock."""
    last_activity: datetime | None = None

    def touch(self, now: datetime) -> None:
        self.last_activity = now

    def due(self, now: datetime) -> bool:
        if self.minutes <= 0 or self.last_activity is None:
            return False
        return now - self.last_activity >= timedelta(minutes=self.minutes)


class LockScreen(PasswordDialog):
    SCREEN_HELP: ClassVar[str] = N_(
        "Accueil locked itself after a while without use, so nobody else can read the screen. Type your "
        "password and Enter: you find the screen exactly as you left it. Ctrl+Q leaves.")
    FIELD_HELP: ClassVar[dict[str, str]] = {"password": N_("Your password; Enter unlocks.")}
    AUTO_FOCUS = "#password"
    known_user = True

    def __init__(self, accueil: Accueil, user: StaffMember, minutes: int) -> None:
        super().__init__(accueil)
        self.user = user
        self.minutes = minutes

    def compose(self) -> ComposeResult:
        with Vertical(id="sign-in") as box:
            box.border_title = _("Accueil is locked")
            yield Static(_("Locked after {minutes} minutes without use. {name}, type your password to "
                           "continue.").format(minutes=self.minutes, name=self.user.display_name), markup=False)
            yield self.password_input()
            yield Static("", id="sign-in-message", markup=False)
        yield KeyFooter()

    def username(self) -> str:
        return self.user.username


__all__ = ["CHECK_SECONDS", "IdleWatch", "LockScreen"]
