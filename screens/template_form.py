"""Editing one template (MS-3): name, kind, language, and the message fields of ``MessageForm``.

Pushed by ``screens.templates`` with a template id (edit) or None (new); dismisses True once
saved, False on Esc. Loading (the template and the eForm catalogue) and saving
(``core.messaging.templates.save_template``, which refuses unknown placeholders) run in thread
workers; a refusal is shown translated on the status line and the form keeps what was typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from core.i18n import _, get_language
from tui.core_text import Refused, core_text
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter
from tui.widgets.message_form import FormProblem, MessageFields, MessageForm, form_titles, steady_cursors

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.messaging.desk import FormChoice
    from core.messaging.templates import TemplateData
    from tui.app import AccueilApp

LOAD_GROUP = "template-load"
SAVE_GROUP = "template-save"
KINDS = (("secure_message", N_("Secure message")), ("reminder", N_("Appointment reminder")))
LANGUAGES = (("en", N_("English")), ("fr", N_("French")))


class TemplateFormScreen(Screen[bool]):
    SCREEN_HELP: ClassVar[str] = N_(
        "A template: Tab moves from field to field, space ticks a box or a choice, Ctrl+S saves, Esc leaves "
        "without saving. A password for the identity check is never kept in a template: it is asked when "
        "sending.")
    BINDINGS = [
        Binding("ctrl+s", "save", N_("Save"), id="template.save", priority=True,
                tooltip=N_("Save the template.")),
        Binding("escape", "cancel", N_("Cancel"), id="template.cancel",
                tooltip=N_("Leave without saving.")),
    ]
    DEFAULT_CSS = """
    #template-title, #template-status { height: 1; padding: 0 1; }
    #template-title { text-style: bold; color: $text-accent; }
    #template-status { color: $text-warning; }
    #template-form { height: 1fr; padding: 0 1; background: $surface; }
    #template-form Label { margin-top: 1; color: $text-muted; }
    #template-form > Input, #template-form > Select { background: $panel; }
    #template-form #template-name-label { margin-top: 0; }
    """

    def __init__(self, template_id: int | None) -> None:
        super().__init__()
        translate_bindings(self)
        self.template_id = template_id
        self.template: TemplateData | None = None

    def compose(self) -> ComposeResult:
        title = _("New template") if self.template_id is None else _("Edit template")
        yield Static(title, id="template-title", markup=False)
        with VerticalScroll(id="template-form"):
            yield Label(_("Template name"), id="template-name-label")
            yield Input(compact=True, id="template-name")
            yield Label(_("Kind"))
            yield Select([(_(label), value) for value, label in KINDS], value="secure_message", allow_blank=False,
                         id="template-kind", compact=True)
            yield Label(_("Patient's language"))
            yield Select([(_(label), value) for value, label in LANGUAGES], value="en", allow_blank=False,
                         id="template-language", compact=True)
            yield MessageForm(asks_password=False, id="message-form")
        yield Static("", id="template-status", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#template-name", Input).focus()
        steady_cursors(self)
        accueil = cast("AccueilApp", self.app).accueil
        if accueil is not None:
            self._load(accueil, self.template_id)

    @property
    def form(self) -> MessageForm:
        return self.query_one("#message-form", MessageForm)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="open a template")
    def _load(self, accueil: Accueil, template_id: int | None) -> tuple[TemplateData | None, list[FormChoice]]:
        from core.messaging.desk import active_forms
        from core.messaging.templates import load_template

        with accueil.uow() as uow:
            template = load_template(uow.session, template_id) if template_id is not None else None
            return template, active_forms(uow.session)

    @work(thread=True, exclusive=True, group=SAVE_GROUP, exit_on_error=False, description="save a template")
    def _save(self, accueil: Accueil, data: TemplateData) -> int | Refused:
        from core.errors import AccueilError
        from core.messaging.templates import save_template

        try:
            with accueil.uow(write=True) as uow:
                return save_template(uow, data)
        except AccueilError as error:
            return Refused(error)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.state == WorkerState.ERROR and worker.error is not None:
            self.show_problem(core_text(worker.error))
            return
        if worker.state != WorkerState.SUCCESS:
            return
        if isinstance(worker.result, Refused):
            self.show_problem(core_text(worker.result.error))
            return
        if worker.group == LOAD_GROUP:
            template, forms = cast("tuple[TemplateData | None, list[FormChoice]]", worker.result)
            self.form.set_forms(form_titles([(f.code, f.title_en, f.title_fr) for f in forms], get_language()))
            if template is not None:
                self.template = template
                self._fill(template)
        elif worker.group == SAVE_GROUP:
            self.notify(_("Template saved."))
            self.dismiss(True)

    def _fill(self, template: TemplateData) -> None:
        self.query_one("#template-name", Input).value = template.name
        self.query_one("#template-kind", Select).value = template.kind
        self.query_one("#template-language", Select).value = template.language
        self.form.fill(MessageFields(template.subject, template.salutation, template.body_html,
                                     template.secure_message, template.eform_codes, template.options))

    def show_problem(self, text: str) -> None:
        self.query_one("#template-status", Static).update(text)
        self.notify(text, title=_("Not saved"), severity="error")

    def action_save(self) -> None:
        from dataclasses import replace

        from core.messaging.templates import TemplateData

        accueil = cast("AccueilApp", self.app).accueil
        if accueil is None:
            return
        name = self.query_one("#template-name", Input).value.strip()
        if not name:
            self.query_one("#template-name", Input).focus()
            self.show_problem(_("The template needs a name."))
            return
        try:
            fields = self.form.read(cast("AccueilApp", self.app).clock.today())
        except FormProblem as problem:
            self.query_one(f"#{problem.field_id}").focus()
            self.show_problem(problem.text)
            return
        data = TemplateData(
            name=name, subject=fields.subject, salutation=fields.salutation, body_html=fields.body_html,
            kind=str(self.query_one("#template-kind", Select).value),
            language=str(self.query_one("#template-language", Select).value),
            secure_message=fields.secure_message, eform_codes=fields.eform_codes,
            options=replace(fields.options, password=None), id=self.template_id,
            built_in=self.template.built_in if self.template is not None else False)
        self.query_one("#template-status", Static).update(_("Saving…"))
        self._save(accueil, data)

    def action_cancel(self) -> None:
        self.dismiss(False)


__all__ = ["TemplateFormScreen"]
