"""The Site section (F6, SI-1..SI-4): the clinic's sender name, contacts and custom From address.

One scrolling page: the details (friendly name, administrator and support contacts, the
default no-reply address from the settings), then the custom From address with its status
colour (green, yellow, red, could not check), its approval state and the address mail really
leaves from, every finding of the last check (each record found, what is wrong), the exact DNS
records to create (``c`` copies them), and the history of checks. A fallback (SI-4) is shown at
the top in the error colour. Keys: ``e`` edits the details, ``f`` sets the custom address (its
DNS is checked at once), ``r`` checks it again, ``a`` / ``d`` approve or decline (only for an
operator, when an address waits), ``x`` goes back to the no-reply address, ``u`` opens the
audit viewer (``screens.audit_viewer``), ``s`` the staff administration (``screens.admin_users``).
For an administrator, ``k`` shows the site encryption key (audited, administrators emailed) and
``n`` changes it (``screens.site_key``).

Every database and DNS call runs in a thread worker through ``core.sender``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from core.i18n import _
from tui.errors import error_text
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.sender.account import SiteAccount
    from core.sender.approval import CheckEntry
    from tui.app import AccueilApp

LOAD_GROUP, ACTION_GROUP = "site-load", "site-action"
STATUS_NAMES = {"green": N_("green"), "yellow": N_("yellow"), "red": N_("red"), "unknown": N_("could not check")}
STATUS_STYLES = {"green": "$success", "yellow": "$warning", "red": "$error", "unknown": "$text-muted"}
STATE_NAMES = {"none": N_("no custom address"), "invalid": N_("not valid: not used"),
               "pending": N_("waiting for an operator's approval"), "approved": N_("approved: in use"),
               "declined": N_("declined by an operator: not used"),
               "fallen_back": N_("failed its daily check: not used")}
MARKS = {"ok": ("✓", "$success"), "info": ("·", "$text-muted"), "warning": ("!", "$warning"),
         "error": ("✗", "$error"), "unknown": ("?", "$warning")}
HISTORY_SHOWN = 8
GUARDED = ("edit", "set_from", "recheck", "copy_records", "decide", "clear_from", "show_key", "rotate_key")


def line(markup: str, **values: object) -> Content:
    """One line of markup with the values substituted safely (DNS text can hold brackets)."""
    return Content.from_markup(markup, **{k: str(v) for k, v in values.items()})


def field(label: str, value: str) -> Content:
    """``  label: value`` with the label muted (French puts a space before the colon)."""
    return line("  [$text-muted]$label[/] $value", label=_("{label}:").format(label=label), value=value)


def status_badge(status: str) -> Content:
    return line(f"[{STATUS_STYLES[status]}]● $name[/]", name=_(STATUS_NAMES[status]))


def account_lines(account: SiteAccount, local: Any) -> list[Content]:
    """The page's text (a pure function of the account, for the screen and its tests)."""
    custom = account.custom
    lines: list[Content] = []
    if custom.state == "fallen_back":
        lines.append(line("[$error b]$text[/]", text=_(
            "The custom From address {address} failed its daily check: email is sent from {noreply} "
            "again. Fix the records below, then enter the address again (f).").format(
                address=custom.address, noreply=account.noreply)))
        lines.append(Content(""))
    lines += [line("[b]$t[/]", t=_("Site account — {name}").format(name=account.name))]
    for label, value in ((_("Email friendly name"), account.friendly_name),
                         (_("Administrator contact"), account.admin_email or _("(none)")),
                         (_("Support contact"), account.support_email or _("(none)")),
                         (_("Default no-reply address"), account.noreply)):
        lines.append(field(label, value))
    lines += [Content(""), line("[b]$t[/]", t=_("Custom From address"))]
    if custom.address is None:
        lines.append(line("  $t", t=_("None: email is sent from the default no-reply address. Press f to set one.")))
    else:
        last = custom.last
        badge = status_badge(last.status) if last is not None else Content("")
        lines.append(Content.assemble("  ", custom.address, "  ", badge))
        lines.append(field(_("State"), _(STATE_NAMES[custom.state])))
    lines.append(field(_("Email is sent from"), custom.in_use))
    last = custom.last
    if last is not None and custom.address is not None and last.address == custom.address:
        lines += check_lines(last, local)
    if custom.history:
        lines += [Content(""), line("[b]$t[/]", t=_("Checks"))]
        for entry in custom.history[:HISTORY_SHOWN]:
            lines.append(Content.assemble("  ", local(entry.checked_at).strftime("%Y-%m-%d %H:%M"), "  ",
                                          status_badge(entry.status), "  ", entry.address))
    return lines


