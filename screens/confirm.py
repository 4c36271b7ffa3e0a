"""``ConfirmScreen``: a small yes/no question over the current screen; dismisses with a bool."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter


class ConfirmScreen(ModalScreen[bool]):
    SCREEN_HELP: ClassVar[str] = N_("Answer the question: y for yes, n or Esc for no.")
    BINDINGS = [
        # Not Enter: a resend must be a deliberate answer, not the key the hand was already on.
        Binding("y", "answer(True)", N_("Yes"), id="confirm.yes",
                tooltip=N_("Yes, go ahead.")),
        Binding("n,escape", "answer(False)", N_("No"), id="confirm.no", key_display="n",
                tooltip=N_("No, leave things as they are.")),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    #confirm { width: 60; height: auto; padding: 1 2; background: $panel; border: round $warning; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        translate_bindings(self)
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(self.question, id="confirm-question", markup=False)
        yield KeyFooter()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


__all__ = ["ConfirmScreen"]
