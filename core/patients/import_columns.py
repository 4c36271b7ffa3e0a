"""The columns an EMR export may have (French or English headers) and how each cell is read (PT-3).

``importer.py`` maps a file's header through ``FIELD_BY_HEADER`` and reads every cell with the
parser ``make_parser`` gives for its field; a cell that cannot be used raises ``Bad`` with the
reason shown in the clinic's problem report.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any, cast

from sqlalchemy import Table

from core.db.models import Patient
from core.patients.keys import fold, health_key, phone_key, split_health_number

ALIASES: dict[str, tuple[str, ...]] = {
    "chart_id": ("Chart ID", "Chart", "Chart Number", "Chart No", "MRN", "No de dossier", "N° de dossier",
                 "Numéro de dossier", "Dossier"),
    "last_name": ("Last Name", "Surname", "Family Name", "Nom", "Nom de famille"),
    "first_name": ("First Name", "Given Name", "Prénom"),
    "preferred_name": ("Preferred Name", "Nom usuel", "Prénom usuel"),
    "date_of_birth": ("Date of Birth", "DOB", "Birth Date", "Birthdate", "Date de naissance", "DDN"),
    "sex": ("Sex", "Gender", "Sexe"),
    "language": ("Language", "Langue"),
    "health_number": ("Health Number", "HCN", "Health Card", "Health Card Number", "OHIP", "No d'assurance maladie",
                      "Numéro d'assurance maladie", "NAM", "RAMQ"),
    "health_province": ("Province", "Health Province"),
    "health_version": ("Version", "Version Code", "Code de version"),
    "email": ("Email", "E-mail", "Email Address", "Courriel", "Adresse courriel"),
    "email_consent": ("Email Consent", "Consentement courriel"),
    "marketing_consent": ("Marketing Consent", "Consentement marketing", "CASL"),
    "phone": ("Phone", "Phone Number", "Telephone", "Téléphone", "Tél"),
    "postal_code": ("Postal Code", "Code postal"),
    "last_visit": ("Last Visit", "Dernière visite"),
}
FIELD_BY_HEADER = {fold(alias): name for name, aliases in ALIASES.items() for alias in aliases}
REQUIRED = ("chart_id", "last_name", "first_name")
# Read per import, not frozen into closures, so a test can switch a check off and reach the database's own.
_MAX_LENGTHS: dict[str, int] = {c.name: n for c in cast(Table, Patient.__table__).columns if (n := getattr(c.type, "length", None))}
_SEX = {"f": "F", "female": "F", "femme": "F", "feminin": "F", "m": "M", "male": "M", "homme": "M",
        "masculin": "M", "x": "X", "other": "X", "autre": "X"}
_LANGUAGE = {"fr": "fr", "francais": "fr", "french": "fr", "en": "en", "english": "en", "anglais": "en"}
_YES_NO = {"yes": True, "oui": True, "true": True, "vrai": True, "1": True, "y": True, "o": True,
           "no": False, "non": False, "false": False, "faux": False, "0": False, "n": False}
_PROVINCES = {fold(name): code for code, names in {
    "AB": "Alberta", "BC": "British Columbia|Colombie-Britannique", "MB": "Manitoba",
    "NB": "New Brunswick|Nouveau-Brunswick", "NL": "Newfoundland and Labrador|Terre-Neuve-et-Labrador",
    "NS": "Nova Scotia|Nouvelle-Écosse", "NT": "Northwest Territories|Territoires du Nord-Ouest", "NU": "Nunavut",
    "ON": "Ontario", "PE": "Prince Edward Island|Île-du-Prince-Édouard", "QC": "Quebec|Québec",
    "SK": "Saskatchewan", "YT": "Yukon"}.items() for name in (code, *names.split("|"))}
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"  # exports sometimes add midnight to a date
_DATE_FORMS = ((re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME), False),
               (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME), True),
               (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})" + _TIME), False))
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.][^@\s]*\.[^@\s]*[^@\s.]$")


class Bad(ValueError):
    """One cell's problem; the message becomes an ``ImportProblem``."""


def field_label(name: str) -> str:
    return {"chart_id": "chart ID"}.get(name, name.replace("_", " "))


def shown(raw: str) -> str:
    return raw if len(raw) <= 40 else raw[:37] + "..."


def make_parser(name: str, today: date) -> tuple[Callable[[str], Any], dict[str, Any] | None]:
    """One field's cell parser (the stored value, or ``Bad``) and, for repetitive fields, its cache."""
    label, limit = field_label(name), _MAX_LENGTHS.get(name)

    def text(raw: str) -> str | None:
        if not raw:
            if name in REQUIRED:
                raise Bad(f"{label} is empty")
            return None
        if limit is not None and len(raw) > limit:
            raise Bad(f"{label} is longer than {limit} characters")
        return raw

    def choice(table: dict[str, Any], allowed: str) -> Callable[[str], Any]:
        def parse(raw: str) -> Any:
            value = table.get(fold(raw)) if raw else None
            if raw and value is None:
                raise Bad(f"{label} '{shown(raw)}' is not one of {allowed}")
            return value
        return parse

    def a_date(raw: str) -> date | None:
        for pattern, day_first in _DATE_FORMS if raw else ():
            if match := pattern.match(raw):
                a, b, c = (int(part) for part in match.groups())
                try:
                    value = date(c, b, a) if day_first else date(a, b, c)
                except ValueError:
                    raise Bad(f"{label} '{shown(raw)}' is not a real date") from None
                if name == "date_of_birth" and value > today:
                    raise Bad(f"{label} '{shown(raw)}' is in the future")
                return value
        if raw:
            raise Bad(f"{label} '{shown(raw)}' is not a date written YYYY-MM-DD, DD/MM/YYYY or YYYY/MM/DD")
        return None

    def email(raw: str) -> str | None:
        if raw and not _EMAIL.match(raw):
            raise Bad(f"{label} '{shown(raw)}' is not an email address")
        return text(raw)

    def health(raw: str) -> tuple[str, str, str | None] | None:
        # Only a number ending in letters can carry a version code; skip the split for the others.
        number, version = (split_health_number(raw) if raw[-1].isalpha() else (raw, "")) if text(raw) else ("", "")
        return (number, version, health_key(number)) if number else None

    def phone(raw: str) -> tuple[str, str | None] | None:
        if (key := phone_key(raw)) and len(key) > _MAX_LENGTHS["phone_key"]:
            raise Bad(f"{label} '{shown(raw)}' has too many digits")
        return None if text(raw) is None else (raw, key)

    yes_no = "yes, no, oui, non, true, false, 1, 0"
    repetitive: dict[str, Callable[[str], Any]] = {  # exports repeat these: parse each distinct value once
        "date_of_birth": a_date, "last_visit": a_date, "phone": phone,
        "sex": choice(_SEX, "F, M, X, Female, Male, Femme, Homme"),
        "language": choice(_LANGUAGE, "fr, en, français, English, French, anglais"),
        "email_consent": choice(_YES_NO, yes_no), "marketing_consent": choice(_YES_NO, yes_no),
        "health_province": choice(_PROVINCES, "a Canadian province or territory"),
        "health_version": lambda raw: text(raw.upper()),
    }
    if name in repetitive:
        return repetitive[name], {}
    return {"email": email, "health_number": health, "postal_code": lambda raw: text(raw.upper())}.get(name, text), None
