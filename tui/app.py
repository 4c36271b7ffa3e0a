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

The top-level sections are Textual modes (``MODES``), each one function key away (F2 Patients,
F3 Messages, F4 Campaigns — shown only to staff with the Campaigns permission, F5 Reports, F6 Site: function keys never clash with typing in a field, and xterm, PuTTY, Windows
Terminal and the macOS terminals pass them over SSH; GNOME Terminal keeps F1 for its own help
unless told otherwise, and the keymap setting can move ``app.help``). A section appears only once its screen exists. F1 opens help for the
focused widget (``screens.help``); Ctrl+P the command palette (``tui.commands``). The keymap
setting is applied with Textual's own keymap support; an id that no binding has is named in a
notification after the first frame (``tui.keymap``).

This module must not import SQLAlchemy or ``core.bootstrap`` at import time (see
``bench/startup.py``); the core types appear only under ``TYPE_CHECKING``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.command import CommandPalette
from textual.reactive import Reactive
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from core.i18n import _
from screens.patients import PatientsScreen
from themes import DEFAULT_THEME, STYLESHEET, THEMES
from tui.clock import Clock
from tui.commands import PROVIDERS
from tui.i18n import N_, translate_bindings

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.settings import Settings

OPEN_GROUP = "open-clinic"
# The Patients section is Textual's default mode, whose screen is ``get_default_screen()``; a
# section in MODES costs a second style refresh and two more layouts before the first frame.
PATIENTS = "_default"
MESSAGES = "messages"
CAMPAIGNS = "campaigns"
REPORTS = "reports"
SITE = "site"


def _outbox_screen() -> Screen[None]:
    from screens.outbox import OutboxScreen  # not needed to draw the first screen

    return OutboxScreen()


def _campaigns_screen() -> Screen[None]:
    from screens.campaigns import CampaignsScreen

    return CampaignsScreen()


def _reports_screen() -> Screen[None]:
    from screens.reports import ReportsScreen

    return ReportsScreen()


def _site_screen() -> Screen[None]:
    from screens.site import SiteScreen

    return SiteScreen()


