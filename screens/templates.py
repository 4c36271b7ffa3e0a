"""The Templates screen (MS-3): list, create, edit, copy and delete message templates.

Reached from the Messages section (``t`` on the Outbox screen) and the palette ("messages:
templates"). The list is read with ``core.messaging.templates.list_templates`` in a thread
worker; ``n`` and Enter open ``screens.template_form`` (a new or the highlighted template),
``c`` copies the highlighted one under a free name ("… (copy)", "… (copy 2)"), ``d`` deletes it
after a confirmation. Core refusals (a reminder rule still using the template, a name taken)
are shown translated; nothing is half-done because each change is one core call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from core.i18n import _
from tui.core_text import core_text
from tui.formatting import fit
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.messaging.templates import TemplateData
    from tui.app import AccueilApp

LOAD_GROUP = "templates-load"
CHANGE_GROUP = "templates-change"
KIND_NAMES = {"secure_message": N_("secure message"), "reminder": N_("reminder")}
LANGUAGE_NAMES = {"en": N_("English"), "fr": N_("French")}
FIXED = (("kind", N_("Kind"), 16), ("language", N_("Language"), 9), ("forms", N_("eForms"), 7))


def free_copy_name(name: str, taken: set[str]) -> str:
    """``name (copy)``, else ``name (copy 2)``, … : the first that no template has (case aside)."""
    lowered = {t.lower() for t in taken}
    candidate = _("{name} (copy)").format(name=name)
    number = 2
    while candidate.lower() in lowered:
        candidate = _("{name} (copy {number})").format(name=name, number=number)
        number += 1
    return candidate


class TemplatesScreen(Screen[None]):
    SCREEN_HELP: ClassVar[str] = N_(
        "Saved messages: subject, salutation, body, secure message, eForms and options. Pick one when composing "
        "to start from it. Built-in templates can be edited or copied like any other.")
    BINDINGS = [
        Binding("enter", "edit", N_("Edit"), id="templates.edit", priority=True,
                tooltip=N_("Edit the highlighted template.")),
        Binding("n", "new", N_("New"), id="templates.new", tooltip=N_("Write a new template.")),
        Binding("c", "copy", N_("Copy"), id="templates.copy",
                tooltip=N_("Make a copy of the highlighted template under a new name.")),
        Binding("d", "delete", N_("Delete"), id="templates.delete",
                tooltip=N_("Delete the highlighted template, after confirmation.")),
        Binding("escape", "back", N_("Back"), id="templates.back", show=False,  # 80 columns, in French too
                tooltip=N_("Back to where you were.")),
    ]
    DEFAULT_CSS = """
    #templates-status { height: 1; padding: 0 1; color: $text-muted; }
    #templates-list { height: 1fr; background: $surface; }
    """

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self.templates: list[TemplateData] = []

    def compose(self) -> ComposeResult:
        yield Static(_("Reading the templates…"), id="templates-status", markup=False)
        yield DataTable(id="templates-list", cursor_type="row")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.table.focus()
        app = cast("AccueilApp", self.app)
        if app.accueil is not None:
            self.reload()
        else:
            app.clinic_ready_signal.subscribe(self, lambda _accueil: self.reload())

    @property
    def table(self) -> DataTable[str]:
        return cast("DataTable[str]", self.query_one("#templates-list", DataTable))

    @property
    def accueil(self) -> Accueil | None:
        return cast("AccueilApp", self.app).accueil

    def reload(self) -> None:
        if self.accueil is not None:
            self._load(self.accueil)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="list templates")
    def _load(self, accueil: Accueil) -> list[TemplateData]:
        from core.messaging.templates import list_templates

        with accueil.uow() as uow:
            return list_templates(uow.session)

    @work(thread=True, exclusive=True, group=CHANGE_GROUP, exit_on_error=False, description="change a template")
    def _copy(self, accueil: Accueil, template_id: int, new_name: str) -> str:
        from core.messaging.templates import copy_template

        with accueil.uow(write=True) as uow:
            copy_template(uow, template_id, new_name)
        return _("Copied as “{name}”.").format(name=new_name)

    @work(thread=True, exclusive=True, group=CHANGE_GROUP, exit_on_error=False, description="change a template")
    def _delete(self, accueil: Accueil, template_id: int, name: str) -> str:
        from core.messaging.templates import delete_template

        with accueil.uow(write=True) as uow:
            delete_template(uow, template_id)
        return _("Template “{name}” deleted.").format(name=name)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        status = self.query_one("#templates-status", Static)
        if worker.group == LOAD_GROUP:
            if worker.state == WorkerState.SUCCESS:
                self.templates = cast("list[TemplateData]", worker.result)
                self._fill()
            elif worker.state == WorkerState.ERROR and worker.error is not None:
                status.update(_("The templates cannot be read: {reason}").format(reason=core_text(worker.error)))
        elif worker.group == CHANGE_GROUP:
            if worker.state == WorkerState.SUCCESS:
                self.notify(str(worker.result))
                self.reload()
            elif worker.state == WorkerState.ERROR and worker.error is not None:
                self.notify(core_text(worker.error), title=_("Template not changed"), severity="error")

    def _fill(self) -> None:
        table = self.table
        row = table.cursor_row
        table.clear(columns=True)
        name_width = max(16, self.size.width - sum(w for _k, _l, w in FIXED) - 2 * (len(FIXED) + 1) - 2)
        table.add_column(_("Name"), width=name_width, key="name")
        for key, label, width in FIXED:
            table.add_column(_(label), width=width, key=key)
        for template in self.templates:
            kind = _(KIND_NAMES[template.kind]) if template.kind in KIND_NAMES else template.kind
            language = _(LANGUAGE_NAMES.get(template.language, template.language))
            table.add_row(fit(template.name, name_width), kind, language, str(len(template.eform_codes)),
                          key=str(template.id))
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)
        self.query_one("#templates-status", Static).update(
            _("{count} templates · Esc back").format(count=len(self.templates)))

    def highlighted(self) -> TemplateData | None:
        table = self.table
        if not self.templates or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return next((t for t in self.templates if str(t.id) == key), None)

    @on(DataTable.RowSelected, "#templates-list")
    def _selected(self) -> None:
        self.action_edit()

    # -- actions -------------------------------------------------------------------------------
    def _open_form(self, template_id: int | None) -> None:
        from screens.template_form import TemplateFormScreen

        def done(saved: bool | None) -> None:
            if saved:
                self.reload()

        self.app.push_screen(TemplateFormScreen(template_id), done)

    def action_new(self) -> None:
        self._open_form(None)

    def action_edit(self) -> None:
        template = self.highlighted()
        if template is not None:
            self._open_form(template.id)

    def action_copy(self) -> None:
        template = self.highlighted()
        if template is None or template.id is None or self.accueil is None:
            return
        self._copy(self.accueil, template.id, free_copy_name(template.name, {t.name for t in self.templates}))

    def action_delete(self) -> None:
        template = self.highlighted()
        accueil = self.accueil
        if template is None or template.id is None or accueil is None:
            return
        from screens.confirm import ConfirmScreen

        template_id, name = template.id, template.name

        def decided(delete: bool | None) -> None:
            if delete:
                self._delete(accueil, template_id, name)

        question = _("Delete the template “{name}”? Messages already sent keep their text.").format(name=name)
        self.app.push_screen(ConfirmScreen(question), decided)

    def action_back(self) -> None:
        self.dismiss()


__all__ = ["TemplatesScreen", "free_copy_name"]
