"""One outbox email as the patient's mail client shows it: From, To, Subject, Date, the text.

Pushed by the Outbox screen with an outbox item id. A thread worker decrypts the item's payload
only to compute its mailbox key (``core.outbox.transports.mailbox_key``, a hash of the
Message-ID header), then reads the ``.eml`` file the local-mailbox transport wrote under that
key in ``data_dir/mailbox``: what is shown is what was delivered, not what was queued. An item
not yet delivered, or sent over SMTP, has no file, and the screen says so. Esc goes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

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
    from tui.app import AccueilApp

EMAIL_GROUP = "outbox-email"
LABEL_STYLE = "$text-muted"


@dataclass(frozen=True)
class DeliveredEmail:
    """The headers a mail client shows, and the plain-text part."""

    sender: str
    to: str
    subject: str
    date: str
    text: str


def read_email(path: Path) -> DeliveredEmail:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""  # type: ignore[attr-defined]
    return DeliveredEmail(sender=str(message.get("From", "")), to=str(message.get("To", "")),
                          subject=str(message.get("Subject", "")), date=str(message.get("Date", "")),
                          text=str(text).strip())


def render_email(email: DeliveredEmail) -> Content:
    labels = [(_("From"), email.sender), (_("To"), email.to), (_("Subject"), email.subject), (_("Date"), email.date)]
    width = max(Content(label).cell_length for label, _value in labels) + 2
    lines = [Content.assemble((label.ljust(width), LABEL_STYLE), value) for label, value in labels]
    return Content("\n").join([*lines, Content(""), Content(email.text)])


class EmailViewScreen(Screen[None]):
    SCREEN_HELP: ClassVar[str] = N_(
        "The email exactly as the local mailbox received it: what the patient's mail client shows.")
    BINDINGS = [
        Binding("escape", "back", N_("Back"), id="email.back", priority=True,
                tooltip=N_("Back to the outbox.")),
    ]
    DEFAULT_CSS = """
    #email { height: 1fr; padding: 0 1; background: $surface; scrollbar-size-vertical: 1; }
    """

    def __init__(self, item_id: int) -> None:
        super().__init__()
        translate_bindings(self)
        self.item_id = item_id
        self.email: DeliveredEmail | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="email"):
            yield Static(_("Opening the email…"), id="email-body", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#email", VerticalScroll).focus()
        accueil = cast("AccueilApp", self.app).accueil
        if accueil is not None:
            self._open(accueil, self.item_id)

    @work(thread=True, exclusive=True, group=EMAIL_GROUP, exit_on_error=False, description="open an outbox email")
    def _open(self, accueil: Accueil, item_id: int) -> DeliveredEmail | None:
        from core.outbox.staff import mailbox_path

        path = mailbox_path(accueil, item_id)
        return read_email(path) if path is not None else None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != EMAIL_GROUP:
            return
        body = self.query_one("#email-body", Static)
        if worker.state == WorkerState.SUCCESS:
            self.email = cast("DeliveredEmail | None", worker.result)
            if self.email is None:
                body.update(_("This email is not in the local mailbox: it has not been delivered yet, "
                              "or it was sent by SMTP."))
            else:
                body.update(render_email(self.email))
        elif worker.state == WorkerState.ERROR and worker.error is not None:
            body.update(_("The email cannot be opened: {reason}").format(reason=error_text(worker.error)))

    def action_back(self) -> None:
        self.dismiss()


__all__ = ["DeliveredEmail", "EmailViewScreen", "read_email", "render_email"]
