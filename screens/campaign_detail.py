"""Campaign detail (CA-2): create or edit a campaign; dismisses with its id, or None if cancelled.

The type sets the mode by itself (invitation → email, app → app). An app campaign has its
first and last day (when the broadcast shows); an invitation shows its fixed 14-day expiry
instead. The message is the email's subject and body, or the app's title and body, with the
MS-3 formatting and the patient's variables; a new invitation comes pre-filled in the
interface's language, and Ctrl+T swaps in the other language's text. The type of a started
campaign cannot change (the field is locked, and the service refuses it too). Saving runs in a
thread worker; what is wrong is shown on the form and nothing is saved.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static, TextArea
from textual.worker import Worker, WorkerState

from core.errors import AccueilError
from core.i18n import _, get_language
from tui.errors import error_text
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.campaigns.campaigns import CampaignDetail, CampaignDraft
    from tui.app import AccueilApp

LOAD_GROUP = "campaign-detail-load"
SAVE_GROUP = "campaign-detail-save"


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


class CampaignDetailScreen(ModalScreen[int | None]):
    SCREEN_HELP: ClassVar[str] = N_(
        "The campaign's type, name, dates and message. Variables: @ptPreferredOrFirstName, @ptFirstName, "
        "@ptLastName, @clinicName; an invitation needs [weblink], its personal link. Formatting: <b>, <i>, "
        "<u>, <a href=\"…\">.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "campaign-kind": N_("Invitation: an email with a link to join the patient app. App: a message in the app."),
        "campaign-name": N_("The campaign's name for the clinic; patients never see it."),
        "campaign-starts": N_("First day the message shows in the app (YYYY-MM-DD)."),
        "campaign-ends": N_("Last day the message shows in the app (YYYY-MM-DD)."),
        "campaign-subject": N_("The email's subject, or the app message's title (also the push text)."),
        "campaign-body": N_("The message. Variables and formatting are listed in this help."),
    }
    BINDINGS = [
        Binding("ctrl+s", "save", N_("Save"), id="campaign-detail.save", priority=True,
                tooltip=N_("Save the campaign.")),
        Binding("ctrl+t", "other_language", N_("Other language"), id="campaign-detail.language",
                tooltip=N_("Fill the invitation with the default text in the other language.")),
        Binding("escape", "cancel", N_("Cancel"), id="campaign-detail.cancel",
                tooltip=N_("Close without saving.")),
    ]
    DEFAULT_CSS = """
    CampaignDetailScreen { align: center middle; }
    #campaign-form { width: 100%; height: 100%; padding: 0 1; background: $panel; }
    #campaign-form Horizontal { height: 1; margin-bottom: 1; }
    #campaign-form Label { width: 14; color: $text-muted; }
    #campaign-form Input { border: none; height: 1; padding: 0 1; width: 1fr; background: $surface; }
    #campaign-form Select { width: 1fr; }
    #campaign-form SelectCurrent { border: none; height: 1; padding: 0 1; background: $surface; }
    #campaign-kind-row { height: 1; }
    #campaign-dates Input { width: 14; }
    #campaign-dates Label { width: auto; margin: 0 1; }
    #campaign-body { height: 1fr; border: none; background: $surface; }
    #campaign-mode, #campaign-expiry, #campaign-error { height: 1; color: $text-muted; }
    #campaign-error { color: $error; }
    """

    def __init__(self, campaign_id: int | None) -> None:
        super().__init__()
        translate_bindings(self)
        self.campaign_id = campaign_id
        self.started = False
        self.template_language = get_language()

    def compose(self) -> ComposeResult:
        from core.campaigns.templates import default_invitation

        template = default_invitation(self.template_language)
        with Vertical(id="campaign-form"):
            with Horizontal(id="campaign-kind-row"):
                yield Label(_("Type"))
                yield Select([(_("Invitation to the patient app"), "invitation"), (_("Message in the app"), "app")],
                             value="invitation", allow_blank=False, id="campaign-kind", compact=True)
            yield Static("", id="campaign-mode", markup=False)
            with Horizontal():
                yield Label(_("Name"))
                yield Input(id="campaign-name", placeholder=_("for the clinic only"))
            with Horizontal(id="campaign-dates"):
                yield Label(_("Shown from"))
                yield Input(id="campaign-starts", placeholder="YYYY-MM-DD")
                yield Label(_("to"))
                yield Input(id="campaign-ends", placeholder="YYYY-MM-DD")
            yield Static(_("The invitation link expires 14 days after it is sent."), id="campaign-expiry",
                         markup=False)
            with Horizontal():
                yield Label("", id="campaign-subject-label")
                yield Input(template.subject, id="campaign-subject")
            yield TextArea(template.body, id="campaign-body", soft_wrap=True, show_line_numbers=False)
            yield Static("", id="campaign-error", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        for field in (*self.query(Input), *self.query(TextArea)):
            field.cursor_blink = False  # a blinking cursor is a frame a second down a slow line
        self._kind_changed("invitation")
        self.query_one("#campaign-name", Input).focus()
        accueil = self.accueil_app.accueil
        if self.campaign_id is not None and accueil is not None:
            self._load(accueil, self.campaign_id)

    @property
    def accueil_app(self) -> AccueilApp:
        return cast("AccueilApp", self.app)

    @property
    def kind(self) -> str:
        selects = self.query("#campaign-kind").results(Select)
        select = next(selects, None)
        return str(select.value) if select is not None else "invitation"

    @on(Select.Changed, "#campaign-kind")
    def _kind_select(self, event: Select.Changed) -> None:
        kind = str(event.value)
        if self.campaign_id is None:
            self._swap_default_text(kind)
        self._kind_changed(kind)

    def _swap_default_text(self, kind: str) -> None:
        """A new campaign turned into an app message drops the untouched invitation text (its link has no
        place there); turned back into an invitation with nothing typed, it gets that text again."""
        from core.campaigns.templates import DEFAULT_INVITATION

        subject = self.query_one("#campaign-subject", Input)
        body = self.query_one("#campaign-body", TextArea)
        untouched = any((subject.value, body.text) == (template.subject, template.body)
                        for template in DEFAULT_INVITATION.values())
        if kind == "app" and untouched:
            subject.value, body.text = "", ""
        elif kind == "invitation" and not subject.value.strip() and not body.text.strip():
            template = DEFAULT_INVITATION.get(self.template_language, DEFAULT_INVITATION["en"])
            subject.value, body.text = template.subject, template.body

    def _kind_changed(self, kind: str) -> None:
        invitation = kind == "invitation"
        self.query_one("#campaign-mode", Static).update(
            _("Mode: email (set by the type)") if invitation else _("Mode: app message and push (set by the type)"))
        self.query_one("#campaign-dates").display = not invitation
        self.query_one("#campaign-expiry").display = invitation
        self.query_one("#campaign-subject-label", Label).update(_("Subject") if invitation else _("Title"))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "other_language":
            return self.kind == "invitation"
        return True

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="campaign detail")
    def _load(self, accueil: Accueil, campaign_id: int) -> CampaignDetail:
        from core.campaigns.campaigns import get_campaign

        with accueil.uow() as uow:
            return get_campaign(uow, campaign_id, self.accueil_app.clock.today())

    def _fill(self, detail: CampaignDetail) -> None:
        draft = detail.draft
        self.started = detail.summary.status != "draft"
        kind = self.query_one("#campaign-kind", Select)
        kind.value = draft.kind
        kind.disabled = self.started
        self._kind_changed(draft.kind)
        self.query_one("#campaign-name", Input).value = draft.name
        self.query_one("#campaign-starts", Input).value = draft.starts_on.isoformat() if draft.starts_on else ""
        self.query_one("#campaign-ends", Input).value = draft.ends_on.isoformat() if draft.ends_on else ""
        invitation = draft.kind == "invitation"
        self.query_one("#campaign-subject", Input).value = draft.email_subject if invitation else draft.app_title
        self.query_one("#campaign-body", TextArea).text = draft.email_body if invitation else draft.app_body

    def draft(self) -> CampaignDraft | None:
        from core.campaigns.campaigns import CampaignDraft

        kind = self.kind
        name = self.query_one("#campaign-name", Input).value
        subject = self.query_one("#campaign-subject", Input).value
        body = self.query_one("#campaign-body", TextArea).text
        if kind == "invitation":
            return CampaignDraft(kind, name, email_subject=subject, email_body=body)
        starts_text = self.query_one("#campaign-starts", Input).value
        ends_text = self.query_one("#campaign-ends", Input).value
        starts, ends = _day(starts_text), _day(ends_text)
        if (starts_text.strip() and starts is None) or (ends_text.strip() and ends is None):
            self._error(_("A day is written YYYY-MM-DD, e.g. 2026-12-24."))
            return None
        return CampaignDraft(kind, name, starts, ends, app_title=subject, app_body=body)

    def _error(self, text: str) -> None:
        self.query_one("#campaign-error", Static).update(text)

    def action_save(self) -> None:
        accueil = self.accueil_app.accueil
        draft = self.draft()
        if accueil is not None and draft is not None:
            self._error("")
            self._save(accueil, draft)

    @work(thread=True, exclusive=True, group=SAVE_GROUP, exit_on_error=False, description="campaign save")
    def _save(self, accueil: Accueil, draft: CampaignDraft) -> int | AccueilError:
        from core.campaigns.campaigns import create_campaign, update_campaign

        with accueil.uow(write=True) as uow:
            try:
                if self.campaign_id is None:
                    return create_campaign(uow, draft)
                update_campaign(uow, self.campaign_id, draft)
            except AccueilError as error:  # shown on the form; nothing was saved
                return error
            return self.campaign_id

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR and worker.error is not None:
            self._error(error_text(worker.error))
        elif event.state == WorkerState.SUCCESS and worker.group == LOAD_GROUP:
            self._fill(cast("CampaignDetail", worker.result))
        elif event.state == WorkerState.SUCCESS and isinstance(worker.result, AccueilError):
            self._error(error_text(worker.result))
        elif event.state == WorkerState.SUCCESS and worker.group == SAVE_GROUP:
            self.notify(_("Campaign saved."))
            self.dismiss(cast(int, worker.result))

    def action_other_language(self) -> None:
        from core.campaigns.templates import default_invitation

        self.template_language = "en" if self.template_language == "fr" else "fr"
        template = default_invitation(self.template_language)
        self.query_one("#campaign-subject", Input).value = template.subject
        self.query_one("#campaign-body", TextArea).text = template.body

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["CampaignDetailScreen"]