class AccueilApp(App[int]):
    """The whole terminal app; screens reach the open clinic through ``accueil``."""

    CSS_PATH = STYLESHEET
    TITLE = "Accueil"
    MODES = {MESSAGES: _outbox_screen, CAMPAIGNS: _campaigns_screen, REPORTS: _reports_screen, SITE: _site_screen}
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
        Binding("f1", "help", N_("Help"), id="app.help", show=False,
                tooltip=N_("Show the keys of the field and the screen you are on, and what they do.")),
        Binding("f2", f"section('{PATIENTS}')", N_("Patients"), id="app.patients",
                tooltip=N_("Go to the Patients section: search and open patient records.")),
        Binding("f3", f"section('{MESSAGES}')", N_("Messages"), id="app.messages",
                tooltip=N_("Go to the Messages section: the outbox of emails to patients.")),
        Binding("f4", f"section('{CAMPAIGNS}')", N_("Campaigns"), id="app.campaigns",
                tooltip=N_("Go to the Campaigns section (staff with the Campaigns permission).")),
        Binding("f5", f"section('{REPORTS}')", N_("Reports"), id="app.reports",
                tooltip=N_("Go to the Reports section: messages, forms and campaigns counted day by day.")),
        Binding("f6", f"section('{SITE}')", N_("Site"), id="app.site",
                tooltip=N_("Go to the Site section: the clinic's account and its custom From address.")),
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
        self.campaigns_allowed = False
        """Whether this user has the Campaigns permission (CA-3): F4 shows only then."""
        self.clinic_ready_signal: Signal[Accueil] = Signal(self, "clinic-ready")
        """Published once, on the app's thread, when ``accueil`` becomes available."""
        self._opener = opener
        # Unknown ids are ignored by Textual; _check_keymap names them once the screen is drawn.
        self.set_keymap(dict(settings.keymap))
        for theme in THEMES:
            self.register_theme(theme)
        # Textual computed the variables before our themes existed; nothing is parsed yet.
        self.stylesheet.set_variables(self.get_css_variables())

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
        if self.settings.keymap:
            self.call_after_refresh(self._check_keymap)

    def _check_keymap(self) -> None:
        from tui.keymap import unknown_binding_ids

        for binding_id in unknown_binding_ids(dict(self.settings.keymap)):
            self.notify(_("The keymap setting names a key binding that does not exist: {id}. "
                          "It is ignored.").format(id=binding_id),
                        title=_("Keymap"), severity="warning", timeout=10)

    # -- sections, help, palette -------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The footer leaves out the key of the section already shown (False hides a binding in
        # Textual 6): 80 columns are dear.
        if action == "section" and parameters and parameters[0] == CAMPAIGNS and not self.campaigns_allowed:
            return False  # hidden and refused: no Campaigns permission
        return not (action == "section" and parameters and parameters[0] == self.current_mode)

    def action_section(self, mode: str) -> None:
        if mode == CAMPAIGNS and not self.campaigns_allowed:
            return
        self.switch_mode(mode)

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(cast("App[object]", self)):
            self.push_screen(CommandPalette(id="--command-palette", placeholder=_("Search for commands…")))

    def action_help(self) -> None:
        from screens.help import HelpScreen, help_topic

        if not isinstance(self.screen, HelpScreen | CommandPalette):
            self.push_screen(HelpScreen(help_topic(self)))

    def command_patient_search(self) -> None:
        self.switch_mode(PATIENTS)
        if isinstance(self.screen, PatientsScreen):
            self.screen.search_input.focus()

    def command_campaigns(self) -> None:
        self.action_section(CAMPAIGNS)

    def command_new_campaign(self) -> None:
        from screens.campaigns import CampaignsScreen

        self.action_section(CAMPAIGNS)
        screen = self.screen_stack[0]
        if self.current_mode == CAMPAIGNS and isinstance(screen, CampaignsScreen):
            self.call_after_refresh(screen.action_new_campaign)

    def command_outbox(self) -> None:
        self.switch_mode(MESSAGES)

    def command_outbox_uncertain(self) -> None:
        from screens.outbox import OutboxScreen

        self.switch_mode(MESSAGES)
        screen = self.screen_stack[0]  # the Messages section's base screen, now current
        if isinstance(screen, OutboxScreen):
            self.call_after_refresh(screen.show_filter, "uncertain")

    def command_site(self) -> None:
        self.switch_mode(SITE)

    def command_audit_trail(self) -> None:
        from screens.audit_viewer import AuditViewerScreen

        self.switch_mode(SITE)
        self.push_screen(AuditViewerScreen())

    def command_staff(self) -> None:
        from screens.admin_users import StaffScreen

        self.switch_mode(SITE)
        self.push_screen(StaffScreen())

    def command_reports(self) -> None:
        self.switch_mode(REPORTS)

    def command_report_export(self) -> None:
        from screens.reports import ReportsScreen

        self.switch_mode(REPORTS)
        screen = self.screen_stack[0]
        if isinstance(screen, ReportsScreen):
            self.call_after_refresh(screen.action_export)

    def command_compose(self) -> None:
        """Write a message to the patients the current screen offers (its ``compose_targets``)."""
        targets = getattr(self.screen, "compose_targets", None)
        patient_ids = targets() if callable(targets) else []
        if not patient_ids:
            self.notify(_("Open a patient, or select patients, first."), severity="warning")
            return
        from screens.compose import ComposeScreen

        self.push_screen(ComposeScreen(list(patient_ids)))

    def action_templates(self) -> None:
        from screens.templates import TemplatesScreen

        self.switch_mode(MESSAGES)
        self.push_screen(TemplatesScreen())

    def action_fix_addresses(self) -> None:
        from screens.fix_addresses import FixAddressesScreen

        self.switch_mode(MESSAGES)
        self.push_screen(FixAddressesScreen())

    def on_unmount(self) -> None:
        if self.accueil is not None:
            self.accueil.dispose()

    @work(thread=True, exclusive=True, exit_on_error=False, group=OPEN_GROUP, description="open the clinic")
    def _open_clinic(self) -> Accueil:
        from screens.campaigns import campaigns_allowed

        accueil = self._opener()
        self.campaigns_allowed = campaigns_allowed(accueil)
        return accueil

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != OPEN_GROUP:
            return
        if worker.state == WorkerState.SUCCESS:
            accueil = worker.result
            assert accueil is not None
            self.accueil = accueil
            self.refresh_bindings()
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
