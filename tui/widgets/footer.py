"""``KeyFooter``: Textual's Footer, drawn once with the keys and redrawn only when they change.

Textual's Footer starts empty and rebuilds its keys every time the screen says its bindings may
have changed (mount, each focus change, after each refresh that follows one): three or four
rebuilds and as many frames at start-up, each sent down a 56 kbit/s line. This one composes its
keys at mount and rebuilds only when what it shows (keys, descriptions, enabled state) differs.
Tooltips, clicks and key remapping stay Textual's. When the keys would not fit on the line (a
screen with many keys, in French) they are drawn compact: one space less between them.

It shows the keys of the screen it is on (and Ctrl+Q) on the bottom line. The section keys
(F2–F6) and F1 are on the section bar (``tui.widgets.section_bar``), the line above, which the
footer composes on every full screen of a signed-in session (not on dialogs nor on the login and
lock screens), so that no screen has to know about it. On those two, where the app's other keys
do not reach, it adds F1 (help) and Ctrl+Q (quit), which do. The command palette's key is not drawn at the
right-hand end: at 80 columns it would crowd the screen's keys (in French especially); F1 help
lists it with every other key.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tui.widgets.section_bar import SectionBar, app_key, wants_section_bar

KeySignature = tuple[tuple[str, str, str, bool], ...]


class KeyFooter(Footer):
    DEFAULT_CSS = """
    KeyFooter.-sections { height: 2; }
    """

    def __init__(self) -> None:
        super().__init__(show_command_palette=False)
        self.set_reactive(Footer._bindings_ready, True)  # compose the keys in the first frame
        self._shown: KeySignature | None = None

    def compose(self) -> ComposeResult:
        screen = self.screen
        self._shown = self._signature(screen)
        # Composed with the keys (not mounted on the screen afterwards, which would cost a second
        # frame of the whole screen): the section bar is the footer's upper line.
        sections = wants_section_bar(screen)
        self.set_class(sections, "-sections")
        signed_out = list(self._signed_out_keys(screen)) if getattr(screen, "SIGNED_OUT", False) else []
        # One space less between keys when they would not fit otherwise (a screen with many keys, in French).
        widths = [cell_len(key) + cell_len(description) + 3 for key, description in self._shown_keys(screen)]
        widths += [cell_len(key.key_display) + cell_len(key.description) + 3 for key in signed_out]
        self.compact = sum(widths) > self.app.size.width
        if sections:
            yield SectionBar()
        yield from super().compose()
        yield from signed_out

    def _shown_keys(self, screen: Screen[object]) -> list[tuple[str, str]]:
        """(key as shown, description) of each key the footer draws, one per action (as Footer does)."""
        shown: dict[str, tuple[str, str]] = {}
        for _node, binding, _enabled, _tooltip in screen.active_bindings.values():
            if binding.show and binding.action not in shown:
                shown[binding.action] = (self.app.get_key_display(binding), binding.description)
        return list(shown.values())

    def _signed_out_keys(self, screen: Screen[object]) -> list[FooterKey]:
        """F1 and Ctrl+Q on the login and lock screens: the app's keys that work there (priority)."""
        keys: list[FooterKey] = []
        for binding_id in ("app.help", "app.quit"):
            found = app_key(screen, binding_id)
            if found is not None:
                key, binding = found
                keys.append(FooterKey(key, self.app.get_key_display(binding.with_key(key)), binding.description,
                                binding.action, tooltip=binding.tooltip).data_bind(compact=Footer.compact))
        return keys

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
