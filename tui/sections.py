"""The app's top-level sections (TU-1) and the palette commands that lead into them.

The sections are Textual modes, each one function key away (F2 Patients, F3 Messages, F4
Campaigns — only for staff with the Campaigns permission, F5 Reports, F6 Site): function keys
never clash with typing in a field, and xterm, PuTTY, Windows Terminal and the macOS terminals
pass them over SSH; GNOME Terminal keeps F1 for its own help unless told otherwise, and the keymap
setting can move ``app.help``. A section appears only once its screen exists. F1 opens help for
the focused widget (``screens.help``); Ctrl+P the command palette (``tui.commands``).

``SectionsMixin`` holds what ``AccueilApp`` does with them: switching, refusing them while the
login or lock screen is up, and the ``command_…`` methods the palette's providers name. Each
section's screen module is imported when the section is first shown, not at start-up. (This
module imports no screen: the section bar, which every screen's footer holds, reads its names.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import Screen

from core.i18n import _
from tui.i18n import N_

if TYPE_CHECKING:
    from textual.app import App

    _Base = App[int]
else:
    _Base = object

# The Patients section is Textual's default mode, whose screen is ``get_default_screen()``; a
# section in MODES costs a second style refresh and two more layouts before the first frame.
PATIENTS = "_default"
MESSAGES = "messages"
CAMPAIGNS = "campaigns"
REPORTS = "reports"
SITE = "site"
REBUILDING = "rebuilding"  # a blank mode shown while the sections are rebuilt in another language


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


SECTION_MODES = {MESSAGES: _outbox_screen, CAMPAIGNS: _campaigns_screen, REPORTS: _reports_screen,
                 SITE: _site_screen}
"""The sections other than Patients (the default mode): ``AccueilApp.MODES``."""

SECTION_ORDER = (PATIENTS, MESSAGES, CAMPAIGNS, REPORTS, SITE)
"""The order of the section bar (``tui.widgets.section_bar``), whatever keys the keymap gives."""

# Not in the footer (show=False): the section bar above it shows them (tui.widgets.section_bar).
SECTION_BINDINGS = [
    Binding("f2", f"section('{PATIENTS}')", N_("Patients"), id="app.patients", show=False,
            tooltip=N_("Go to the Patients section: search and open patient records.")),
    Binding("f3", f"section('{MESSAGES}')", N_("Messages"), id="app.messages", show=False,
            tooltip=N_("Go to the Messages section: the outbox of emails to patients.")),
    Binding("f4", f"section('{CAMPAIGNS}')", N_("Campaigns"), id="app.campaigns", show=False,
            tooltip=N_("Go to the Campaigns section (staff with the Campaigns permission).")),
    Binding("f5", f"section('{REPORTS}')", N_("Reports"), id="app.reports", show=False,
            tooltip=N_("Go to the Reports section: messages, forms and campaigns counted day by day.")),
    Binding("f6", f"section('{SITE}')", N_("Site"), id="app.site", show=False,
            tooltip=N_("Go to the Site section: the clinic's account and its custom From address.")),
]


class SectionsMixin(_Base):
    """Sections, help and the palette's navigation commands, for ``AccueilApp``."""

    campaigns_allowed: bool

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The section keys are shown by the section bar (tui.widgets.section_bar), not the footer.
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

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()  # F1 again closes it (F1 is a priority key: the help's own F1 never sees it)
        elif not isinstance(self.screen, CommandPalette):
            self.push_screen(HelpScreen(help_topic(self)))

    def command_patient_search(self) -> None:
        from screens.patients import PatientsScreen  # imported by the app already: no cost

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
        from screens.patients import PatientsScreen

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


__all__ = ["CAMPAIGNS", "MESSAGES", "PATIENTS", "REBUILDING", "REPORTS", "SECTION_BINDINGS", "SECTION_MODES",
           "SECTION_ORDER", "SITE", "SectionsMixin"]