def check_lines(entry: CheckEntry, local: Any) -> list[Content]:
    lines = [field(_("Last checked"), local(entry.checked_at).strftime("%Y-%m-%d %H:%M"))]
    for check in ("spf", "dkim", "dmarc"):
        for finding in (f for f in entry.findings if f.check == check):
            mark, style = MARKS.get(finding.severity, ("·", "$text-muted"))
            lines.append(line(f"  [{style}]$mark[/] [b]$check[/] $text", mark=mark, check=check.upper(),
                              text=finding.text()))
    if entry.to_create:
        lines += [Content(""), line("[b]$t[/]", t=_("Records to create (c copies them)"))]
        for record in entry.to_create:
            lines.append(line("  [$text-muted]$why[/]", why=record.reason_text()))
            lines.append(line("    [$accent]$name  $rtype  $value[/]", name=record.name, rtype=record.rtype,
                              value=record.value))
    return lines


def records_text(entry: CheckEntry) -> str:
    return "\n".join(f"{r.name}\t{r.rtype}\t{r.value}" for r in entry.to_create)


class SiteScreen(Screen[None]):
    SCREEN_HELP: ClassVar[str] = N_(
        "The clinic's account: the name patients see as the sender, the contacts, and an optional From "
        "address on the clinic's own domain. That address is used only when its DNS records (SPF or DKIM, "
        "and DMARC) are valid and an operator has approved it; it is checked again every day. "
        "u opens the audit trail, s the staff accounts and licences.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "site-page": N_("Up and Down scroll the page. The records to create are exactly what to type at "
                        "the clinic's DNS provider."),
    }
    BINDINGS = [
        Binding("e", "edit", N_("Edit"), id="site.edit",
                tooltip=N_("Change the email friendly name and the contact addresses.")),
        Binding("f", "set_from", N_("From"), id="site.from",
                tooltip=N_("Set or change the custom From address; its DNS records are checked at once.")),
        Binding("r", "recheck", N_("Check"), id="site.check", show=False,
                tooltip=N_("Check the custom From address's DNS records again.")),
        Binding("c", "copy_records", N_("Copy"), id="site.copy",
                tooltip=N_("Copy the DNS records to create to the clipboard.")),
        Binding("a", "decide(True)", N_("Approve"), id="site.approve",
                tooltip=N_("Approve the custom From address waiting for approval (operators).")),
        Binding("d", "decide(False)", N_("Decline"), id="site.decline",
                tooltip=N_("Decline the custom From address waiting for approval (operators).")),
        Binding("x", "clear_from", N_("No-reply"), id="site.clear", show=False,
                tooltip=N_("Stop using the custom From address: back to the default no-reply address.")),
        Binding("u", "audit", N_("Audit"), id="site.audit", show=False,
                tooltip=N_("Open the audit trail: who saw a record, what a user did, its integrity check.")),
        Binding("s", "staff", N_("Staff"), id="site.staff", show=False,
                tooltip=N_("Staff accounts: roles, permissions, delegate emails and licences.")),
        Binding("k", "show_key", N_("Show key"), id="site.key_show", show=False,
                tooltip=N_("Show the site encryption key (administrators; audited, and the administrators "
                           "are emailed).")),
        Binding("n", "rotate_key", N_("New key"), id="site.key_rotate", show=False,
                tooltip=N_("Change the site encryption key and encrypt everything again (administrators).")),
    ]
    DEFAULT_CSS = """
    #site-page { height: 1fr; background: $surface; padding: 0 1; }
    #site-busy { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self.account: SiteAccount | None = None
        self.key_admin = False  # the signed-in user is an administrator: the key actions

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="site-page", can_focus=True):
            yield Static("", id="site-text")
        yield Static("", id="site-busy", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#site-page").focus()
        app = self.accueil_app
        if app.accueil is not None:
            self.reload()
        else:
            self._busy(_("Opening the clinic…"))
            app.clinic_ready_signal.subscribe(self, lambda _accueil: self.reload())

    @property
    def accueil_app(self) -> AccueilApp:
        return cast("AccueilApp", self.app)

    def _busy(self, text: str) -> None:
        self.query_one("#site-busy", Static).update(text)

    # -- loading and actions in threads ----------------------------------------------------------
    def reload(self) -> None:
        if self.accueil_app.accueil is not None:
            self._load(self.accueil_app.accueil)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="site account")
    def _load(self, accueil: Accueil) -> SiteAccount:
        from core.sender.account import site_account
        from core.site_key_notices import is_administrator

        with accueil.uow() as uow:
            self.key_admin = is_administrator(uow.session, accueil.actor)
            return site_account(uow.session, accueil.settings.noreply_address, accueil.actor)

    @work(thread=True, exclusive=True, group=ACTION_GROUP, exit_on_error=False, description="site change")
    def _run(self, accueil: Accueil, action: str, value: Any) -> str:
        from core.sender import account, approval

        if action == "submit":
            entry = approval.submit(accueil, value)
            return _("Checked: {status}.").format(status=_(STATUS_NAMES[entry.status]))
        with accueil.uow(write=True) as uow:
            if action == "details":
                account.update_details(uow, **value)
                return _("Site account saved.")
            if action == "clear":
                approval.clear(uow)
                return _("Email is sent from the default no-reply address again.")
            state = account.decide_as_actor(uow, value[0], approve=value[1])
        return _("The custom From address is now: {state}.").format(state=_(STATE_NAMES[state]))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "site-key" and worker.state == WorkerState.SUCCESS:
            from screens.site_key import KeyShownScreen

            self.app.push_screen(KeyShownScreen(str(worker.result)))
        elif worker.state == WorkerState.SUCCESS:
            if worker.group == LOAD_GROUP:
                self.show(cast("SiteAccount", worker.result))
            elif worker.group == ACTION_GROUP:
                self._busy("")
                self.notify(str(worker.result))
                self.reload()
        elif worker.state == WorkerState.ERROR and worker.error is not None:
            self._busy("")
            if worker.group == LOAD_GROUP:
                self._busy(_("The site account cannot be read: {reason}").format(reason=error_text(worker.error)))
            else:
                self.notify(error_text(worker.error), title=_("Not changed"), severity="error")

    def show(self, account: SiteAccount) -> None:
        self.account = account
        self._busy("")
        lines = account_lines(account, self.accueil_app.clock.local)
        if self.key_admin:
            lines += [Content(""), line("[b]$t[/]", t=_("Site encryption key")),
                      line("  $t", t=_("k shows it (audited; the administrators are emailed), n changes it."))]
        text = Content("\n").join(lines)
        self.query_one("#site-text", Static).update(text)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in GUARDED:
            return True
        account = self.account
        if account is None:
            return False
        if action in ("show_key", "rotate_key"):
            return self.key_admin
        custom = account.custom
        if action == "decide":
            return custom.state == "pending" and account.operator is not None
        if action in ("recheck", "clear_from"):
            return custom.address is not None
        if action == "copy_records":
            return bool(custom.last and custom.last.to_create and custom.last.address == custom.address)
        return True

    def _start(self, action: str, value: Any, busy: str = "") -> None:
        accueil = self.accueil_app.accueil
        if accueil is not None:
            self._busy(busy)
            self._run(accueil, action, value)

    def action_edit(self) -> None:
        from screens.site_form import details_form

        account = self.account
        if account is None:
            return

        def saved(values: dict[str, str] | None) -> None:
            if values is not None:
                self._start("details", values)

        self.app.push_screen(details_form(account.friendly_name, account.admin_email, account.support_email), saved)

    def action_set_from(self) -> None:
        from screens.site_form import from_form

        account = self.account
        if account is None:
            return

        def entered(values: dict[str, str] | None) -> None:
            if values is None:
                return
            address = values["address"].strip()
            if not address:
                if account.custom.address is not None:
                    self._start("clear", None)
            else:
                self._start("submit", address, _("Checking the DNS records of {address}…").format(address=address))

        self.app.push_screen(from_form(account.custom.address), entered)

    def action_recheck(self) -> None:
        if self.account is not None and self.account.custom.address:
            address = self.account.custom.address
            self._start("submit", address, _("Checking the DNS records of {address}…").format(address=address))

    def action_decide(self, approve: bool) -> None:
        if self.account is not None and self.account.custom.address:
            self._start("decide", (self.account.custom.address, approve))

    def action_clear_from(self) -> None:
        from screens.confirm import ConfirmScreen

        def decided(yes: bool | None) -> None:
            if yes:
                self._start("clear", None)

        self.app.push_screen(ConfirmScreen(_("Stop using the custom From address and send from the default "
                                             "no-reply address?")), decided)

    def action_audit(self) -> None:
        from screens.audit_viewer import AuditViewerScreen

        self.app.push_screen(AuditViewerScreen())

    def action_staff(self) -> None:
        from screens.admin_users import StaffScreen

        self.app.push_screen(StaffScreen())

    def action_rotate_key(self) -> None:
        from screens.site_key import RotateKeyScreen

        if self.key_admin:
            self.app.push_screen(RotateKeyScreen())

    def action_show_key(self) -> None:
        from screens.confirm import ConfirmScreen
        from screens.site_key import confirm_question

        def decided(yes: bool | None) -> None:
            accueil = self.accueil_app.accueil
            if yes and accueil is not None:
                self._reveal(accueil)

        if self.key_admin:
            self.app.push_screen(ConfirmScreen(confirm_question()), decided)

    @work(thread=True, exclusive=True, group="site-key", exit_on_error=False, description="site key")
    def _reveal(self, accueil: Accueil) -> str:
        from core.site_key_notices import reveal

        return reveal(accueil)

    def action_copy_records(self) -> None:
        last = self.account.custom.last if self.account is not None else None
        if last is not None and last.to_create:
            self.app.copy_to_clipboard(records_text(last))
            self.notify(_("{count} records copied.").format(count=len(last.to_create)))


__all__ = ["SiteScreen", "account_lines", "records_text"]
