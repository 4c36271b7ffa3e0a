"""The command palette (Ctrl+P): one provider per area, every title prefixed by its area.

``app: …`` for the application, ``patient: …`` for the Patients section, ``messages: …`` for the
Messages section, ``campaign: …`` for Campaigns (only for staff with the permission), ``report: …`` for the Reports section. Titles are translated when the palette opens (the language may have changed
since start-up). A provider lists only what exists: areas arrive with their screens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import TYPE_CHECKING, ClassVar, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from core.i18n import _
from tui.i18n import N_

if TYPE_CHECKING:
    from tui.app import AccueilApp

# (title, help, name of the AccueilApp method that runs it, or "method:argument")
Command = tuple[str, str, str]


class AreaProvider(Provider):
    COMMANDS: ClassVar[tuple[Command, ...]] = ()

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = cast("AccueilApp", self.app)
        return [(_(title), _(help_text), _bound(app, method)) for title, help_text, method in self.COMMANDS]

    async def discover(self) -> Hits:
        for title, help_text, run in self._commands():
            yield DiscoveryHit(title, run, help=help_text)

    async def search(self, query: str) -> AsyncIterator[Hit]:
        matcher = self.matcher(query)
        for title, help_text, run in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, text=title, help=help_text)


class AppCommands(AreaProvider):
    COMMANDS = (
        (N_("app: help"), N_("Help for where you are: its keys and what they do (F1)."), "action_help"),
        (N_("app: quit"), N_("Leave Accueil and return to the command prompt."), "exit"),
        (N_("app: language: English / français"),
         N_("Switch the interface between English and French (the sections start afresh)."), "command_language"),
        (N_("app: lock the screen"), N_("Cover the screen until you type your password again."), "command_lock"),
        (N_("app: theme: dark"), N_("Light text on a dark background (the default)."), "command_theme:accueil-dark"),
        (N_("app: theme: light"), N_("Dark text on a light background."), "command_theme:accueil-light"),
        (N_("app: theme: high contrast"), N_("White and yellow on black, for low vision or glare."),
         "command_theme:accueil-high-contrast"),
        (N_("app: theme: low colour"), N_("Only the 16 basic terminal colours (old terminals, slow links)."),
         "command_theme:accueil-low-colour"),
    )


class PatientCommands(AreaProvider):
    COMMANDS = (
        (N_("patient: search"), N_("Go to the Patients section and type a name, chart ID or number."),
         "command_patient_search"),
        (N_("patient: write a message"), N_("Write a secure message to the open patient or the selected patients."),
         "command_compose"),
        (N_("patient: find or create by health number"),
         N_("Look a health number up; create the patient's record when nobody has it."),
         "command_patients:action_find_or_create"),
        (N_("patient: import a CSV file"), N_("Add or update patients from an EMR export, with progress and a "
                                              "row-numbered problem report."), "command_patient_import"),
        (N_("patient: mark every patient matching the search"),
         N_("Mark all the patients the search finds, not only those on screen, for a bulk action."),
         "command_patients:select_all_matching"),
        (N_("patient: clear the marks"), N_("Unmark every marked patient."), "command_patients:clear_marks"),
    )


class MessageCommands(AreaProvider):
    COMMANDS = (
        (N_("messages: outbox"), N_("Go to the outbox: every email waiting, sent, failed or uncertain."),
         "command_outbox"),
        (N_("messages: uncertain emails"), N_("The outbox's uncertain items, which staff may send again."),
         "command_outbox_uncertain"),
        (N_("message: templates"), N_("The message templates: create, edit, copy, delete."), "action_templates"),
        (N_("message: fix bounced addresses"),
         N_("Patients whose email address bounced: correct it and send the message again."), "action_fix_addresses"),
    )


class SiteCommands(AreaProvider):
    COMMANDS = (
        (N_("site: account and custom From address"),
         N_("Go to the Site section: sender name, contacts, custom From address and its DNS records."),
         "command_site"),
        (N_("site: audit trail"), N_("Who saw a patient's record, what a user did, and the trail's integrity."),
         "command_audit_trail"),
        (N_("site: staff and licences"), N_("Staff accounts: roles, permissions, delegate emails and licences."),
         "command_staff"),
    )


def _bound(app: AccueilApp, method: str) -> Callable[[], object]:
    name, _sep, argument = method.partition(":")
    function = getattr(app, name)
    return partial(function, argument) if argument else function




class EmrCommands(AreaProvider):
    """``emr: …``: opens its screen over the Messages section (the app has no method for it)."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = cast("AccueilApp", self.app)

        def import_queue() -> None:
            from screens.import_queue import ImportQueueScreen
            from tui.app import MESSAGES

            app.switch_mode(MESSAGES)
            app.push_screen(ImportQueueScreen())

        def settings() -> None:
            from screens.emr_settings import EmrSettingsScreen

            app.push_screen(EmrSettingsScreen())

        return [(_(N_("emr: import queue")), _(N_("Patient replies and files on their way into the EMR record: "
                                                 "pending, imported, failed; retry.")), import_queue),
                (_(N_("emr: settings")), _(N_("EMR profile, consult and secure message notes, folder, "
                                             "destination, retention.")), settings)]


class CampaignCommands(AreaProvider):
    COMMANDS = (
        (N_("campaign: list"), N_("Go to the Campaigns section: invitations and app messages."), "command_campaigns"),
        (N_("campaign: new"), N_("Create a campaign: an invitation by email or a message in the app."),
         "command_new_campaign"),
    )

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        # Staff without the Campaigns permission are not offered what they cannot open (CA-3).
        return super()._commands() if getattr(self.app, "campaigns_allowed", False) else []


class ReportCommands(AreaProvider):
    COMMANDS = (
        (N_("report: open"), N_("Go to the Reports section: pick a report, its days and filters."), "command_reports"),
        (N_("report: export to CSV"), N_("Write every row of the report on screen to a CSV file."),
         "command_report_export"),
    )


PROVIDERS = (PatientCommands, MessageCommands, EmrCommands, CampaignCommands, ReportCommands, SiteCommands,
             AppCommands)

__all__ = ["PROVIDERS", "AppCommands", "CampaignCommands", "EmrCommands", "MessageCommands", "PatientCommands",
           "ReportCommands", "SiteCommands"]
