"""Staff administration (SI-5): accounts, roles, the Campaigns permission, delegates, licences.

Opened from the Site section (``s``) or the command palette. One table, one row per account:
user name, name, role, permissions (C = Campaigns, O = operator), linked to an EMR provider,
licence (held, or the holder whose licence enables this support staff member) and delegate
emails. Keys act on the highlighted account: ``n`` new account, ``o`` role, ``k`` Campaigns on/off,
``v`` active on/off, ``m`` delegate emails, ``g`` grant a licence, ``l`` enable under a holder's
licence. Every change goes through ``core.staff_admin`` / ``core.users`` / ``core.licences`` in a
thread worker, and is audited there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

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
    from core.staff_admin import StaffRow
    from tui.app import AccueilApp

LOAD, CHANGE = "staff-load", "staff-change"
ROLE_NAMES = {"provider": N_("provider"), "nurse": N_("nurse"), "moa": N_("MOA/secretary"),
              "administrator": N_("administrator"), "resident": N_("resident"),
              "medical_student": N_("medical student"), "medical_assistant": N_("medical assistant"),
              "operator": N_("operator")}
COLUMNS = ((N_("User"), 12), (N_("Name"), 16), (N_("Role"), 13), (N_("Perm."), 5), (N_("Linked"), 6),
           (N_("Licence"), 12))


def licence_cell(row: StaffRow) -> str:
    if row.holds_licence:
        return _("holds one")
    return _("via {name}").format(name=row.enabled_by) if row.enabled_by else ""


def row_cells(row: StaffRow) -> tuple[str, ...]:
    perms = ("C" if row.can_campaigns else "") + ("O" if row.is_operator else "")
    name = row.display_name if row.active else _("{name} (inactive)").format(name=row.display_name)
    return (row.username, name, _(ROLE_NAMES.get(row.role, row.role)), perms, _("yes") if row.linked else "",
            licence_cell(row), ", ".join(row.delegates))


class StaffScreen(Screen[None]):
    SCREEN_HELP: ClassVar[str] = N_(
        "The clinic's staff accounts. Perm.: C may run campaigns, O is an operator. A provider needs a "
        "licence to message patients; each licence also enables up to three support staff. Delegates "
        "receive the account's notifications.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "staff-table": N_("One account per line; the keys act on the highlighted one."),
    }
    BINDINGS = [
        Binding("n", "new", N_("New"), id="staff.new", tooltip=N_("Create a staff account.")),
        Binding("o", "role", N_("Role"), id="staff.role", tooltip=N_("Change the highlighted account's role.")),
        Binding("k", "toggle('campaigns')", N_("Campaigns"), id="staff.campaigns",
                tooltip=N_("Allow or stop the highlighted account running campaigns.")),
        Binding("v", "toggle('active')", N_("Active"), id="staff.active",
                tooltip=N_("Activate or deactivate the highlighted account.")),
        Binding("m", "delegates", N_("Delegates"), id="staff.delegates",
                tooltip=N_("Set the delegate emails that receive this account's notifications.")),
        Binding("g", "grant", N_("Licence"), id="staff.grant", show=False,
                tooltip=N_("Grant a patient-engagement licence to the highlighted provider or nurse.")),
        Binding("l", "enable", N_("Enable"), id="staff.enable", show=False,
                tooltip=N_("Enable the highlighted support staff member under a provider's licence.")),
        Binding("escape", "back", N_("Back"), id="staff.back", tooltip=N_("Go back to the Site section.")),
    ]
    DEFAULT_CSS = """
    #staff-table { height: 1fr; background: $surface; }
    #staff-detail { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self.rows: list[StaffRow] = []

    def compose(self) -> ComposeResult:
        table: DataTable[str] = DataTable(id="staff-table", cursor_type="row")
        for label, width in COLUMNS:
            table.add_column(_(label), width=width)
        table.add_column(_("Delegates"))
        yield table
        yield Static("", id="staff-detail", markup=False)
        yield KeyFooter()

    @property
    def accueil(self) -> Accueil | None:
        return cast("AccueilApp", self.app).accueil

    @property
    def table(self) -> DataTable[str]:
        return cast("DataTable[str]", self.query_one("#staff-table", DataTable))

    def on_mount(self) -> None:
        self.table.focus()
        self.reload()

    def reload(self) -> None:
        if self.accueil is not None:
            self._load(self.accueil)

    @work(thread=True, exclusive=True, group=LOAD, exit_on_error=False, description="staff list")
    def _load(self, accueil: Accueil) -> list[StaffRow]:
        from core.staff_admin import list_staff

        with accueil.uow() as uow:
            return list_staff(uow.session)

    @work(thread=True, exclusive=True, group=CHANGE, exit_on_error=False, description="staff change")
    def _change(self, accueil: Accueil, action: str, username: str, value: Any) -> str:
        from core import licences, staff_admin, users

        with accueil.uow(write=True) as uow:
            staff_admin.require_administrator(uow.session, uow.actor)  # new accounts and licences too
            if action == "new":
                users.add_user(uow, username=value["username"], display_name=value["name"],
                               role=value["role"].strip().lower(), password=None, email=value["email"].strip() or None)
            elif action == "role":
                staff_admin.set_role(uow, username, value)
            elif action == "toggle":
                staff_admin.set_flag(uow, username, value[0], value[1])
            elif action == "delegates":
                staff_admin.set_delegates(uow, username, value.split(","))
            elif action == "grant":
                licences.grant_licence(uow, username)
            elif action == "enable":
                licences.enable_support_staff(uow, staff_admin.licence_of(uow.session, value), username)
        return _("Saved.")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.state == WorkerState.SUCCESS:
            if worker.group == LOAD:
                self.show(cast("list[StaffRow]", worker.result))
            else:
                self.notify(str(worker.result))
                self.reload()
        elif worker.state == WorkerState.ERROR and worker.error is not None:
            self.notify(error_text(worker.error), title=_("Not changed"), severity="error")

    def show(self, rows: list[StaffRow]) -> None:
        self.rows = rows
        table = self.table
        cursor = table.cursor_row
        table.clear()
        for row in rows:
            cells = row_cells(row)
            table.add_row(*(fit(c, w) for c, (_l, w) in zip(cells, COLUMNS, strict=False)), cells[-1],
                          key=str(row.id))
        if table.row_count:
            table.move_cursor(row=min(max(cursor, 0), table.row_count - 1), animate=False)
        self.query_one("#staff-detail", Static).update(_("{count} accounts").format(count=len(rows)))

    def highlighted(self) -> StaffRow | None:
        table = self.table
        if not self.rows or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return next((r for r in self.rows if str(r.id) == key), None)

    def _start(self, action: str, row: StaffRow | None, value: Any = None) -> None:
        if self.accueil is not None:
            self._change(self.accueil, action, row.username if row else "", value)

    def _ask(self, title: str, fields: list[tuple[str, str, str]], then: Any, note: str = "") -> None:
        from screens.site_form import SiteFormScreen

        def answered(values: dict[str, str] | None) -> None:
            if values is not None:
                then(values)

        self.app.push_screen(SiteFormScreen(title, fields, note), answered)

    def action_new(self) -> None:
        roles = ", ".join(ROLE_NAMES)
        self._ask(_("New staff account"), [("username", _("User name"), ""), ("name", _("Name"), ""),
                                           ("role", _("Role"), "moa"), ("email", _("Email"), "")],
                  lambda v: self._start("new", None, v), note=_("Roles: {roles}.").format(roles=roles))

    def action_role(self) -> None:
        if (row := self.highlighted()) is not None:
            self._ask(_("Role of {name}").format(name=row.display_name), [("role", _("Role"), row.role)],
                      lambda v: self._start("role", row, v["role"]),
                      note=_("Roles: {roles}.").format(roles=", ".join(ROLE_NAMES)))

    def action_toggle(self, flag: str) -> None:
        if (row := self.highlighted()) is not None:
            current = row.can_campaigns if flag == "campaigns" else row.active
            self._start("toggle", row, (flag, not current))

    def action_delegates(self) -> None:
        if (row := self.highlighted()) is not None:
            self._ask(_("Delegates of {name}").format(name=row.display_name),
                      [("emails", _("Delegate emails, separated by commas"), ", ".join(row.delegates))],
                      lambda v: self._start("delegates", row, v["emails"]))

    def action_grant(self) -> None:
        if (row := self.highlighted()) is not None:
            self._start("grant", row)

    def action_enable(self) -> None:
        if (row := self.highlighted()) is not None:
            self._ask(_("Enable {name} to send").format(name=row.display_name),
                      [("holder", _("User name of the licence holder"), "")],
                      lambda v: self._start("enable", row, v["holder"]))

    def action_back(self) -> None:
        self.dismiss(None)


__all__ = ["StaffScreen", "row_cells"]
