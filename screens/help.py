"""F1 help: the keys of the focused widget and of its screen, with what each does, and a word
on the screen itself. Esc closes it.

The app builds it from the screen's *active* bindings at the moment F1 is pressed, so it shows
the keys as the keymap setting made them, in the current language, and only the ones that work
there. Textual's own editing keys (inside a text box) are left out: they have no id, cannot be
remapped and behave as in every text field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from core.i18n import _
from tui.i18n import N_, translate_bindings

if TYPE_CHECKING:
    from textual.app import App

HEADING_STYLE = "bold $text-accent"
KEY_STYLE = "bold"
TOOLTIP_STYLE = "$text-muted"


@dataclass(frozen=True)
class KeyHelp:
    key: str
    description: str
    tooltip: str


@dataclass(frozen=True)
class HelpTopic:
    """What one help modal shows; built by the app from the screen it was opened on."""

    title: str
    text: str
    focus_text: str
    widget_keys: tuple[KeyHelp, ...]
    screen_keys: tuple[KeyHelp, ...]
    app_keys: tuple[KeyHelp, ...]


class HelpScreen(ModalScreen[None]):
    SCREEN_HELP: ClassVar[str] = N_("This help. Esc closes it.")
    BINDINGS = [
        Binding("escape,f1", "close", N_("Close"), id="help.close", key_display="esc",
                tooltip=N_("Close the help and go back to where you were.")),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    #help { width: 76; height: auto; max-height: 22; padding: 0 1; background: $panel;
            border: round $primary; border-title-color: $text; }
    #help-keys { height: auto; max-height: 18; scrollbar-size-vertical: 1; }
    """

    def __init__(self, topic: HelpTopic) -> None:
        super().__init__()
        translate_bindings(self)
        self.topic = topic

    def compose(self) -> ComposeResult:
        box = Vertical(id="help")
        box.border_title = self.topic.title
        box.border_subtitle = _("Esc: close")
        with box, VerticalScroll(id="help-keys"):
            yield Static(render_topic(self.topic), id="help-body")

    def on_mount(self) -> None:
        self.query_one("#help-keys", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss()


def help_topic(app: App[Any]) -> HelpTopic:
    """The help for ``app``'s current screen and focused widget, from the keys active there now."""
    from tui.keymap import known_binding_ids

    screen = app.screen
    focused = screen.focused
    known = known_binding_ids()
    keys: dict[tuple[int, str], tuple[object, list[str], Binding, str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.id or binding.id not in known:
            continue  # Textual's own keys (text editing): not remappable, not ours to describe
        entry = keys.setdefault((id(active.node), binding.id), (active.node, [], binding, active.tooltip))
        shown = app.get_key_display(binding.with_key(key, binding.key_display if key == binding.key else None))
        if shown not in entry[1]:
            entry[1].append(shown)
    widget_keys: list[KeyHelp] = []
    screen_keys: list[KeyHelp] = []
    app_keys: list[KeyHelp] = []
    for node, shown_keys, binding, tooltip in keys.values():
        target = app_keys if node is app else screen_keys if node is screen else widget_keys
        target.append(KeyHelp("/".join(shown_keys), binding.description, tooltip or binding.tooltip))
    field_help: dict[str, str] = getattr(screen, "FIELD_HELP", {})
    focus_text = _(field_help[focused.id]) if focused is not None and focused.id in field_help else ""
    screen_help = getattr(screen, "SCREEN_HELP", "")
    return HelpTopic(title=_("Help"), text=_(screen_help) if screen_help else "", focus_text=focus_text,
                     widget_keys=tuple(widget_keys), screen_keys=tuple(screen_keys), app_keys=tuple(app_keys))


def render_topic(topic: HelpTopic) -> Content:
    lines: list[Content] = [Content(topic.text)]
    if topic.focus_text:
        lines += [Content(""), Content(topic.focus_text)]
    width = max((cell_len(k.key) for k in (*topic.widget_keys, *topic.screen_keys, *topic.app_keys)), default=0) + 2
    for heading, keys in ((_("Keys here"), topic.widget_keys), (_("Keys on this screen"), topic.screen_keys),
                          (_("Keys everywhere"), topic.app_keys)):
        if not keys:
            continue
        lines += [Content(""), Content.styled(heading, HEADING_STYLE)]
        for key in keys:
            lines.append(Content.assemble((key.key.ljust(width), KEY_STYLE), key.description))
            if key.tooltip:
                lines.append(Content.assemble(" " * width, (key.tooltip, TOOLTIP_STYLE)))
    return Content("\n").join(lines)


__all__ = ["HelpScreen", "HelpTopic", "KeyHelp", "help_topic", "render_topic"]
