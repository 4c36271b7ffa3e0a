"""PT-4's pieces below the screen: provinces, the health number's live check, and the new-patient form.

``number_check`` runs ``core.patients.health_numbers.parse_health_number`` on every keystroke
(and again with the form's name, birth date and sex, for Quebec's RAMQ cross-check) and says in
the user's language what is wrong or that the number is valid. Core words its refusals in
English; ``problem_text`` translates the known sentences (listed here with ``N_`` so the
catalogue check covers them) and the ones that carry a value through a pattern.

``NewPatientForm`` is the create form: names, birth date, sex, language, email, phone and the
two consents the data model keeps (email and marketing, dated when given). ``details`` returns
``core.patients.registry.NewPatient`` or the first problem, translated.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Input, Label, Select

from core.i18n import _
from core.patients.health_numbers import HealthNumber, HealthNumberError, parse_health_number
from tui.i18n import N_

if TYPE_CHECKING:
    from core.patients.registry import NewPatient

# Quebec and Ontario first (their numbers are fully checked), then the others west to east, north.
PROVINCES = (("QC", N_("Quebec")), ("ON", N_("Ontario")), ("BC", N_("British Columbia")), ("AB", N_("Alberta")),
             ("SK", N_("Saskatchewan")), ("MB", N_("Manitoba")), ("NB", N_("New Brunswick")),
             ("NS", N_("Nova Scotia")), ("PE", N_("Prince Edward Island")), ("NL", N_("Newfoundland and Labrador")),
             ("YT", N_("Yukon")), ("NT", N_("Northwest Territories")), ("NU", N_("Nunavut")))
SEX_CHOICES = (("F", N_("Female")), ("M", N_("Male")), ("X", N_("Another gender")))
LANGUAGE_CHOICES = (("fr", N_("French")), ("en", N_("English")))

PROBLEMS = (
    N_("The health number is empty."),
    N_("An Ontario health number is 10 digits, then an optional version code of 1 or 2 letters."),
    N_("This Ontario health number's check digit is wrong: check for a typing error."),
    N_("A Quebec health number (RAMQ) is 4 letters followed by 8 digits."),
    N_("The birth date inside this Quebec health number is not a real date."),
    N_("The letters of this Quebec health number do not match the patient's name."),
    N_("The birth date inside this Quebec health number does not match the patient's."),
    N_("This Quebec health number's month says a different sex than the patient's record."),
    N_("Last name and first name are both needed."),
    N_("The date of birth is in the future."),
    N_("A patient with this health number already exists: open it from the search instead."),
    N_("This is not an email address: it needs a name, an @ and a domain such as example.com."),
    N_("Consent to email needs an email address."),
)
PATTERNS = tuple((re.compile(pattern), template) for pattern, template in (
    (r"^Unknown province code '(?P<province>.*)'\.$", N_("Unknown province code '{province}'.")),
    (r"^A health number for (?P<province>\w+) is (?P<lengths>[\d or]+) digits\.$",
     N_("A health number for {province} is {lengths} digits.")),
    (r"^Chart ID (?P<chart>.*) is already used by another patient\.$",
     N_("Chart ID {chart} is already used by another patient.")),
))


def problem_text(message: str) -> str:
    """A refusal from core in the user's language (as given when it is not a known sentence)."""
    translated = _(message)
    if translated != message:
        return translated
    for pattern, template in PATTERNS:
        if match := pattern.match(message):
            groups = match.groupdict()
            if "lengths" in groups:
                groups["lengths"] = groups["lengths"].replace(" or ", " " + _("or") + " ")
            return _(template).format(**groups)
    return message


def province_name(code: str) -> str:
    return next((_(name) for key, name in PROVINCES if key == code), code)


def number_check(province: str, text: str, *, last_name: str | None = None, first_name: str | None = None,
                 birth: date | None = None, sex: str | None = None) -> tuple[HealthNumber | None, str]:
    """The parsed number (None when it does not fit) and what to say about it."""
    if not text.strip():
        return None, _("Type the health number (spaces and dashes do not matter), then Enter to look it up.")
    try:
        parsed = parse_health_number(province, text, last_name=last_name, first_name=first_name, birth=birth,
                                     sex=sex)
    except HealthNumberError as exc:
        return None, problem_text(str(exc))
    shown = f"{parsed.number} {parsed.version}".strip()
    return parsed, _("Valid health number ({province}): {number}").format(province=province_name(province),
                                                                           number=shown)


