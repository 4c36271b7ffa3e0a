"""What the settings and the signed-in user set up in ``AccueilApp``: themes, keymap, language,
low bandwidth, and the smallest terminal it is made for.

- Themes (TU-4): every theme in ``themes.THEMES`` is registered; the ``theme`` setting picks the
  one to start on (``themes.resolve_theme``; an unknown name is named in a notification and the
  default used), a 16-colour terminal gets the low-colour theme unless the setting chose one.
- Keymap: applied with Textual's own keymap support; an id that no binding has is named in a
  notification after the first frame (``tui.keymap``).
- Language (TU-3): the user's language applies at sign-in and the palette switches it
  (``switch_language`` rebuilds the sections in the new language).
- Low bandwidth (TU-5): no animation ever; with the setting (or a terminal of 16 colours or
  fewer) no blinking cursor either.
- A terminal smaller than 80×24 is told so, in the user's language.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.screen import Screen
from textual.widgets import Input

from core.i18n import _, get_language, set_language
from screens.patients import PatientsScreen
from themes import DEFAULT_THEME, LOW_COLOUR_THEME, THEMES, resolve_theme
from tui.i18n import translate_bindings
from tui.sections import PATIENTS, REBUILDING

if TYPE_CHECKING:
    from textual.app import App

    from core.settings import Settings
    from core.users import StaffMember

    _Base = App[int]
else:
    _Base = object

MIN_SIZE = (80, 24)


class PreferencesMixin(_Base):
    """Themes, keymap, language, low bandwidth and terminal size, from settings and user."""

    settings: Settings

    def set_up_preferences(self) -> None:
        """From ``__init__``: the keymap and the themes, before anything is drawn."""
        # Unknown ids are ignored by Textual; _check_keymap names them once the screen is drawn.
        self.set_keymap(dict(self.settings.keymap))
        for theme in THEMES:
            self.register_theme(theme)
        self._theme_problem = resolve_theme(self.settings.theme) is None
        # Textual computed the variables before our themes existed; nothing is parsed yet.
        self.stylesheet.set_variables(self.get_css_variables())
        chosen = resolve_theme(self.settings.theme) or DEFAULT_THEME
        if chosen != DEFAULT_THEME:  # the default is the reactive's own: setting it costs a style pass
            self.theme = chosen

    def check_preferences(self) -> None:
        """From ``on_mount``: what must wait for the first frame (checks, the terminal's colours)."""
        if self._few_colours() and self.settings.theme == "dark":  # the default, on a 16-colour terminal
            self.theme = LOW_COLOUR_THEME
        if self.settings.keymap:
            self.call_after_refresh(self._check_keymap)
        if self._theme_problem:
            self.call_after_refresh(self.notify, _("The theme setting names no known theme: {name}. Themes: dark, "
                                                   "light, high-contrast, low-colour.").format(name=self.settings.theme),
                                    title=_("Theme"), severity="warning", timeout=10)

    @property
    def low_bandwidth(self) -> bool:
        """The setting, or when unset: on if the terminal reports 16 colours or fewer."""
        if self.settings.low_bandwidth is not None:
            return self.settings.low_bandwidth
        return self._few_colours()

    def _few_colours(self) -> bool:
        # A headless app (tests) has no terminal to ask.
        return not self.is_headless and self.console.color_system in (None, "standard", "windows")

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width < MIN_SIZE[0] or event.size.height < MIN_SIZE[1]:
            self.notify(_("This terminal is {width}×{height}: Accueil needs at least 80×24, so some columns and "
                          "keys are hidden. Enlarge the window.").format(width=event.size.width,
                                                                         height=event.size.height),
                        title=_("Terminal too small"), severity="warning", timeout=8)

    def _check_keymap(self) -> None:
        from tui.keymap import unknown_binding_ids

        for binding_id in unknown_binding_ids(dict(self.settings.keymap)):
            self.notify(_("The keymap setting names a key binding that does not exist: {id}. "
                          "It is ignored.").format(id=binding_id),
                        title=_("Keymap"), severity="warning", timeout=10)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # Low bandwidth: a blinking cursor (the command palette's, a form's) costs bytes every
        # half second for as long as nobody types.
        if self.low_bandwidth and isinstance(event.widget, Input):
            event.widget.cursor_blink = False

    def apply_user_preferences(self, user: StaffMember) -> None:
        """At sign-in: ``user``'s language."""
        if user.language != get_language():
            self.run_worker(self.switch_language(user.language), group="language")

    async def switch_language(self, language: str) -> None:
        """Show everything in ``language``: the sections are rebuilt (each starts afresh)."""
        set_language(language)
        self._bindings = self._merge_bindings()
        translate_bindings(self)
        self.set_keymap(dict(self.settings.keymap))
        current = self.current_mode
        base = self.screen_stack[0]  # what was typed in the search box survives the rebuild
        query = base.search_input.value if isinstance(base, PatientsScreen) else ""
        self.add_mode(REBUILDING, Screen)
        await self.switch_mode(REBUILDING)
        for mode, screen in self.MODES.items():
            await self.remove_mode(mode)
            self.add_mode(mode, screen)
        # The Patients section is the default mode, which add_mode refuses: entered directly.
        await self.remove_mode(PATIENTS)
        self._modes[PATIENTS] = PatientsScreen
        await self.switch_mode(current)
        await self.remove_mode(REBUILDING)
        if query and isinstance(self.screen_stack[0], PatientsScreen):
            self.screen_stack[0].search_input.value = query

    def command_language(self) -> None:
        self.run_worker(self.switch_language("en" if get_language() == "fr" else "fr"), group="language")

    def command_theme(self, name: str) -> None:
        self.theme = name


__all__ = ["MIN_SIZE", "PreferencesMixin"]
