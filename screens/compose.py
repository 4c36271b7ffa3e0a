"""The Compose screen (MS-1): one message to one patient or to a selection, keyboard only.

Built with a list of patient ids (the patient view passes one; a selection in the Patients table
passes many). Tab walks the fields of ``MessageForm``; Ctrl+T starts from a template
(``screens.template_picker``); staff attachments are added by typing a path (completed by
``PathSuggester``, → accepts) and Enter: each file is read and checked against MS-8 at once
(``core.messaging.attachments``), Delete removes the highlighted one. Ctrl+S asks the core for a
preview (``preview_draft``: every recipient rendered, so an unknown placeholder or a missing
value is refused here, and the licence is checked) and shows it (``screens.compose_preview``);
Send then calls ``send_draft`` in a thread worker, by batches of ``BATCH`` patients with a
progress bar (Esc stops after the current batch: each batch is one transaction, so nothing is
half-written). Afterwards a notification, and the screen dismisses back to where it came from.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, OptionList, ProgressBar, Static, TextArea
from textual.worker import Worker, WorkerState

from core.errors import AccueilError
from core.i18n import _, get_language
from tui.core_text import Refused, core_sentence, core_text
from tui.formatting import display_name
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter
from tui.widgets.message_form import FormProblem, MessageFields, MessageForm, form_titles, steady_cursors
from tui.widgets.path_suggester import PathSuggester

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.messaging.compose import Draft, Preview, SendResult
    from core.messaging.desk import FormChoice, RecipientName, Sender
    from core.messaging.templates import TemplateData
    from tui.app import AccueilApp

BATCH = 50
LOAD_GROUP, FILE_GROUP, PREVIEW_GROUP, SEND_GROUP = "compose-load", "compose-file", "compose-preview", "compose-send"


@dataclass(frozen=True)
class ComposeContext:
    """What the screen reads once: recipients, sender, eForms, templates."""

    recipients: int
    first_names: list[RecipientName]
    sender: Sender
    forms: list[FormChoice]
    templates: list[TemplateData]


@dataclass(frozen=True)
class SendProgress:
    sent: int
    skipped: int
    stopped: bool


class ComposeScreen(Screen[bool]):
    SCREEN_HELP: ClassVar[str] = N_(
        "Write a message to the patients named at the top. Tab moves between fields, space ticks, Ctrl+T starts "
        "from a template, Ctrl+S shows the exact email and who will be skipped, then sends. Type a file's path "
        "and press Enter to attach it; Delete removes the highlighted file.")
    BINDINGS = [
        Binding("ctrl+s", "preview", N_("Preview & send"), id="compose.preview", priority=True,
                tooltip=N_("Show the email for the first patient and who will be skipped, then send.")),
        Binding("ctrl+t", "template", N_("Template"), id="compose.template", priority=True,
                tooltip=N_("Start from a saved template.")),
        Binding("delete", "remove_attachment", N_("Remove file"), id="compose.remove", show=False,
                tooltip=N_("Remove the highlighted attachment.")),
        Binding("escape", "back", N_("Back"), id="compose.back",
                tooltip=N_("Leave without sending (while sending: stop after the current batch).")),
    ]
    DEFAULT_CSS = """
    #compose-to { height: 1; padding: 0 1; text-style: bold; color: $text-accent; }
    #compose-status { height: 1; padding: 0 1; color: $text-warning; }
    #compose-progress { display: none; padding: 0 1; }
    #compose-progress.sending { display: block; }
    #compose-form { height: 1fr; padding: 0 1; background: $surface; }
    #compose-form > Label { margin-top: 1; color: $text-muted; }
    #attachments { height: auto; max-height: 5; }
    #attach-path { background: $panel; }
    """

    def __init__(self, patient_ids: list[int]) -> None:
        super().__init__()
        translate_bindings(self)
        self.patient_ids = list(dict.fromkeys(patient_ids))
        self.context: ComposeContext | None = None
        self.template_id: int | None = None
        self.attachments: list[tuple[str, bytes]] = []
        self.draft: Draft | None = None
        self.stop_requested = threading.Event()

    def compose(self) -> ComposeResult:
        yield Static(_("To: reading…"), id="compose-to", markup=False)
        with VerticalScroll(id="compose-form"):
            yield Label(_("Template: none (Ctrl+T to choose one)"), id="compose-template")
            yield MessageForm(asks_password=True, id="message-form")
            yield Label(_("Staff attachments: type a file's path (→ completes), Enter attaches it"))
            yield Input(compact=True, id="attach-path", suggester=PathSuggester(), placeholder="~/Documents/…")
            yield OptionList(compact=True, id="attachments")
        yield ProgressBar(id="compose-progress", show_eta=False)
        yield Static("", id="compose-status", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#subject", Input).focus()
        steady_cursors(self)
        accueil = self.accueil
        if accueil is not None:
            self._load(accueil)
        else:
            cast("AccueilApp", self.app).clinic_ready_signal.subscribe(self, lambda ready: self._load(ready))

    @property
    def accueil(self) -> Accueil | None:
        return cast("AccueilApp", self.app).accueil

    @property
    def form(self) -> MessageForm:
        return self.query_one("#message-form", MessageForm)

    @property
    def sending(self) -> bool:
        return any(w.group == SEND_GROUP and w.is_running for w in self.workers)

    # -- workers ------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="prepare a message")
    def _load(self, accueil: Accueil) -> ComposeContext:
        from core.messaging.desk import active_forms, recipient_names, sender_for
        from core.messaging.templates import list_templates

        with accueil.uow() as uow:
            count, names = recipient_names(uow.session, self.patient_ids)
            return ComposeContext(count, names, sender_for(uow.session, accueil.actor), active_forms(uow.session),
                                  [t for t in list_templates(uow.session) if t.kind == "secure_message"])

    @work(thread=True, exclusive=False, group=FILE_GROUP, exit_on_error=False, description="attach a file")
    def _attach_file(self, path: Path) -> tuple[str, bytes] | Refused:
        from core.messaging.attachments import MAX_FILE_BYTES, check_file, check_files

        try:
            if path.stat().st_size > MAX_FILE_BYTES:  # refused on its size, without reading it all
                check_file(path.name, b"\0" * (MAX_FILE_BYTES + 1))
            data = path.read_bytes()
        except OSError:
            return Refused(AccueilError(_("This file cannot be read: check the path.")))
        except AccueilError as error:
            return Refused(error)
        try:
            checked = check_file(path.name, data)
            check_files([*self.attachments, (checked.display_name, data)])  # the 50 MB total
        except AccueilError as error:
            return Refused(error)
        return checked.display_name, data

    @work(thread=True, exclusive=True, group=PREVIEW_GROUP, exit_on_error=False, description="preview a message")
    def _preview(self, accueil: Accueil, draft: Draft) -> Preview | Refused:
        from core.messaging.compose import preview_draft

        try:
            with accueil.uow() as uow:
                return preview_draft(uow, draft, settings=accueil.settings)
        except AccueilError as error:
            return Refused(error)

    @work(thread=True, exclusive=True, group=SEND_GROUP, exit_on_error=False, description="send a message")
    def _send(self, accueil: Accueil, draft: Draft) -> SendProgress:
        from core.messaging.compose import send_draft

        sent = skipped = 0
        ids = list(draft.patient_ids)
        for start in range(0, len(ids), BATCH):
            if self.stop_requested.is_set():
                return SendProgress(sent, skipped, stopped=True)
            with accueil.uow(write=True) as uow:
                result: SendResult = send_draft(uow, replace(draft, patient_ids=tuple(ids[start:start + BATCH])),
                                                settings=accueil.settings, cipher=accueil.cipher)
            sent, skipped = sent + len(result.message_ids), skipped + len(result.skipped)
            self.app.call_from_thread(self._progress, min(start + BATCH, len(ids)), len(ids))
        return SendProgress(sent, skipped, stopped=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.state == WorkerState.ERROR and worker.error is not None:
            self._failed(worker.group, worker.error)
        elif worker.state == WorkerState.SUCCESS and isinstance(worker.result, Refused):
            self._failed(worker.group, worker.result.error)
        elif worker.state == WorkerState.SUCCESS:
            if worker.group == LOAD_GROUP:
                self._loaded(cast("ComposeContext", worker.result))
            elif worker.group == FILE_GROUP:
                self._attached(cast("tuple[str, bytes]", worker.result))
            elif worker.group == PREVIEW_GROUP:
                self._previewed(cast("Preview", worker.result))
            elif worker.group == SEND_GROUP:
                self._sent(cast("SendProgress", worker.result))

    def _failed(self, group: str | None, error: BaseException) -> None:
        text = core_text(error)
        title = _(error.title) if isinstance(error, AccueilError) else _("Not sent")
        if group == SEND_GROUP:
            self.query_one("#compose-progress").remove_class("sending")
            text = _("Sending stopped: {reason}").format(reason=text)
        self.status(text)
        self.notify(text, title=title, severity="error")

    # -- results ------------------------------------------------------------------------------
    def _loaded(self, context: ComposeContext) -> None:
        self.context = context
        self.form.set_forms(form_titles([(f.code, f.title_en, f.title_fr) for f in context.forms], get_language()))
        names = [f"{display_name(r.last_name, r.first_name, r.preferred_name)} ({r.chart_id})"
                 for r in context.first_names]
        if context.recipients == 1 and names:
            to = _("To: {name}").format(name=names[0])
        else:
            more = context.recipients - len(names)
            to = _("To: {count} patients: {names}").format(count=context.recipients, names="; ".join(names))
            if more > 0:
                to += " " + _("and {count} more").format(count=more)
        sender = context.sender.name
        self.query_one("#compose-to", Static).update(to + " · " + _("from {sender}").format(sender=sender))

    def _attached(self, attachment: tuple[str, bytes]) -> None:
        self.attachments.append(attachment)
        self._show_attachments()
        self.query_one("#attach-path", Input).value = ""
        self.status(_("Attached: {name}").format(name=attachment[0]))

    def _show_attachments(self) -> None:
        listing = self.query_one("#attachments", OptionList)
        listing.clear_options()
        listing.add_options([f"{name}  ({size_text(len(data))})" for name, data in self.attachments])

    def _previewed(self, preview: Preview) -> None:
        from screens.compose_preview import PreviewScreen

        self.status("")
        draft = self.draft

        def decided(send: bool | None) -> None:
            accueil = self.accueil
            if send and draft is not None and accueil is not None:
                progress = self.query_one("#compose-progress", ProgressBar)
                progress.update(total=len(draft.patient_ids), progress=0)
                progress.add_class("sending")
                self.stop_requested.clear()
                self.status(_("Sending… Esc stops after the current batch."))
                self._send(accueil, draft)

        self.app.push_screen(PreviewScreen(preview), decided)

    def _progress(self, done: int, total: int) -> None:
        self.query_one("#compose-progress", ProgressBar).update(total=total, progress=done)

    def _sent(self, result: SendProgress) -> None:
        self.query_one("#compose-progress").remove_class("sending")
        text = _("Message queued for {count} patients; the outbox sends it.").format(count=result.sent)
        if result.skipped:
            text += " " + _("{count} skipped.").format(count=result.skipped)
        if result.stopped:
            text = _("Stopped: {count} messages queued before stopping; the others were not sent.").format(
                count=result.sent)
        self.notify(text, title=_("Message sent") if not result.stopped else _("Sending stopped"))
        self.dismiss(True)

    def status(self, text: str) -> None:
        self.query_one("#compose-status", Static).update(text)

    # -- actions ------------------------------------------------------------------------------
    @on(Input.Submitted, "#attach-path")
    def _path_entered(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            self._attach_file(Path(text).expanduser())

    def action_remove_attachment(self) -> None:
        listing = self.query_one("#attachments", OptionList)
        if self.focused is listing and listing.highlighted is not None and self.attachments:
            removed = self.attachments.pop(listing.highlighted)
            self._show_attachments()
            self.status(_("Removed: {name}").format(name=removed[0]))

    def action_template(self) -> None:
        if self.context is None or not self.context.templates:
            return
        from screens.template_picker import TemplatePicker

        templates = self.context.templates

        def chosen(index: int | None) -> None:
            if index is not None:
                template = templates[index]
                self.template_id = template.id
                self.form.fill(MessageFields(template.subject, template.salutation, template.body_html,
                                             template.secure_message, template.eform_codes, template.options))
                self.query_one("#compose-template", Label).update(
                    _("Template: {name} (Ctrl+T to choose another)").format(name=template.name))

        self.app.push_screen(TemplatePicker([t.name for t in templates]), chosen)

    def action_preview(self) -> None:
        from core.messaging.compose import Draft

        accueil = self.accueil
        if accueil is None or self.context is None or self.sending:
            return
        try:
            fields = self.form.read(cast("AccueilApp", self.app).clock.today())
        except FormProblem as problem:
            self.query_one(f"#{problem.field_id}").focus()
            self.status(problem.text)
            return
        sender = self.context.sender
        self.draft = Draft(
            patient_ids=tuple(self.patient_ids), subject=fields.subject, salutation=fields.salutation,
            body_html=fields.body_html, secure_message=fields.secure_message, eform_codes=fields.eform_codes,
            attachments=tuple(self.attachments), options=fields.options, template_id=self.template_id,
            sender_user_id=sender.user_id, sender_emr_name=None if sender.user_id is not None else sender.name)
        self.status(_("Preparing the preview…"))
        self._preview(accueil, self.draft)

    def action_back(self) -> None:
        if self.sending:
            self.stop_requested.set()  # not Worker.cancel: the batch under way must finish and be told
            self.status(_("Stopping after the current batch…"))
            return
        if not self._has_content():
            self.dismiss(False)
            return
        from screens.confirm import ConfirmScreen

        def decided(leave: bool | None) -> None:
            if leave:
                self.dismiss(False)

        self.app.push_screen(ConfirmScreen(_("Leave without sending? What you typed will be lost.")), decided)

    def _has_content(self) -> bool:
        typed = [self.query_one(f"#{field_id}", Input).value for field_id in ("subject", "salutation")]
        typed += [self.query_one(f"#{field_id}", TextArea).text for field_id in ("body", "secure")]
        return any(text.strip() for text in typed) or bool(self.attachments)


def size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return _("{size} MB").format(size=f"{size / (1024 * 1024):.1f}")
    return _("{size} kB").format(size=max(1, round(size / 1024)))


__all__ = ["ComposeScreen", "core_sentence", "size_text"]
