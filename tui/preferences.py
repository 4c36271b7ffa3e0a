"""What the settings and the signed-in user set up in ``AccueilApp``: themes, keymap, language,
low bandwidth, and the smallest terminal it is made for.

- Themes (TU-4): every theme in ``themes.THEMES`` is registered; the ``theme`` setting picks the
  one to start on (``themes.resolve_theme``; an unknown name is named in a notification and the
  default used); on a terminal of 16 colours or fewer the dark default becomes the low-colour theme.
- Keymap: applied with Textual's own keymap support, less the keys no keyboard sends; an id that
  no binding has, such a key, or a key taken from another action is named in a notification
  after the first frame (``tui.keymap``).
- The signed-in user's own theme and language (TU-3, TU-4): both apply at sign-in, and both are
  switched from the palette at run time and saved for that user (``core.users.save_preferences``,
  in a thread worker) for their next sign-in. ``switch_language`` rebuilds the sections in the
  new language; a theme changes in place. A user who never chose a theme gets the setting's.
- Low bandwidth (TU-5): no animation ever; with the setting (or a terminal of 16 colours or
  fewer) no blinking cursor either.
- A terminal smaller than 80×24 is told so, in the user's language, once per size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events, work
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from core.i18n import _, get_language, set_language
from screens.patients import PatientsScreen
from themes import DEFAULT_THEME, LOW_COLOUR_THEME, THEME_NAMES, THEMES, resolve_theme
from tui.i18n import translate_bindings
from tui.sections import PATIENTS, REBUILDING

if TYPE_CHECKING:
    from textual.app import App

    from core.bootstrap import Accueil
    from core.settings import Settings
    from core.users import StaffMember

    _Base = App[int]
else:
    _Base = object

MIN_SIZE = (80, 24)
SAVE_GROUP = "save-preferences"


class PreferencesMixin(_Base):
    """Themes, keymap, language, low bandwidth and terminal size, from settings and user."""

    settings: Settings
    accueil: Accueil | None
    user: StaffMember | None

    def set_up_preferences(self) -> None:
        """From ``__init__``: the keymap and the themes, before anything is drawn."""
        # Unknown ids are ignored by Textual; _check_keymap names them once the screen is drawn.
        self._size_told: tuple[int, int] | None = None
        self.set_keymap(self.keymap_in_use())
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
        self.theme = self._theme_for_terminal(self.theme)
        if self.settings.keymap:
            self.call_after_refresh(self._check_keymap)
        if self._theme_problem:
            self._tell_unknown_theme(self.settings.theme)

    def _theme_for_terminal(self, theme: str) -> str:
        """The dark default becomes the low-colour theme on a terminal of 16 colours or fewer."""
        return LOW_COLOUR_THEME if theme == DEFAULT_THEME and self._few_colours() else theme

    def _tell_unknown_theme(self, name: str) -> None:
        self.call_after_refresh(self.notify, _("The theme setting names no known theme: {name}. Themes: dark, "
                                               "light, high-contrast, low-colour.").format(name=name),
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

    def keymap_in_use(self) -> dict[str, str]:
        """The keymap setting less the keys no keyboard sends (``tui.keymap.usable_keymap``)."""
        if not self.settings.keymap:
            return {}
        from tui.keymap import usable_keymap

        return usable_keymap(dict(self.settings.keymap))

    def on_resize(self, event: events.Resize) -> None:
        size = (event.size.width, event.size.height)
        if size[0] >= MIN_SIZE[0] and size[1] >= MIN_SIZE[1]:
            self._size_told = None
        elif size != self._size_told:
            self._size_told = size  # told once per size, however many resize events come
            self.notify(_("This terminal is {width}×{height}: Accueil needs at least 80×24, so some columns and "
                          "keys are hidden. Enlarge the window.").format(width=event.size.width,
                                                                         height=event.size.height),
                        title=_("Terminal too small"), severity="warning", timeout=8)

    def _check_keymap(self) -> None:
        from tui.keymap import bad_keys, taken_keys, unknown_binding_ids

        for binding_id in unknown_binding_ids(dict(self.settings.keymap)):
            self.notify(_("The keymap setting names a key binding that does not exist: {id}. "
                          "It is ignored.").format(id=binding_id),
                        title=_("Keymap"), severity="warning", timeout=10)
        for binding_id, key in bad_keys(dict(self.settings.keymap)):
            self.notify(_("The keymap setting gives {id} a key that no keyboard sends: “{key}”. "
                          "It is ignored.").format(id=binding_id, key=key),
                        title=_("Keymap"), severity="warning", timeout=10)
        for key, binding_id in taken_keys(dict(self.settings.keymap)):
            self.notify(_("The keymap setting gives {key} to another action: {id} has lost that key.").format(
                key=key, id=binding_id), title=_("Keymap"), severity="warning", timeout=10)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # Low bandwidth: a blinking cursor (the command palette's, a form's) costs bytes every
        # half second for as long as nobody types.
        if self.low_bandwidth and isinstance(event.widget, Input):
            event.widget.cursor_blink = False

    def apply_user_preferences(self, user: StaffMember) -> None:
        """At sign-in: ``user``'s theme, if they chose one, and language."""
        if user.theme:
            chosen = resolve_theme(user.theme)
            if chosen is None:
                self._tell_unknown_theme(user.theme)
            else:
                self.theme = self._theme_for_terminal(chosen)
        if user.language != get_language():
            self.run_worker(self.switch_language(user.language), group="language")

    async def switch_language(self, language: str) -> None:
        """Show everything in ``language``: the sections are rebuilt (each starts afresh)."""
        set_language(language)
        self._bindings = self._merge_bindings()
        translate_bindings(self)
        self.set_keymap(self.keymap_in_use())
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
        language = "en" if get_language() == "fr" else "fr"
        self.run_worker(self.switch_language(language), group="language")
        self._save_for_user(language=language)

    def command_theme(self, name: str) -> None:
        self.theme = name
        short = next((key for key, full in THEME_NAMES.items() if full == name), None)
        if short is not None:
            self._save_for_user(theme=short)

    def _save_for_user(self, *, theme: str | None = None, language: str | None = None) -> None:
        if self.accueil is not None and self.user is not None:
            self._save_preferences(self.accueil, self.user.id, theme, language)

    @work(thread=True, exit_on_error=False, group=SAVE_GROUP, description="save the user's preferences")
    def _save_preferences(self, accueil: Accueil, user_id: int, theme: str | None, language: str | None) -> None:
        from core.users import save_preferences

        with accueil.uow(write=True) as uow:
            save_preferences(uow, user_id, theme=theme, language=language)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == SAVE_GROUP and worker.state == WorkerState.ERROR and worker.error is not None:
            from tui.errors import error_text

            self.notify(_("Your choice applies now but could not be kept for your next sign-in: {reason}.").format(
                reason=error_text(worker.error)), severity="warning", timeout=10)


__all__ = ["MIN_SIZE", "PreferencesMixin"]
