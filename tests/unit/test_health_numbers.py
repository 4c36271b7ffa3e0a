"""PT-4 health number formats: Ontario's check digit and version code, Quebec's RAMQ layout."""

from __future__ import annotations

from datetime import date

import pytest

from core.patients.health_numbers import HealthNumberError, luhn_ok, parse_health_number


def test_ontario_number_with_version_code() -> None:
    parsed = parse_health_number("on", "1234 567 897 ab")
    assert (parsed.number, parsed.version, parsed.key) == ("1234 567 897", "AB", "1234567897")


@pytest.mark.parametrize(
    ("province", "text", "fragment"),
    [
        ("ON", "1234 567 890", "check digit"),
        ("ON", "1234 567", "10 digits"),
        ("QC", "1234 5678 9012", "4 letters"),
        ("QC", "COTZ 8013 4512", "not a real date"),
        ("XX", "123", "Unknown province"),
        ("BC", "12345", "10 digits"),
        ("ON", "   ", "empty"),
    ],
)
def test_refusals_say_why(province: str, text: str, fragment: str) -> None:
    with pytest.raises(HealthNumberError, match=fragment):
        parse_health_number(province, text)


def test_quebec_number_agrees_with_the_patient() -> None:
    parsed = parse_health_number("QC", "cotz 8555 1201", last_name="Côté", first_name="Zoé",
                                 birth=date(1985, 5, 12), sex="F")
    assert parsed.number == "COTZ 8555 1201"
    with pytest.raises(HealthNumberError, match="name"):
        parse_health_number("QC", "TREZ 8555 1201", last_name="Côté", first_name="Zoé")
    with pytest.raises(HealthNumberError, match="birth date"):
        parse_health_number("QC", "COTZ 8555 1201", birth=date(1985, 5, 13))
    with pytest.raises(HealthNumberError, match="sex"):
        parse_health_number("QC", "COTZ 8555 1201", sex="M")


def test_short_names_are_padded_with_x() -> None:
    assert parse_health_number("QC", "NGXO 9001 0101", last_name="Ng", first_name="Owen").key == "NGXO90010101"


def test_luhn() -> None:
    assert luhn_ok("1234567897")
    assert not luhn_ok("1234567890")
