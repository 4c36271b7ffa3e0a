"""``AccueilApp``: the Textual application the front desk runs over SSH.

The CLI builds it with the settings and an ``opener`` (``lambda: bootstrap(settings)``); tests
pass an opener that returns a ready clinic. The app is put together from one module per
responsibility:

- ``tui.identity``: opening the clinic after the first frame, signing in (OS account or login
  screen), the idle lock, and ``startup_error`` when the clinic cannot be opened;
- ``tui.sections``: the top-level sections as Textual modes (F2–F6), F1 help, the command palette
  and the navigation commands its providers name;
- ``tui.preferences``: what the settings and the signed-in user set up: themes, keymap,
  language, low bandwidth, and the 80×24 minimum.

This module must not import SQLAlchemy or ``core.bootstrap`` at import time (see
``bench/startup.py``); the core types appear only under ``TYPE_CHECKING``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import App
from textual.binding import Binding
from textual.reactive import Reactive
from textual.screen import Screen
from textual.signal import Signal

from screens.lock import IdleWatch
from screens.patients import PatientsScreen
from themes import DEFAULT_THEME, STYLESHEET
from tui.clock import Clock
from tui.commands import PROVIDERS
from tui.i18n import N_, translate_bindings
from tui.identity import IdentityMixin, startup_reason
from tui.preferences import MIN_SIZE, PreferencesMixin
from tui.sections import (
    CAMPAIGNS,
    MESSAGES,
    PATIENTS,
    REPORTS,
    SECTION_BINDINGS,
    SECTION_MODES,
    SITE,
    SectionsMixin,
)

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.settings import Settings
    from core.users import StaffMember


class AccueilApp(SectionsMixin, IdentityMixin, PreferencesMixin, App[int]):
    """The whole terminal app; screens reach the open clinic through ``accueil``."""

    CSS_PATH = STYLESHEET
    TITLE = "Accueil"
    MODES = SECTION_MODES
    COMMANDS = set(PROVIDERS)
    # Our theme as the reactive's default rather than set in __init__: setting it there makes
    # Textual refresh the whole stylesheet twice before the first frame (~10% of start-up).
    theme: Reactive[str] = Reactive(DEFAULT_THEME)
    BINDINGS = [
        Binding(
            "ctrl+q", "quit", N_("Quit"), id="app.quit", priority=True,
            tooltip=N_("Leave Accueil and return to the command prompt."),
        ),
        # Declared here so that its label is ours (translated), not Textual's built-in "palette".
        Binding(
            "ctrl+p", "command_palette", N_("Commands"), id="app.commands", show=False, priority=True,
            tooltip=N_("Open the command palette: find any action by its name."),
        ),
        # A priority key, so that it works on the login and lock screens and on dialogs too.
        Binding("f1", "help", N_("Help"), id="app.help", show=False, priority=True,
                tooltip=N_("Show the keys of the field and the screen you are on, and what they do.")),
        *SECTION_BINDINGS,
    ]

    def __init__(self, settings: Settings, opener: Callable[[], Accueil], *, clock: Clock | None = None) -> None:
        super().__init__()
        translate_bindings(self)
        # Over a 56 kbit/s link every frame counts: no animation at all.
        self.animation_level = "none"
        self.settings = settings
        self.clock = clock or Clock()
        self.accueil: Accueil | None = None
        """The open clinic, or None until it is open and someone has signed in."""
        self.user: StaffMember | None = None
        """Who is signed in: ``accueil.actor`` (every audited action) is this user's name."""
        self._clinic: Accueil | None = None
        self._idle = IdleWatch(settings.lock_after_minutes)
        self.startup_error: str | None = None
        """Why the clinic could not be opened: one translated line; the CLI prints it on stderr."""
        self.campaigns_allowed = False
        """Whether this user has the Campaigns permission (CA-3): F4 shows only then."""
        self.clinic_ready_signal: Signal[Accueil] = Signal(self, "clinic-ready")
        """Published once, on the app's thread, when ``accueil`` becomes available."""
        self._opener = opener
        self.set_up_preferences()

    def get_default_screen(self) -> Screen[None]:
        """The Patients section (the default mode): what staff see first."""
        return PatientsScreen()

    def on_mount(self) -> None:
        # The default mode's stack exists by now; Textual's add_mode refuses "_default", so it
        # is entered in the mode table directly to let F2 switch back to it (textual is pinned).
        self._modes.setdefault(PATIENTS, PatientsScreen)
        # After the first frame: importing the database layer in a thread still competes for
        # the GIL, and the first screen must not wait for it.
        self.call_after_refresh(self._open_clinic)
        self.check_preferences()


__all__ = ["CAMPAIGNS", "MESSAGES", "MIN_SIZE", "PATIENTS", "REPORTS", "SITE", "AccueilApp", "startup_reason"]
