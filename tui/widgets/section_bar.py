"""``SectionBar``: one line above the footer with the app's sections and their keys.

``f2 Patients  f3 Messages  f4 Campaigns  f5 Reports  f6 Site                       f1 Help``

The section on screen is highlighted (the theme's cursor colours, which every theme, the
16-colour one included, keeps readable); Campaigns shows only for staff with the permission.
The keys are read from the app's bindings, so a keymap setting that moves a section shows
here, and the labels are in the user's language. The footer line below keeps the screen's own
keys: at 80 columns, in French, one line could not hold both.

``KeyFooter`` composes the bar as its upper line on every full screen it is on (not on dialogs,
whose footer is theirs alone, nor on the login and lock screens, where no section can be
reached), so the screens need not know about it. Composed with the footer, it is drawn in the
screen's first frame (mounted on the screen afterwards it would cost a second frame of the whole
screen, some 5 KB on a 56 kbit/s link), and redrawn only when what it shows changes (a permission
arrives, the language or the section changes): about a hundred bytes per screen, nothing per key
typed. A click on a section goes there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widget import Widget

from core.i18n import get_language
from tui.sections import CAMPAIGNS, SECTION_ORDER

if TYPE_CHECKING:
    from textual.app import App
    from textual.binding import Binding
    from textual.screen import Screen

SECTION_ACTION = "section"
HELP_ID = "app.help"

# (what the bar shows for each section, in order): label, key, the mode to go to, current?
Item = tuple[str, str, str, bool]
BarSignature = tuple[str, tuple[Item, ...], tuple[str, str] | None]


def _section_mode(binding: Binding) -> str | None:
    action = binding.action
    if not action.startswith(f"{SECTION_ACTION}(") or not action.endswith(")"):
        return None
    return action[len(SECTION_ACTION) + 1:-1].strip("'\"")


def bar_items(screen: Screen[Any]) -> BarSignature:
    """What the bar shows on ``screen`` now: the language, each reachable section, the help key.

    The keys are the app's bindings as the keymap made them; a key that the screen or one of its
    fields takes for itself (a keymap may give F5 to "open") is left out: it would not go there.
    """
    app = screen.app
    app_bindings = next((bindings for node, bindings in screen._binding_chain if node is app), app._bindings)
    active = screen.active_bindings
    sections: dict[str, Item] = {}
    help_key: tuple[str, str] | None = None
    for key, bindings in app_bindings.key_to_bindings.items():
        holder = active.get(key)
        if holder is not None and holder.node is not app:
            continue
        for binding in bindings:
            shown = app.get_key_display(binding.with_key(key))
            if binding.id == HELP_ID and help_key is None:
                help_key = (shown, binding.description)
            mode = _section_mode(binding)
            if mode is not None and mode not in sections and section_allowed(app, mode):
                sections[mode] = (binding.description, shown, mode, mode == app.current_mode)
    order = [mode for mode in SECTION_ORDER if mode in sections]
    return get_language(), tuple(sections[mode] for mode in order), help_key


def app_key(screen: Screen[Any], binding_id: str) -> tuple[str, Binding] | None:
    """The key (as the keymap made it) and binding of the app's binding ``binding_id`` on ``screen``."""
    app = screen.app
    app_bindings = next((bindings for node, bindings in screen._binding_chain if node is app), app._bindings)
    for key, bindings in app_bindings.key_to_bindings.items():
        for binding in bindings:
            if binding.id == binding_id:
                return key, binding
    return None


def section_allowed(app: App[Any], mode: str) -> bool:
    """Whether the signed-in user may open ``mode`` (Campaigns needs the permission)."""
    return mode != CAMPAIGNS or bool(getattr(app, "campaigns_allowed", False))


def wants_section_bar(screen: Screen[Any]) -> bool:
    """A full screen of a signed-in session: not a dialog, not the login or lock screen."""
    return not screen.is_modal and not getattr(screen, "SIGNED_OUT", False)


class SectionBar(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"section-bar--key", "section-bar--current"}
    DEFAULT_CSS = """
    SectionBar {
        dock: top;  /* the footer's upper line; its keys flow on the line below */
        height: 1;
        background: $footer-background;
        color: $footer-description-foreground;
    }
    SectionBar > .section-bar--key {
        color: $footer-key-foreground;
        text-style: bold;
    }
    SectionBar > .section-bar--current {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._shown: BarSignature | None = None
        self._spans: list[tuple[int, int, str]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[Any]) -> None:
        # Mode switches, permissions and languages all end in a bindings refresh of the screen.
        if self.is_attached and screen is self.screen and bar_items(self.screen) != self._shown:
            self.refresh()

    def render(self) -> Text:
        self._shown = signature = bar_items(self.screen)
        _language, items, help_key = signature
        key_style = self.get_component_rich_style("section-bar--key")
        current_style = self.get_component_rich_style("section-bar--current")
        text = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []
        for description, key, mode, current in items:
            start = text.cell_len
            if current:
                text.append(f" {key} {description} ", current_style)
            else:
                text.append(" ")
                text.append(key, key_style)
                text.append(f" {description} ")
            self._spans.append((start, text.cell_len, mode))
        if help_key is not None:
            key, description = help_key
            room = self.size.width - text.cell_len - cell_len(f"{key} {description} ")
            if room >= 1:  # at the right-hand end, when it fits (it does at 80 columns)
                text.append(" " * room)
                text.append(key, key_style)
                text.append(f" {description} ")
        return text

    async def on_click(self, event: events.Click) -> None:
        for start, end, mode in self._spans:
            if start <= event.x < end:
                await self.app.run_action(f"{SECTION_ACTION}('{mode}')")
                return


__all__ = ["SectionBar", "app_key", "bar_items", "section_allowed", "wants_section_bar"]
