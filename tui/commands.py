"""The command palette (Ctrl+P): one provider per area, every title prefixed by its area.

``app: …`` for the application, ``patient: …`` for the Patients section, ``messages: …`` for the
Messages section. Titles are translated when the palette opens (the language may have changed
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
    )


def _bound(app: AccueilApp, method: str) -> Callable[[], object]:
    name, _sep, argument = method.partition(":")
    function = getattr(app, name)
    return partial(function, argument) if argument else function


PROVIDERS = (PatientCommands, MessageCommands, AppCommands)

__all__ = ["PROVIDERS", "AppCommands", "MessageCommands", "PatientCommands"]
