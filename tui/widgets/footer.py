"""``KeyFooter``: Textual's Footer, drawn once with the keys and redrawn only when they change.

Textual's Footer starts empty and rebuilds its keys every time the screen says its bindings may
have changed (mount, each focus change, after each refresh that follows one): three or four
rebuilds and as many frames at start-up, each sent down a 56 kbit/s line. This one composes its
keys at mount and rebuilds only when what it shows (keys, descriptions, enabled state) differs.
Tooltips, clicks and key remapping stay Textual's. The command palette's key is not drawn at
the right-hand end: at 80 columns it would hide the section keys (in French especially); F1
help lists it with every other key.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

KeySignature = tuple[tuple[str, str, str, bool], ...]


class KeyFooter(Footer):
    def __init__(self) -> None:
        super().__init__(show_command_palette=False)
        self.set_reactive(Footer._bindings_ready, True)  # compose the keys in the first frame
        self._shown: KeySignature | None = None

    def compose(self) -> ComposeResult:
        self._shown = self._signature(self.screen)
        yield from super().compose()

    def bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen and self._signature(screen) == self._shown:
            return
        super().bindings_changed(screen)

    @staticmethod
    def _signature(screen: Screen[object]) -> KeySignature:
        return tuple(
            (binding.key, binding.description, tooltip, enabled)
            for _node, binding, enabled, tooltip in screen.active_bindings.values()
            if binding.show
        )


__all__ = ["KeyFooter"]
