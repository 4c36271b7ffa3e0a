"""The EMR settings screen (EM-1..EM-4): how replies and patient files go into the record.

Pushed from the Import queue screen (``e``) or the palette ("emr: settings"). One compact row
per setting: EMR profile, "create consult notes as", "save secure message notes as", the document
folder and subfolder for patient files, the destination (built-in chart or an import folder and
its path) and how many days portal copies are kept after an import. Ctrl+S saves through
``core.emr.settings.save_settings`` in a thread worker (checked, audited; items waiting for a
missing folder go back to the queue); a refused value is named on the status line. Esc leaves
without saving.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from core.i18n import _
from tui.errors import error_text
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.emr.settings import EmrSettings
    from tui.app import AccueilApp

LOAD_GROUP = "emr-settings-load"
SAVE_GROUP = "emr-settings-save"

CHOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "profile": (("generic", N_("Generic")), ("oscar_pro", N_("OSCAR Pro")), ("accuro", N_("Accuro"))),
    "consult_notes_as": (("active", N_("Active")), ("completed", N_("Completed"))),
    "secure_notes_as": (("folder", N_("Folder")), ("encounter_note", N_("Encounter note"))),
    "destination": (("chart", N_("Built-in chart")), ("folder", N_("Import folder"))),
}
LABELS = {
    "profile": N_("EMR profile"),
    "consult_notes_as": N_("Create consult notes as"),
    "secure_notes_as": N_("Save secure message notes as"),
    "folder": N_("Folder for patient files"),
    "subfolder": N_("Subfolder"),
    "destination": N_("Destination"),
    "import_path": N_("Import folder path"),
    "retention_days": N_("Keep portal copies (days)"),
}
TEXT_FIELDS = ("folder", "subfolder", "import_path", "retention_days")


class EmrSettingsScreen(Screen[None]):
    SCREEN_HELP: ClassVar[str] = N_(
        "How patient replies, completed forms and files go into the EMR record. Tab moves between the "
        "settings, Ctrl+S saves them, Esc leaves without saving. Leave the days empty to keep portal copies.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "emr-profile": N_("Generic: notes. OSCAR Pro: progress notes, files in Documents. Accuro: tasks, files "
                          "converted to PDF or JPEG."),
        "emr-consult_notes_as": N_("The state of the task a typed reply becomes in Accuro."),
        "emr-secure_notes_as": N_("Where the note about a file Accuro cannot take goes."),
        "emr-folder": N_("The document folder patient files are imported into (required for Accuro and "
                         "generic)."),
        "emr-destination": N_("The built-in chart, or a folder the EMR watches (each item as a file and a JSON "
                              "sidecar)."),
        "emr-import_path": N_("The absolute path of the folder the EMR watches."),
        "emr-retention_days": N_("Portal copies are deleted this many days after a successful import."),
    }
    BINDINGS = [
        Binding("ctrl+s", "save", N_("Save"), id="emr_settings.save", priority=True,
                tooltip=N_("Check and save the EMR settings.")),
        Binding("escape", "back", N_("Back"), id="emr_settings.back",
                tooltip=N_("Leave without saving.")),
    ]
    DEFAULT_CSS = """
    #emr-form { height: 1fr; padding: 0 1; }
    #emr-form Horizontal { height: 1; margin-bottom: 1; }
    #emr-form Label { width: 32; color: $text-muted; }
    #emr-form Select, #emr-form Input { width: 1fr; }
    #emr-status { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self.loaded: EmrSettings | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="emr-form"):
            for key, label in LABELS.items():
                with Horizontal():
                    yield Label(_(label))
                    if key in CHOICES:
                        yield Select([(_(text), value) for value, text in CHOICES[key]], id=f"emr-{key}",
                                     allow_blank=False, compact=True)
                    else:
                        yield Input(id=f"emr-{key}", compact=True,
                                    type="integer" if key == "retention_days" else "text")
        yield Static(_("Reading the EMR settings…"), id="emr-status", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        accueil = cast("AccueilApp", self.app).accueil
        if accueil is not None:
            self._load(accueil)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="read EMR settings")
    def _load(self, accueil: Accueil) -> EmrSettings:
        from core.emr.settings import read_settings

        with accueil.uow() as uow:
            return read_settings(uow.session)

    @work(thread=True, exclusive=True, group=SAVE_GROUP, exit_on_error=False, description="save EMR settings")
    def _save(self, accueil: Accueil, settings: EmrSettings) -> EmrSettings:
        from core.emr.settings import save_settings

        with accueil.uow(write=True) as uow:
            return save_settings(uow, settings)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker, status = event.worker, self.query_one("#emr-status", Static)
        if worker.group not in (LOAD_GROUP, SAVE_GROUP):
            return
        if worker.state == WorkerState.SUCCESS:
            self._fill(cast("EmrSettings", worker.result))
            status.update(_("Saved.") if worker.group == SAVE_GROUP else "")
            if worker.group == SAVE_GROUP:
                self.notify(_("EMR settings saved."))
        elif worker.state == WorkerState.ERROR and worker.error is not None:
            status.update(_("Not saved: {reason}").format(reason=error_text(worker.error)))

    def _fill(self, settings: EmrSettings) -> None:
        self.loaded = settings
        data = settings.to_data()
        for key in LABELS:
            value = data[key]
            if key in CHOICES:
                self.query_one(f"#emr-{key}", Select).value = value
            else:
                self.query_one(f"#emr-{key}", Input).value = "" if value is None else str(value)
        self.query_one("#emr-profile", Select).focus()

    def form_settings(self) -> EmrSettings:
        assert self.loaded is not None
        values: dict[str, object] = {key: self.query_one(f"#emr-{key}", Select).value for key in CHOICES}
        for key in TEXT_FIELDS:
            text = self.query_one(f"#emr-{key}", Input).value.strip()
            if key == "retention_days":  # not a whole number of days: -1, which the check refuses by name
                values[key] = (int(text) if text.isdigit() else -1) if text else None
            else:
                values[key] = text or None
        return replace(self.loaded, **values)  # type: ignore[arg-type]

    def action_save(self) -> None:
        accueil = cast("AccueilApp", self.app).accueil
        if accueil is None or self.loaded is None:
            return
        self.query_one("#emr-status", Static).update(_("Saving…"))
        self._save(accueil, self.form_settings())

    def action_back(self) -> None:
        self.dismiss()


__all__ = ["EmrSettingsScreen"]
