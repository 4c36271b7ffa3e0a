"""The audit viewer (SR-1, SI-5): who saw a patient's record, what a user did, in a date range.

Opened from the Site section (``u``) or the command palette. The top line is the result of
``audit.verify`` (intact, or the first broken entry). Four filter fields (chart ID, user, from,
to; dates as YYYY-MM-DD in the clinic's time zone), Enter in any of them searches; the newest
``PAGE`` entries are listed. Ctrl+S exports every matching entry as CSV into the data folder's
``exports`` (audited, formula-safe). Esc goes back. Database work runs in thread workers through
``core.audit_query``; a patient's trail being read is itself audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, WorkerState

from core.i18n import _
from tui.errors import error_text
from tui.formatting import fit
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.audit_query import AuditFilter, AuditRow
    from core.bootstrap import Accueil
    from tui.app import AccueilApp

SEARCH, EXPORT, VERIFY = "audit-search", "audit-export", "audit-verify"
FILTERS = (("chart", N_("Chart ID")), ("actor", N_("User")), ("since", N_("From YYYY-MM-DD")),
           ("until", N_("To YYYY-MM-DD")))
COLUMNS = ((N_("When"), 16), (N_("User"), 12), (N_("Action"), 20), (N_("Chart"), 8))


class FilterError(ValueError):
    """A date typed in a filter field is not a date; the message says which."""


@dataclass(frozen=True)
class Found:
    rows: tuple[AuditRow, ...]


def parse_filter(values: dict[str, str]) -> AuditFilter:
    from core.audit_query import AuditFilter

    dates: dict[str, date | None] = {}
    for key in ("since", "until"):
        text = values.get(key, "").strip()
        try:
            dates[key] = date.fromisoformat(text) if text else None
        except ValueError:
            raise FilterError(_("{text} is not a date (YYYY-MM-DD).").format(text=text)) from None
    return AuditFilter(chart_id=values.get("chart", "").strip() or None,
                       actor=values.get("actor", "").strip() or None, since=dates["since"], until=dates["until"])


class AuditViewerScreen(Screen[None]):
    SCREEN_HELP: ClassVar[str] = N_(
        "The audit trail: every view, send, export and purge of patient data, and every change to the "
        "clinic's account, in a chain that cannot be changed unnoticed. Type a chart ID to see who saw "
        "that record, a user name to see what they did, or dates; Enter searches.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "audit-chart": N_("A patient's chart ID: who saw or changed this record."),
        "audit-actor": N_("A user name: what this user did."),
        "audit-since": N_("The first day shown (YYYY-MM-DD, clinic time)."),
        "audit-until": N_("The last day shown (YYYY-MM-DD, clinic time)."),
        "audit-entries": N_("The newest entries first; the line below shows the highlighted entry's details."),
    }
    BINDINGS = [
        Binding("ctrl+s", "export", N_("Export CSV"), id="audit.export", priority=True,
                tooltip=N_("Write every entry matching the filters to a CSV file in the data folder.")),
        Binding("escape", "back", N_("Back"), id="audit.back",
                tooltip=N_("Close the audit trail and go back.")),
    ]
    DEFAULT_CSS = """
    #audit-verify, #audit-status, #audit-detail { height: 1; padding: 0 1; color: $text-muted; }
    #audit-verify.-broken { color: $error; text-style: bold; }
    #audit-filters { height: 3; }
    #audit-filters Input { width: 1fr; }
    #audit-entries { height: 1fr; background: $surface; }
    """

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self.rows: tuple[AuditRow, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static(_("Checking the audit trail…"), id="audit-verify", markup=False)
        with Horizontal(id="audit-filters"):
            for key, label in FILTERS:
                yield Input(placeholder=_(label), id=f"audit-{key}")
        table: DataTable[str] = DataTable(id="audit-entries", cursor_type="row")
        for label, width in COLUMNS:
            table.add_column(_(label), width=width)
        table.add_column(_("Details"))
        yield table
        yield Static("", id="audit-detail", markup=False)
        yield Static("", id="audit-status", markup=False)
        yield KeyFooter()

    @property
    def accueil(self) -> Accueil | None:
        return cast("AccueilApp", self.app).accueil

    def on_mount(self) -> None:
        self.query_one("#audit-chart", Input).focus()
        if self.accueil is not None:
            self._verify(self.accueil)
            self._search(self.accueil, parse_filter({}))

    def values(self) -> dict[str, str]:
        return {key: self.query_one(f"#audit-{key}", Input).value for key, _label in FILTERS}

    def _wanted(self) -> AuditFilter | None:
        """The filter typed in the fields, or None after saying what is wrong with it."""
        try:
            return parse_filter(self.values())
        except FilterError as exc:
            self.notify(str(exc), severity="error")
            return None

    @on(Input.Submitted)
    def _submitted(self) -> None:
        accueil = self.accueil
        wanted = self._wanted() if accueil is not None else None
        if accueil is not None and wanted is not None:
            self._search(accueil, wanted)

    # -- workers -------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group=VERIFY, exit_on_error=False, description="audit verify")
    def _verify(self, accueil: Accueil) -> str:
        from core import audit
        from core.audit_query import verify_text

        with accueil.uow() as uow:
            report = audit.verify(uow.session)
        return ("" if report.ok else "broken:") + verify_text(report)

    @work(thread=True, exclusive=True, group=SEARCH, exit_on_error=False, description="audit search")
    def _search(self, accueil: Accueil, wanted: AuditFilter) -> Found:
        from core.audit_query import search

        with accueil.uow(write=True) as uow:  # a page naming patients is audited
            rows = search(uow.session, wanted, zone=accueil.settings.timezone, actor=accueil.actor)
            uow.commit()
        return Found(tuple(rows))

    @work(thread=True, exclusive=True, group=EXPORT, exit_on_error=False, description="audit export")
    def _export(self, accueil: Accueil, wanted: AuditFilter) -> str:
        from core.audit_query import export_csv
        from core.db.models import utcnow

        path, count = export_csv(accueil, wanted, accueil.data_dir / "exports", now=utcnow())
        return _("{count} entries exported to {path}.").format(count=count, path=path)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.state == WorkerState.SUCCESS:
            result: Any = worker.result
            if worker.group == VERIFY:
                line = self.query_one("#audit-verify", Static)
                line.set_class(result.startswith("broken:"), "-broken")
                line.update(result.removeprefix("broken:"))
            elif worker.group == SEARCH:
                self.show(result.rows)
            elif worker.group == EXPORT:
                self.notify(result, timeout=10)
        elif worker.state == WorkerState.ERROR and worker.error is not None:
            self.notify(error_text(worker.error), severity="error")

    def show(self, rows: tuple[AuditRow, ...]) -> None:
        from core.audit_query import PAGE

        self.rows = rows
        table = cast("DataTable[str]", self.query_one("#audit-entries", DataTable))
        table.clear()
        local = cast("AccueilApp", self.app).clock.local
        for row in rows:
            cells = (local(row.at).strftime("%Y-%m-%d %H:%M"), row.actor, row.action, row.chart_id or "", row.detail)
            table.add_row(*(fit(c, w) for c, (_l, w) in zip(cells, COLUMNS, strict=False)), cells[-1],
                          key=str(row.id))
        status = (_("newest {count} entries").format(count=len(rows)) if len(rows) >= PAGE
                  else _("{count} entries").format(count=len(rows)))
        self.query_one("#audit-status", Static).update(status)
        self._show_detail()

    @on(DataTable.RowHighlighted, "#audit-entries")
    def _show_detail(self) -> None:
        table = cast("DataTable[str]", self.query_one("#audit-entries", DataTable))
        text = ""
        if self.rows and 0 <= table.cursor_row < len(self.rows):
            row = self.rows[table.cursor_row]
            text = f"#{row.id} {row.action} {row.detail}"
        self.query_one("#audit-detail", Static).update(text)

    def action_export(self) -> None:
        accueil = self.accueil
        wanted = self._wanted() if accueil is not None else None
        if accueil is not None and wanted is not None:
            self._export(accueil, wanted)

    def action_back(self) -> None:
        self.dismiss(None)


__all__ = ["AuditViewerScreen", "parse_filter"]
