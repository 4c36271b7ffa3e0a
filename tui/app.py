"""``AccueilApp``: the Textual application the front desk runs over SSH.

The CLI builds it with the settings and an ``opener`` (``lambda: bootstrap(settings)``); tests
pass an opener that returns a ready clinic. Start-up is shaped by the thin clients on slow
links: the Patients screen is painted first, and only then does a thread worker call
``opener()`` (which imports SQLAlchemy and opens the database, the slow part). Typing meanwhile
stays in the search box and is searched when the clinic is open (``clinic_ready_signal``).

If the clinic cannot be opened for a reason the user can act on (wrong site key, database
unreachable, schema newer than this code, bad settings), the app exits with return code 2 and
keeps the one-line reason in ``startup_error``, which the CLI prints once the terminal is
restored: never a traceback. Anything else is a bug and gets Textual's traceback.

This module must not import SQLAlchemy or ``core.bootstrap`` at import time (see
``bench/startup.py``); the core types appear only under ``TYPE_CHECKING``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from core.i18n import _
from screens.patients import PatientsScreen
from themes import DEFAULT_THEME, STYLESHEET, THEMES
from tui.clock import Clock
from tui.i18n import N_, translate_bindings

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.settings import Settings

OPEN_GROUP = "open-clinic"


class AccueilApp(App[int]):
    """The whole terminal app; screens reach the open clinic through ``accueil``."""

    CSS_PATH = STYLESHEET
    TITLE = "Accueil"
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
    ]

    def __init__(self, settings: Settings, opener: Callable[[], Accueil], *, clock: Clock | None = None) -> None:
        super().__init__()
        translate_bindings(self)
        # Over a 56 kbit/s link every frame counts: no animation at all.
        self.animation_level = "none"
        self.settings = settings
        self.clock = clock or Clock()
        self.accueil: Accueil | None = None
        """The open clinic, or None until the opening worker has finished."""
        self.startup_error: str | None = None
        """Why the clinic could not be opened: one translated line; the CLI prints it on stderr."""
        self.clinic_ready_signal: Signal[Accueil] = Signal(self, "clinic-ready")
        """Published once, on the app's thread, when ``accueil`` becomes available."""
        self._opener = opener
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = DEFAULT_THEME

    def get_default_screen(self) -> Screen[None]:
        return PatientsScreen()

    def on_mount(self) -> None:
        # After the first frame: importing the database layer in a thread still competes for
        # the GIL, and the first screen must not wait for it.
        self.call_after_refresh(self._open_clinic)

    def on_unmount(self) -> None:
        if self.accueil is not None:
            self.accueil.dispose()

    @work(thread=True, exclusive=True, exit_on_error=False, group=OPEN_GROUP, description="open the clinic")
    def _open_clinic(self) -> Accueil:
        return self._opener()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != OPEN_GROUP:
            return
        if worker.state == WorkerState.SUCCESS:
            accueil = worker.result
            assert accueil is not None
            self.accueil = accueil
            self.clinic_ready_signal.publish(accueil)
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


__all__ = ["AccueilApp", "startup_reason"]
