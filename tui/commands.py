"""The command palette (Ctrl+P): one provider per area, every title prefixed by its area.

``app: …`` for the application, ``patient: …`` for the Patients section, ``messages: …`` for the
Messages section. Titles are translated when the palette opens (the language may have changed
since start-up). A provider lists only what exists: areas arrive with their screens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, ClassVar, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from core.i18n import _
from tui.i18n import N_

if TYPE_CHECKING:
    from tui.app import AccueilApp

# (title, help, name of the AccueilApp method that runs it)
Command = tuple[str, str, str]


class AreaProvider(Provider):
    COMMANDS: ClassVar[tuple[Command, ...]] = ()

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = cast("AccueilApp", self.app)
        return [(_(title), _(help_text), getattr(app, method)) for title, help_text, method in self.COMMANDS]

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
    )


class PatientCommands(AreaProvider):
    COMMANDS = (
        (N_("patient: search"), N_("Go to the Patients section and type a name, chart ID or number."),
         "command_patient_search"),
        (N_("patient: write a message"), N_("Write a secure message to the open patient or the selected patients."),
         "command_compose"),
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


PROVIDERS = (PatientCommands, MessageCommands, AppCommands)

__all__ = ["PROVIDERS", "AppCommands", "MessageCommands", "PatientCommands"]
