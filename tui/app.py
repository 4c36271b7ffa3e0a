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

Identity (TU-2, ``screens.login``): once the clinic is open, the OS/SSH user mapped to an account
signs in without a prompt, or the login screen asks. Only then is ``accueil`` set (with the
user as its actor) and ``clinic_ready_signal`` published, so nothing reads patient data before
someone has signed in; ``user`` is who that is. The user's language applies at sign-in and the
palette switches it (``switch_language`` rebuilds the sections in the new language). After
``lock_after_minutes`` without a key the lock screen (``screens.lock``) covers the screen.
The ``theme`` setting picks the theme (``themes.resolve_theme``; an unknown name is named in a
notification and the default used).

This module must not import SQLAlchemy or ``core.bootstrap`` at import time (see
``bench/startup.py``); the core types appear only under ``TYPE_CHECKING``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.command import CommandPalette
from textual.reactive import Reactive
from textual.screen import Screen
from textual.signal import Signal
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from core.i18n import _, get_language, set_language
from screens.lock import CHECK_SECONDS, IdleWatch
from screens.patients import PatientsScreen
from themes import DEFAULT_THEME, LOW_COLOUR_THEME, STYLESHEET, THEMES, resolve_theme
from tui.clock import Clock
from tui.commands import PROVIDERS
from tui.i18n import N_, translate_bindings

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.settings import Settings
    from core.users import StaffMember

OPEN_GROUP = "open-clinic"
OS_SIGN_IN_GROUP = "os-sign-in"
PERMISSIONS_GROUP = "permissions"
MIN_SIZE = (80, 24)
REBUILDING = "rebuilding"  # a blank mode shown while the sections are rebuilt in another language
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
        # Unknown ids are ignored by Textual; _check_keymap names them once the screen is drawn.
        self.set_keymap(dict(settings.keymap))
        for theme in THEMES:
            self.register_theme(theme)
        self._theme_problem = resolve_theme(settings.theme) is None
        # Textual computed the variables before our themes existed; nothing is parsed yet.
        self.stylesheet.set_variables(self.get_css_variables())
        chosen = resolve_theme(settings.theme) or DEFAULT_THEME
        if chosen != DEFAULT_THEME:  # the default is the reactive's own: setting it costs a style pass
            self.theme = chosen

    @property
    def low_bandwidth(self) -> bool:
        """The setting, or when unset: on if the terminal reports 16 colours or fewer."""
        if self.settings.low_bandwidth is not None:
            return self.settings.low_bandwidth
        return self._few_colours()

    def _few_colours(self) -> bool:
        # A headless app (tests) has no terminal to ask.
        return not self.is_headless and self.console.color_system in (None, "standard", "windows")

    def get_default_screen(self) -> Screen[None]:
        """The Patients section (the default mode): what staff see first."""
        return PatientsScreen()

    def on_mount(self) -> None:
        # The default mode's stack exists by now; Textual's add_mode refuses "_default", so it
        # is entered in the mode table directly to let F2 switch back to it (textual is pinned).
        self._modes.setdefault(PATIENTS, PatientsScreen)
        if self._few_colours() and self.settings.theme == "dark":  # the default, on a 16-colour terminal
            self.theme = LOW_COLOUR_THEME
        # After the first frame: importing the database layer in a thread still competes for
        # the GIL, and the first screen must not wait for it.
        self.call_after_refresh(self._open_clinic)
        if self.settings.keymap:
            self.call_after_refresh(self._check_keymap)
        if self._theme_problem:
            self.call_after_refresh(self.notify, _("The theme setting names no known theme: {name}. Themes: dark, "
                                                   "light, high-contrast, low-colour.").format(name=self.settings.theme),
                                    title=_("Theme"), severity="warning", timeout=10)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width < MIN_SIZE[0] or event.size.height < MIN_SIZE[1]:
            self.notify(_("This terminal is {width}×{height}: Accueil needs at least 80×24, so some columns and "
                          "keys are hidden. Enlarge the window.").format(width=event.size.width,
                                                                         height=event.size.height),
                        title=_("Terminal too small"), severity="warning", timeout=8)

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
        if action in ("section", "command_palette") and self.signed_out_screen_up:
            return False  # the login and lock screens
        if action == "section" and parameters and parameters[0] == CAMPAIGNS and not self.campaigns_allowed:
            return False  # hidden and refused: no Campaigns permission
        return not (action == "section" and parameters and parameters[0] == self.current_mode)

    @property
    def signed_out_screen_up(self) -> bool:
        """The login or lock screen is in the stack (perhaps under the help): no section, no palette."""
        return any(getattr(screen, "SIGNED_OUT", False) for screen in self.screen_stack)

    def action_section(self, mode: str) -> None:
        if mode == CAMPAIGNS and not self.campaigns_allowed:
            return
        if not self.signed_out_screen_up:
            self.switch_mode(mode)

    def action_command_palette(self) -> None:
        if self.signed_out_screen_up:
            return
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

    def command_patients(self, method: str) -> None:
        """Run ``method`` of the Patients section's screen (marks: select all matching, clear)."""
        self.switch_mode(PATIENTS)
        screen = self.screen_stack[0]
        if isinstance(screen, PatientsScreen):
            getattr(screen, method)()

    def command_patient_import(self) -> None:
        from screens.import_patients import ImportPatientsScreen

        self.switch_mode(PATIENTS)
        self.push_screen(ImportPatientsScreen())

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

    # -- identity, language, theme, idle lock ----------------------------------------------
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
        if user.language != get_language():
            self.run_worker(self.switch_language(user.language), group="language")

    async def switch_language(self, language: str) -> None:
        """Show everything in ``language``: the sections are rebuilt (each starts afresh)."""
        set_language(language)
        self._bindings = self._merge_bindings()
        translate_bindings(self)
        self.set_keymap(dict(self.settings.keymap))
        current = self.current_mode
        base = self.screen_stack[0]  # what was typed in the search box survives the rebuild
        query = base.search_input.value if isinstance(base, PatientsScreen) else ""
        self.add_mode(REBUILDING, Screen)
        await self.switch_mode(REBUILDING)
        for mode, screen in self.MODES.items():
            await self.remove_mode(mode)
            self.add_mode(mode, screen)
        # The Patients section is the default mode, which add_mode refuses: entered directly.
        await self.remove_mode(PATIENTS)
        self._modes[PATIENTS] = PatientsScreen
        await self.switch_mode(current)
        await self.remove_mode(REBUILDING)
        if query and isinstance(self.screen_stack[0], PatientsScreen):
            self.screen_stack[0].search_input.value = query

    def command_language(self) -> None:
        self.run_worker(self.switch_language("en" if get_language() == "fr" else "fr"), group="language")

    def command_theme(self, name: str) -> None:
        self.theme = name

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self._idle.touch(self.clock.now())
        await super().on_event(event)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # Low bandwidth: a blinking cursor (the command palette's, a form's) costs bytes every
        # half second for as long as nobody types.
        if self.low_bandwidth and isinstance(event.widget, Input):
            event.widget.cursor_blink = False

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


__all__ = ["AccueilApp", "startup_reason"]