def parse_birth(text: str) -> date | None:
    """``1980-05-12`` or ``12/05/1980``, as the search reads a birth date; None if not a date."""
    from core.patients.search import parse_birth_date  # the search module loads the database layer

    return parse_birth_date(text.strip())


class NewPatientForm(Vertical):
    """The fields of a new patient, one labelled line each; Enter moves to the next field."""

    DEFAULT_CSS = """
    NewPatientForm { height: auto; }
    NewPatientForm Horizontal { height: 1; }
    NewPatientForm Label { width: 22; color: $text-muted; }
    NewPatientForm Input { width: 1fr; }
    NewPatientForm Select { width: 34; }
    NewPatientForm Checkbox { width: 1fr; height: 1; border: none; padding: 0; }
    """

    FIELDS = (("last", N_("Last name")), ("first", N_("First name")),
              ("birth", N_("Date of birth")), ("email", N_("Email")), ("phone", N_("Phone")))

    def __init__(self, *, language: str, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.default_language = language

    def compose(self) -> ComposeResult:
        for key, label in self.FIELDS[:3]:
            yield from self._row(label, self._input(key))
        yield from self._row(N_("Sex"), Select([(_(name), code) for code, name in SEX_CHOICES], id="new-sex",
                                               prompt=_("not given"), compact=True))
        yield from self._row(N_("Language"), Select([(_(name), code) for code, name in LANGUAGE_CHOICES],
                                                    id="new-language", value=self.default_language,
                                                    allow_blank=False, compact=True))
        for key, label in self.FIELDS[3:]:
            yield from self._row(label, self._input(key))
        yield from self._row(N_("Consents"), Checkbox(_("Email"), id="new-email-consent", compact=True),
                             Checkbox(_("Marketing"), id="new-marketing-consent", compact=True))

    def _input(self, key: str) -> Input:
        placeholder = _("YYYY-MM-DD or DD/MM/YYYY") if key == "birth" else ""
        field = Input(id=f"new-{key}", placeholder=placeholder, compact=True, select_on_focus=False)
        field.cursor_blink = False
        return field

    def _row(self, label: str, *widgets: Input | Select[str] | Checkbox) -> ComposeResult:
        with Horizontal():
            yield Label(_(label), markup=False)
            yield from widgets

    def text(self, key: str) -> str:
        return self.query_one(f"#new-{key}", Input).value.strip()

    def choice(self, key: str) -> str | None:
        value = self.query_one(f"#new-{key}", Select).value
        return value if isinstance(value, str) else None

    def person(self) -> dict[str, object]:
        """What the Quebec number is checked against, as far as it is filled in."""
        return {"last_name": self.text("last") or None, "first_name": self.text("first") or None,
                "birth": parse_birth(self.text("birth")), "sex": self.choice("sex")}

    def details(self, province: str, number: str, today: date) -> NewPatient | str:
        """The new patient to create, or the first problem in the user's language."""
        from core.patients.registry import NewPatient

        if not self.text("last") or not self.text("first"):
            return _("Last name and first name are both needed.")
        birth = parse_birth(self.text("birth"))
        if birth is None:
            return _("Type the date of birth as YYYY-MM-DD or DD/MM/YYYY.")
        if birth > today:
            return _("The date of birth is in the future.")
        parsed, said = number_check(province, number, **self.person())  # type: ignore[arg-type]
        if parsed is None:
            return said
        return NewPatient(
            province=province, health_number=number, last_name=self.text("last"), first_name=self.text("first"),
            date_of_birth=birth, sex=self.choice("sex"), language=self.choice("language") or self.default_language,
            email=self.text("email") or None, phone=self.text("phone") or None,
            email_consent=self.query_one("#new-email-consent", Checkbox).value,
            marketing_consent=self.query_one("#new-marketing-consent", Checkbox).value,
        )


__all__ = ["PROVINCES", "NewPatientForm", "number_check", "problem_text", "province_name"]
