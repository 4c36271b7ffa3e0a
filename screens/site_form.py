"""``SiteFormScreen``: a small modal form of labelled text fields; dismisses with the values or None.

Used by the Site screen for its details (friendly name, contacts) and the custom From address.
Enter in the last field or Ctrl+S saves; Esc cancels. Tab and Shift+Tab move between fields.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from core.i18n import _
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

Field = tuple[str, str, str]  # (key, translated label, current value)


class SiteFormScreen(ModalScreen[dict[str, str] | None]):
    SCREEN_HELP: ClassVar[str] = N_("Change the fields, then Enter in the last one or Ctrl+S to save; Esc cancels.")
    BINDINGS = [
        Binding("ctrl+s", "save", N_("Save"), id="site-form.save", priority=True,
                tooltip=N_("Save these values.")),
        Binding("escape", "cancel", N_("Cancel"), id="site-form.cancel",
                tooltip=N_("Close without saving.")),
    ]
    DEFAULT_CSS = """
    SiteFormScreen { align: center middle; }
    #site-form { width: 72; height: auto; padding: 0 2; background: $panel; border: round $accent; }
    #site-form Label { margin-top: 1; }
    #site-form-note { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, title: str, fields: list[Field], note: str = "") -> None:
        super().__init__()
        translate_bindings(self)
        self.form_title = title
        self.fields = fields
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="site-form") as box:
            box.border_title = self.form_title
            for key, label, value in self.fields:
                yield Label(label, markup=False)
                yield Input(value, id=f"field-{key}", select_on_focus=False)
            if self.note:
                yield Static(self.note, id="site-form-note", markup=False)
        yield KeyFooter()

    def values(self) -> dict[str, str]:
        return {key: self.query_one(f"#field-{key}", Input).value for key, _label, _value in self.fields}

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self.action_save()
        else:
            inputs[inputs.index(event.input) + 1].focus()

    def action_save(self) -> None:
        self.dismiss(self.values())

    def action_cancel(self) -> None:
        self.dismiss(None)


def details_form(name: str, admin: str | None, support: str | None) -> SiteFormScreen:
    return SiteFormScreen(_("Site account"), [
        ("friendly_name", _("Email friendly name (shown as the sender's name)"), name),
        ("admin_email", _("Clinical administrator contact email"), admin or ""),
        ("support_email", _("Support contact email"), support or ""),
    ])


def from_form(address: str | None) -> SiteFormScreen:
    return SiteFormScreen(_("Custom From address"), [("address", _("From address (on your own domain)"),
                                                      address or "")],
                          note=_("Its DNS records are checked at once; a valid address is then sent to an "
                                 "operator for approval. Leave it empty to use the default no-reply address."))


__all__ = ["SiteFormScreen", "details_form", "from_form"]
