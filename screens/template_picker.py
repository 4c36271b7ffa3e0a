"""``TemplatePicker``: choose a template to start a message from; dismisses with its index or None.

Pushed by ``screens.compose`` (Ctrl+T) with the templates it has already read; type to move
through the list is not needed for the handful a clinic keeps: arrows and Enter, Esc cancels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from core.i18n import _
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter


class TemplatePicker(ModalScreen[int | None]):
    SCREEN_HELP: ClassVar[str] = N_("Choose a template: arrows move, Enter takes it, Esc keeps the message as it is.")
    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="picker.cancel", tooltip=N_("Keep the message as it is.")),
    ]
    DEFAULT_CSS = """
    TemplatePicker { align: center middle; }
    #picker { width: 64; height: auto; max-height: 18; padding: 0 1; background: $panel; border: round $primary; }
    #picker OptionList { height: auto; max-height: 14; }
    """

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__()
        translate_bindings(self)
        self.names = list(names)

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Label(_("Start from a template (it replaces the fields typed so far)"))
            yield OptionList(*(Option(name, id=str(index)) for index, name in enumerate(self.names)),
                             id="picker-list")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#picker-list", OptionList).focus()

    @on(OptionList.OptionSelected, "#picker-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["TemplatePicker"]
