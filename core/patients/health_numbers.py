"""Provincial health numbers (PT-4): the format each province uses and its check.

Ontario: 10 digits whose last digit is a Luhn (mod 10) check digit, then an optional one- or
two-letter version code. Quebec (RAMQ): 3 letters of the last name, 1 of the first name, the
birth date as YY MM DD (month + 50 for women), and 2 digits. For other provinces the number is
kept as typed, checked only for being digits of a plausible length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .keys import fold

_ONTARIO = re.compile(r"^(\d{10})([A-Z]{0,2})$")
_QUEBEC = re.compile(r"^([A-Z]{4})(\d{2})(\d{2})(\d{2})(\d{2})$")
_OTHER_LENGTHS = {"BC": (10,), "AB": (9,), "SK": (9,), "MB": (9,), "NB": (9,), "NS": (10,), "PE": (8,),
                  "NL": (12,), "YT": (9,), "NT": (8,), "NU": (9,)}


@dataclass(frozen=True, slots=True)
class HealthNumber:
    province: str
    number: str     # as it is stored and shown: grouped the way the province prints it
    version: str    # Ontario's version code, else ''
    key: str        # what search compares (no spaces, no version code)


class HealthNumberError(ValueError):
    """The number does not fit the province's format; ``str()`` says why in plain words."""


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            value -= 9 if value > 9 else 0
        total += value
    return total % 10 == 0


def parse_health_number(province: str, text: str, *, last_name: str | None = None,
                        first_name: str | None = None, birth: date | None = None, sex: str | None = None) -> HealthNumber:
    province = province.strip().upper()
    compact = re.sub(r"[^0-9A-Za-z]", "", text).upper()
    if not compact:
        raise HealthNumberError("The health number is empty.")
    if province == "ON":
        match = _ONTARIO.match(compact)
        if not match:
            raise HealthNumberError("An Ontario health number is 10 digits, then an optional version code of 1 or 2 letters.")
        digits, version = match.groups()
        if not luhn_ok(digits):
            raise HealthNumberError("This Ontario health number's check digit is wrong: check for a typing error.")
        return HealthNumber("ON", f"{digits[:4]} {digits[4:7]} {digits[7:]}", version, digits)
    if province == "QC":
        match = _QUEBEC.match(compact)
        if not match:
            raise HealthNumberError("A Quebec health number (RAMQ) is 4 letters followed by 8 digits.")
        letters, yy, mm, dd, _ = match.groups()
        month, day = int(mm), int(dd)
        female = month > 50
        if female:
            month -= 50
        if not 1 <= month <= 12 or not 1 <= day <= 31:
            raise HealthNumberError("The birth date inside this Quebec health number is not a real date.")
        _check_ramq_person(letters, int(yy), month, day, female, last_name, first_name, birth, sex)
        return HealthNumber("QC", f"{compact[:4]} {compact[4:8]} {compact[8:]}", "", compact)
    lengths = _OTHER_LENGTHS.get(province)
    if lengths is None:
        raise HealthNumberError(f"Unknown province code '{province}'.")
    if not compact.isdigit() or len(compact) not in lengths:
        raise HealthNumberError(f"A health number for {province} is {' or '.join(map(str, lengths))} digits.")
    return HealthNumber(province, compact, "", compact)


def _check_ramq_person(letters: str, yy: int, month: int, day: int, female: bool, last_name: str | None,
                       first_name: str | None, birth: date | None, sex: str | None) -> None:
    """When the patient's details are known, the RAMQ code must agree with them."""
    if last_name and first_name:
        expected = fold(last_name).upper()[:3].ljust(3, "X") + (fold(first_name).upper()[:1] or "X")
        if letters != expected:
            raise HealthNumberError("The letters of this Quebec health number do not match the patient's name.")
    if birth is not None and (birth.year % 100, birth.month, birth.day) != (yy, month, day):
        raise HealthNumberError("The birth date inside this Quebec health number does not match the patient's.")
    if sex in ("F", "M") and female != (sex == "F"):
        raise HealthNumberError("This Quebec health number's month says a different sex than the patient's record.")
