"""The Campaigns section (CA-1, F4): every campaign with its type, mode, status and counts.

The section exists only for staff with the Campaigns permission (CA-3): the app hides F4 and
the palette's campaign commands for the others, and this screen, reached some other way,
shows the reason instead of the list (``core.campaigns.campaigns`` refuses too, whatever the
face). ``n`` creates a campaign (``screens.campaign_detail``), Enter opens its recipients
(``screens.campaign_recipients``), ``e`` edits it, ``r`` reads the list again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from core.i18n import _
from tui.errors import error_text
from tui.formatting import fit
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.campaigns.campaigns import CampaignSummary
    from tui.app import AccueilApp

LOAD_GROUP = "campaigns-load"
KIND_NAMES = {"invitation": N_("Invitation"), "app": N_("App")}
MODE_NAMES = {"email": N_("Email"), "app": N_("App")}
STATUS_NAMES = {"draft": N_("Draft"), "started": N_("Started"), "ended": N_("Ended")}
# (key, header, width); the name takes what is left of the terminal's width.
# Cells have no padding (80 columns are dear): each width includes one space of margin.
COLUMNS = (("kind", N_("Type"), 11), ("mode", N_("Mode"), 9), ("status", N_("Status"), 10),
           ("assigned", N_("Assig."), 7), ("sent", N_("Sent"), 8), ("skipped", N_("Skip."), 6),
           ("failed", N_("Fail."), 6), ("removed", N_("Rem."), 5))
MIN_NAME_WIDTH = 16


def campaigns_allowed(accueil: Accueil) -> bool:
    """Whether the person running the app may see the Campaigns section (called in a thread)."""
    from core.campaigns.campaigns import can_use_campaigns

    with accueil.uow() as uow:
        return can_use_campaigns(uow.session, uow.actor)


def load_campaigns(accueil: Accueil, today: object) -> list[CampaignSummary]:
    from core.campaigns.campaigns import list_campaigns

    with accueil.uow() as uow:
        return list_campaigns(uow, today)  # type: ignore[arg-type]


class CampaignsScreen(Screen[None]):
    SCREEN_HELP: ClassVar[str] = N_(
        "Campaigns: email invitations to the patient app, and messages shown in the app with a push "
        "notification. The status says whether a campaign was started, not whether patients see it.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "campaign-list": N_("Every campaign, newest first. Enter opens its list of patients."),
    }
    BINDINGS = [
        Binding("enter", "open_campaign", N_("Open"), id="campaigns.open", priority=True,
                tooltip=N_("Open the highlighted campaign's patients: add, remove, start.")),
        Binding("n", "new_campaign", N_("New"), id="campaigns.new",
                tooltip=N_("Create a campaign: an invitation by email or a message in the app.")),
        Binding("e", "edit_campaign", N_("Edit"), id="campaigns.edit",
                tooltip=N_("Change the highlighted campaign's name, dates or message.")),
        Binding("r", "refresh", N_("Refresh"), id="campaigns.refresh", tooltip=N_("Read the list again.")),
    ]
    DEFAULT_CSS = """
    #campaign-status { height: 1; padding: 0 1; color: $text-muted; }
    #campaign-list { height: 1fr; background: $surface; overflow-y: hidden; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self.campaigns: list[CampaignSummary] = []

    def compose(self) -> ComposeResult:
        yield Static(_("Opening the clinic…"), id="campaign-status", markup=False)
        yield DataTable(id="campaign-list", cursor_type="row", cell_padding=0)
        yield KeyFooter()

    def on_mount(self) -> None:
        self._columns()
        self.table.focus()
        app = self.accueil_app
        if app.accueil is not None:
            self.reload()
        else:
            app.clinic_ready_signal.subscribe(self, lambda _accueil: self.reload())

    def on_screen_resume(self) -> None:
        if self.accueil_app.accueil is not None:
            self.reload()

    @property
    def accueil_app(self) -> AccueilApp:
        return cast("AccueilApp", self.app)

    @property
    def table(self) -> DataTable[str]:
        return cast("DataTable[str]", self.query_one("#campaign-list", DataTable))

    def _columns(self) -> None:
        table = self.table
        fixed = sum(width for _key, _label, width in COLUMNS) + 2
        table.add_column(_("Name"), width=max(MIN_NAME_WIDTH, self.size.width - fixed), key="name")
        for key, label, width in COLUMNS:
            table.add_column(_(label), width=width, key=key)

    def reload(self) -> None:
        accueil = self.accueil_app.accueil
        if accueil is not None:
            self._load(accueil, self.accueil_app.clock.today())

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="campaigns")
    def _load(self, accueil: Accueil, today: object) -> list[CampaignSummary]:
        return load_campaigns(accueil, today)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != LOAD_GROUP:
            return
        status = self.query_one("#campaign-status", Static)
        if event.state == WorkerState.SUCCESS:
            self._show(cast("list[CampaignSummary]", event.worker.result))
        elif event.state == WorkerState.ERROR and event.worker.error is not None:
            status.update(error_text(event.worker.error))

    def _show(self, campaigns: list[CampaignSummary]) -> None:
        self.campaigns = campaigns
        table = self.table
        cursor = table.cursor_row
        table.clear()
        name_width = table.columns[next(iter(table.columns))].width
        for campaign in campaigns:
            counts = campaign.counts
            table.add_row(fit(campaign.name, name_width - 1), _(KIND_NAMES[campaign.kind]), _(MODE_NAMES[campaign.mode]),
                          _(STATUS_NAMES[campaign.status]), str(counts.assigned), str(counts.sent),
                          str(counts.skipped), str(counts.failed), str(counts.removed), key=str(campaign.id))
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)
        text = _("{count} campaigns").format(count=len(campaigns)) if campaigns else \
            _("No campaign yet: press n to create one.")
        self.query_one("#campaign-status", Static).update(text)

    def highlighted(self) -> CampaignSummary | None:
        table = self.table
        if not self.campaigns or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return next((campaign for campaign in self.campaigns if str(campaign.id) == key), None)

    def action_refresh(self) -> None:
        self.reload()

    def action_new_campaign(self) -> None:
        from screens.campaign_detail import CampaignDetailScreen

        if self.accueil_app.accueil is not None:
            self.app.push_screen(CampaignDetailScreen(None), lambda _saved: self.reload())

    def action_edit_campaign(self) -> None:
        from screens.campaign_detail import CampaignDetailScreen

        campaign = self.highlighted()
        if campaign is not None:
            self.app.push_screen(CampaignDetailScreen(campaign.id), lambda _saved: self.reload())

    def action_open_campaign(self) -> None:
        from screens.campaign_recipients import CampaignRecipientsScreen

        campaign = self.highlighted()
        if campaign is not None:
            self.app.push_screen(CampaignRecipientsScreen(campaign.id))


__all__ = ["CampaignsScreen", "campaigns_allowed", "load_campaigns"]
