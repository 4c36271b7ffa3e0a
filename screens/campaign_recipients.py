"""A campaign's patients (CA-5, CA-6, CA-7): the list, adding, removing, Start, editing.

The top lines say what the campaign is and its counts; the table lists its patients in the order
they were added: name, status (sent; skipped and why; failed; removed) and the date added (not
the send date). Pages of ``PAGE_SIZE`` are read by keyset (Page Down / Page Up), so a campaign of
5,000 opens as fast as one of 50. ``/`` searches (a last-name prefix or a chart ID), ``a`` adds
patients (``screens.campaign_add``), ``x`` removes the highlighted one after confirmation, ``s``
starts after confirmation (sends only to those not yet sent), ``e`` edits, ``r`` reads again.
Every read and write runs in a thread worker; the list read is audited as a view (SR-1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, WorkerState

from core.errors import AccueilError
from core.i18n import _
from screens.campaigns import KIND_NAMES, STATUS_NAMES
from tui.errors import error_text
from tui.formatting import fit
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.campaigns.campaigns import CampaignDetail
    from core.campaigns.recipients import RecipientPage, RecipientRow
    from tui.app import AccueilApp

PAGE_SIZE = 50
LOAD_GROUP = "recipients-load"
ACTION_GROUP = "recipients-action"
RECIPIENT_STATUS = {"assigned": N_("Not sent yet"), "skipped": N_("Skipped"), "failed": N_("Failed"),
                    "removed": N_("Removed")}
SENT_BY_KIND = {"invitation": N_("Email sent"), "app": N_("Push sent")}
SKIP_REASONS = {"no_email": N_("no email"), "no_email_consent": N_("no email consent"),
                "no_marketing_consent": N_("no marketing consent"), "push_off": N_("push off")}
STATUS_WIDTH, ADDED_WIDTH = 32, 11


@dataclass(frozen=True)
class Loaded:
    detail: CampaignDetail
    page: RecipientPage
    search: str
    after: int | None


def status_text(row: RecipientRow, kind: str) -> str:
    if row.status == "sent":
        return _(SENT_BY_KIND[kind])
    text = _(RECIPIENT_STATUS.get(row.status, row.status))
    if row.status == "skipped" and row.reason:
        return _("{status}: {reason}").format(status=text, reason=_(SKIP_REASONS.get(row.reason, row.reason)))
    return text


class CampaignRecipientsScreen(Screen[None]):
    SCREEN_HELP: ClassVar[str] = N_(
        "The campaign's patients. Start sends to every patient not yet sent; starting again later sends "
        "only to those added since. Removing a patient before Start means they receive nothing; removing "
        "them from an app campaign takes its message away at once.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "recipient-search": N_("Type a last name's first letters or a chart ID, then Enter."),
        "recipient-list": N_("The patients in the order they were added; the date is the day added."),
    }
    BINDINGS = [
        Binding("a", "add", N_("Add"), id="recipients.add", tooltip=N_("Add patients: one, by conditions or a CSV.")),
        Binding("s", "start", N_("Start"), id="recipients.start",
                tooltip=N_("Send to every patient not yet sent, after confirmation.")),
        Binding("x", "remove", N_("Remove"), id="recipients.remove",
                tooltip=N_("Take the highlighted patient out of the campaign, after confirmation.")),
        Binding("e", "edit", N_("Edit"), id="recipients.edit", tooltip=N_("Change the campaign's details.")),
        Binding("slash", "search", N_("Search"), id="recipients.search", key_display="/",
                tooltip=N_("Find a patient in this campaign.")),
        Binding("r", "refresh", N_("Refresh"), id="recipients.refresh", tooltip=N_("Read the list again.")),
        Binding("pagedown", "next_page", N_("Next page"), id="recipients.next-page", show=False,
                tooltip=N_("The next patients.")),
        Binding("pageup", "previous_page", N_("Previous page"), id="recipients.previous-page", show=False,
                tooltip=N_("The patients before.")),
        Binding("escape", "back", N_("Back"), id="recipients.back", tooltip=N_("Back to the campaigns.")),
    ]
    DEFAULT_CSS = """
    #recipient-title, #recipient-counts, #recipient-page { height: 1; padding: 0 1; }
    #recipient-counts, #recipient-page { color: $text-muted; }
    #recipient-search { border: none; height: 1; padding: 0 1; background: $panel; }
    #recipient-list { height: 1fr; background: $surface; overflow-y: hidden; }
    """

    def __init__(self, campaign_id: int) -> None:
        super().__init__()
        translate_bindings(self)
        self.campaign_id = campaign_id
        self.loaded: Loaded | None = None
        self.pages: list[int | None] = [None]  # the ``after`` of each page shown so far

    def compose(self) -> ComposeResult:
        yield Static("", id="recipient-title", markup=False)
        yield Static("", id="recipient-counts", markup=False)
        yield Input(id="recipient-search", placeholder=_("/ search: last name or chart ID"))
        table: DataTable[str] = DataTable(id="recipient-list", cursor_type="row")
        yield table
        yield Static("", id="recipient-page", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#recipient-search", Input).cursor_blink = False  # no frame a second on a slow line
        table = self.table
        name_width = max(16, self.size.width - STATUS_WIDTH - ADDED_WIDTH - 8)
        table.add_column(_("Patient"), width=name_width, key="name")
        table.add_column(_("Status"), width=STATUS_WIDTH, key="status")
        table.add_column(_("Added"), width=ADDED_WIDTH - 1, key="added")
        table.focus()
        self.reload()

    @property
    def accueil_app(self) -> AccueilApp:
        return cast("AccueilApp", self.app)

    @property
    def table(self) -> DataTable[str]:
        return cast("DataTable[str]", self.query_one("#recipient-list", DataTable))

    @property
    def search_text(self) -> str:
        return self.query_one("#recipient-search", Input).value

    # -- loading ---------------------------------------------------------------------------
    def reload(self, after: int | None = None) -> None:
        accueil = self.accueil_app.accueil
        if accueil is not None:
            self._load(accueil, self.search_text, after)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="campaign patients")
    def _load(self, accueil: Accueil, search: str, after: int | None) -> Loaded:
        from core.campaigns.campaigns import get_campaign
        from core.campaigns.recipients import list_recipients

        with accueil.uow(write=True) as uow:
            detail = get_campaign(uow, self.campaign_id, self.accueil_app.clock.today())
            page = list_recipients(uow, self.campaign_id, search=search, after=after, limit=PAGE_SIZE)
        return Loaded(detail, page, search, after)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR and worker.error is not None:
            self.notify(error_text(worker.error), title=_("Campaign"), severity="error", timeout=8)
        elif event.state == WorkerState.SUCCESS and worker.group == LOAD_GROUP:
            self._show(cast(Loaded, worker.result))
        elif event.state == WorkerState.SUCCESS and isinstance(worker.result, AccueilError):
            self.notify(error_text(worker.result), title=_(worker.result.title), severity="error", timeout=8)
            self.reload(self.pages[-1])
        elif event.state == WorkerState.SUCCESS and worker.group == ACTION_GROUP:
            self.notify(cast(str, worker.result))
            self.pages = [None]
            self.reload()

    def _show(self, loaded: Loaded) -> None:
        self.loaded = loaded
        summary = loaded.detail.summary
        if summary.kind == "invitation":
            when = _("link valid {days} days").format(days=loaded.detail.invitation_days)
        else:
            when = _("shown {first} to {last}").format(first=summary.starts_on, last=summary.ends_on)
        self.query_one("#recipient-title", Static).update(
            f"{summary.name} · {_(KIND_NAMES[summary.kind])} · {_(STATUS_NAMES[summary.status])} · {when}")
        counts = summary.counts
        self.query_one("#recipient-counts", Static).update(
            _("Assigned {assigned} · sent {sent} · skipped {skipped} · failed {failed} · removed {removed} · "
              "waiting {waiting}").format(assigned=counts.assigned, sent=counts.sent, skipped=counts.skipped,
                                          failed=counts.failed, removed=counts.removed, waiting=counts.waiting))
        table = self.table
        cursor = table.cursor_row
        table.clear()
        widths = [column.width for column in table.columns.values()]
        clock = self.accueil_app.clock
        for row in loaded.page.rows:
            table.add_row(fit(row.name, widths[0]), fit(status_text(row, summary.kind), widths[1]),
                          clock.local(row.added_at).date().isoformat(), key=str(row.id))
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)
        page = len(self.pages)
        more = _(" · Page Down: more") if loaded.page.next_after is not None else ""
        self.query_one("#recipient-page", Static).update(
            _("Page {page}: {count} patients").format(page=page, count=len(loaded.page.rows)) + more)

    def highlighted(self) -> RecipientRow | None:
        table = self.table
        if self.loaded is None or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return next((row for row in self.loaded.page.rows if str(row.id) == key), None)

    # -- actions ---------------------------------------------------------------------------
    def action_search(self) -> None:
        self.query_one("#recipient-search", Input).focus()

    @on(Input.Submitted, "#recipient-search")
    def _searched(self) -> None:
        self.pages = [None]
        self.reload()
        self.table.focus()

    def action_refresh(self) -> None:
        self.reload(self.pages[-1])

    def action_next_page(self) -> None:
        if self.loaded is not None and self.loaded.page.next_after is not None:
            self.pages.append(self.loaded.page.next_after)
            self.reload(self.pages[-1])

    def action_previous_page(self) -> None:
        if len(self.pages) > 1:
            self.pages.pop()
            self.reload(self.pages[-1])

    def action_back(self) -> None:
        if self.focused is self.query_one("#recipient-search", Input):
            self.table.focus()
            return
        self.dismiss()

    def action_edit(self) -> None:
        from screens.campaign_detail import CampaignDetailScreen

        self.app.push_screen(CampaignDetailScreen(self.campaign_id), lambda _saved: self.reload(self.pages[-1]))

    def action_add(self) -> None:
        from screens.campaign_add import AddPatientsScreen

        def added(message: str | None) -> None:
            if message:
                self.notify(message)
            self.pages = [None]
            self.reload()

        self.app.push_screen(AddPatientsScreen(self.campaign_id), added)

    def action_remove(self) -> None:
        row = self.highlighted()
        accueil = self.accueil_app.accueil
        if row is None or accueil is None:
            return
        from screens.confirm import ConfirmScreen

        def decided(yes: bool | None) -> None:
            if yes:
                self._remove(accueil, row.id)

        self.app.push_screen(ConfirmScreen(_("Remove {name} from this campaign?").format(name=row.name)), decided)

    @work(thread=True, exclusive=True, group=ACTION_GROUP, exit_on_error=False, description="remove patient")
    def _remove(self, accueil: Accueil, recipient_id: int) -> str | AccueilError:
        from core.campaigns.recipients import remove_recipient

        with accueil.uow(write=True) as uow:
            try:
                remove_recipient(uow, self.campaign_id, recipient_id)
            except AccueilError as error:  # e.g. removed already (by someone else meanwhile)
                return error
        return _("Removed from the campaign.")

    def action_start(self) -> None:
        accueil = self.accueil_app.accueil
        if accueil is None or self.loaded is None:
            return
        waiting = self.loaded.detail.summary.counts.waiting
        if waiting == 0:
            self.notify(_("Every patient of this campaign was already sent to: add patients first."),
                        severity="warning")
            return
        from screens.confirm import ConfirmScreen

        def decided(yes: bool | None) -> None:
            if yes:
                self.query_one("#recipient-page", Static).update(_("Starting…"))
                self._start(accueil)

        self.app.push_screen(ConfirmScreen(_("Send this campaign to the {count} patients not yet sent?").format(
            count=waiting)), decided)

    @work(thread=True, exclusive=True, group=ACTION_GROUP, exit_on_error=False, description="start campaign")
    def _start(self, accueil: Accueil) -> str | AccueilError:
        from core.campaigns.start import start_campaign

        with accueil.uow(write=True) as uow:
            try:
                result = start_campaign(uow, self.campaign_id, settings=accueil.settings, cipher=accueil.cipher,
                                        now=self.accueil_app.clock.now())
            except AccueilError as error:
                return error
        return _("Started: {sent} sent, {skipped} skipped.").format(sent=result.sent, skipped=result.skipped)


__all__ = ["CampaignRecipientsScreen", "status_text"]
