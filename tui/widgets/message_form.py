"""``MessageForm``: the fields a message and a template share (MS-1, MS-3), keyboard only.

Subject, salutation, email body (HTML limited to b, u, i, a href), secure message, eForms and
every option of MS-1: allow reply, allow attachments (independent of reply), reply window,
notify when viewed / completed / after N days without response, identity checks, and, when
composing, the password given to the patient in advance (a template never keeps one).
Used by ``screens.compose`` and ``screens.template_form``; Tab walks the fields in order.

``read`` checks what the core would refuse anyway (empty subject, a reply window in the past,
days out of range, no identity check) so the user hears it in words before any database call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, SelectionList, TextArea
from textual.widgets.selection_list import Selection

from core.i18n import _
from core.messaging.compose import IDENTITY_CHECKS, MessageOptions
from tui.i18n import N_

CHECK_NAMES = {"date_of_birth": N_("Date of birth"), "health_number": N_("Health number"),
               "chart_id": N_("Chart ID"), "password": N_("Password given in advance")}
OPTION_BOXES = (("allow-reply", N_("Allow reply")),
                ("allow-attachment", N_("Allow attachments with the reply (even without reply)")),
                ("notify-viewed", N_("Notify me when viewed")),
                ("notify-completed", N_("Notify me when the eForms are completed")))


class FormProblem(Exception):
    """A field is not right: ``text`` is translated; ``field_id`` is focused."""

    def __init__(self, text: str, field_id: str) -> None:
        super().__init__(text)
        self.text = text
        self.field_id = field_id


@dataclass(frozen=True)
class MessageFields:
    subject: str
    salutation: str
    body_html: str
    secure_message: str | None
    eform_codes: tuple[str, ...]
    options: MessageOptions


class MessageForm(Vertical):
    """The shared fields; ``set_forms`` fills the eForm choices once they are loaded."""

    DEFAULT_CSS = """
    MessageForm { height: auto; }
    MessageForm Label { margin-top: 1; color: $text-muted; }
    MessageForm TextArea { height: 6; }
    MessageForm #secure { height: 4; }
    MessageForm SelectionList { height: auto; max-height: 6; }
    MessageForm Checkbox { border: none; padding: 0; }
    /* Compact fields have no border: a panel background shows where each one is. */
    MessageForm Input, MessageForm TextArea, MessageForm SelectionList { background: $panel; }
    """

    def __init__(self, *, asks_password: bool, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.asks_password = asks_password

    def compose(self) -> ComposeResult:
        yield Label(_("Subject"))
        yield Input(compact=True, id="subject", placeholder=_("What the patient sees in the inbox"))
        yield Label(_("Salutation"))
        yield Input(compact=True, id="salutation", placeholder="Dear @ptPreferredOrFirstName,")
        yield Label(_("Email body (HTML: <b> <u> <i> <a href>)"), markup=False)
        yield TextArea(compact=True, id="body", soft_wrap=True)
        yield Label(_("Secure message (behind the link; optional)"))
        yield TextArea(compact=True, id="secure", soft_wrap=True)
        yield Label(_("eForms to fill in (space to choose)"))
        yield SelectionList[str](id="eforms", compact=True)
        for box_id, label in OPTION_BOXES[:2]:
            yield Checkbox(_(label), id=box_id, compact=True)
        yield Label(_("Reply window: last day (YYYY-MM-DD) or a number of days; empty: no limit"))
        yield Input(compact=True, id="reply-until")
        for box_id, label in OPTION_BOXES[2:]:
            yield Checkbox(_(label), id=box_id, compact=True)
        yield Label(_("Notify me if no response after this many days (1 to 90; empty: never)"))
        yield Input(compact=True, id="no-response", type="integer")
        yield Label(_("Identity checks the patient must pass (space to choose)"))
        yield SelectionList[str](*(Selection(_(CHECK_NAMES[c]), c, c == "date_of_birth") for c in IDENTITY_CHECKS),
                                 id="checks", compact=True)
        if self.asks_password:
            yield Label(_("Password given to the patient in advance (for the password check)"))
            yield Input(compact=True, id="password", password=True)

    # -- filling -------------------------------------------------------------------------------
    def set_forms(self, forms: Sequence[tuple[str, str]], chosen: Sequence[str] = ()) -> None:
        """``forms``: (code, title in the user's language)."""
        selection = self.query_one("#eforms", SelectionList)
        keep = set(chosen) | set(selection.selected)
        selection.clear_options()
        selection.add_options([Selection(title, code, code in keep) for code, title in forms])

    def fill(self, fields: MessageFields) -> None:
        self.query_one("#subject", Input).value = fields.subject
        self.query_one("#salutation", Input).value = fields.salutation
        self.query_one("#body", TextArea).text = fields.body_html
        self.query_one("#secure", TextArea).text = fields.secure_message or ""
        forms = self.query_one("#eforms", SelectionList)
        forms.deselect_all()
        for code in fields.eform_codes:
            forms.select(code)
        options = fields.options
        for box_id, value in (("allow-reply", options.allow_reply), ("allow-attachment", options.allow_attachment),
                              ("notify-viewed", options.notify_viewed),
                              ("notify-completed", options.notify_completed)):
            self.query_one(f"#{box_id}", Checkbox).value = value
        until = options.reply_until.isoformat() if options.reply_until else ""
        self.query_one("#reply-until", Input).value = str(options.reply_days) if options.reply_days is not None else until
        days = options.notify_no_response_days
        self.query_one("#no-response", Input).value = str(days) if days else ""
        checks = self.query_one("#checks", SelectionList)
        checks.deselect_all()
        for check in options.identity_checks:
            if check in IDENTITY_CHECKS:
                checks.select(check)

    # -- reading -------------------------------------------------------------------------------
    def read(self, today: date) -> MessageFields:
        subject = self.query_one("#subject", Input).value.strip()
        if not subject:
            raise FormProblem(_("The subject is empty."), "subject")
        secure = self.query_one("#secure", TextArea).text.strip()
        checks = tuple(c for c in IDENTITY_CHECKS if c in self.query_one("#checks", SelectionList).selected)
        if not checks:
            raise FormProblem(_("Choose at least one identity check."), "checks")
        password = None
        if self.asks_password and "password" in checks:
            password = self.query_one("#password", Input).value
            if not password:
                raise FormProblem(_("Type the password the patient was given, or untick the password check."),
                                  "password")
        options = MessageOptions(
            allow_reply=self.query_one("#allow-reply", Checkbox).value,
            allow_attachment=self.query_one("#allow-attachment", Checkbox).value,
            reply_until=self._reply_until(today), reply_days=self._reply_days(),
            notify_viewed=self.query_one("#notify-viewed", Checkbox).value,
            notify_completed=self.query_one("#notify-completed", Checkbox).value,
            notify_no_response_days=self._no_response_days(),
            identity_checks=checks, password=password)
        return MessageFields(subject, self.query_one("#salutation", Input).value.strip(),
                             self.query_one("#body", TextArea).text.strip(), secure or None,
                             tuple(str(code) for code in self.query_one("#eforms", SelectionList).selected), options)

    def _reply_days(self) -> int | None:
        text = self.query_one("#reply-until", Input).value.strip()
        return int(text) if text.isdigit() else None

    def _reply_until(self, today: date) -> date | None:
        """A typed date; a number of days is kept as such (:meth:`_reply_days`) and checked here only."""
        text = self.query_one("#reply-until", Input).value.strip()
        if not text:
            return None
        try:
            until = today + timedelta(days=int(text)) if text.isdigit() else date.fromisoformat(text)
        except (ValueError, OverflowError):
            raise FormProblem(_("The reply window is a date such as 2025-04-30 or a number of days."),
                              "reply-until") from None
        if until < today:
            raise FormProblem(_("The reply window must end today or later."), "reply-until")
        return None if text.isdigit() else until

    def _no_response_days(self) -> int | None:
        text = self.query_one("#no-response", Input).value.strip()
        if not text:
            return None
        days = int(text) if text.lstrip("-").isdigit() else 0
        if not 1 <= days <= 90:
            raise FormProblem(_("'Notify me if no response' takes 1 to 90 days."), "no-response")
        return days


def steady_cursors(root: Widget) -> None:
    """No blinking cursor in ``root``'s text fields: each blink is a redraw sent down a slow line (TU-5)."""
    for field in root.query("Input, TextArea"):
        field.cursor_blink = False  # type: ignore[attr-defined]


def form_titles(forms: Sequence[tuple[str, str, str]], language: str) -> list[tuple[str, str]]:
    """(code, title) in ``language`` from (code, English title, French title)."""
    return [(code, french if language == "fr" else english) for code, english, french in forms]


__all__ = ["FormProblem", "MessageFields", "MessageForm", "form_titles", "steady_cursors"]
