"""Folded search keys stored beside each patient so that search is an index range scan.

``fold`` is shared with the synthetic generator: what the generator folds is exactly what the
search will look for.
"""

from __future__ import annotations

import re

from core.synthetic import fold

__all__ = ["fold", "health_key", "phone_key", "prefix_upper_bound", "split_health_number"]

_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")
# Ontario: 10 digits and an optional 1-2 letter version code, which search ignores.
_ONTARIO_WITH_VERSION = re.compile(r"^(\d{10})[A-Z]{1,2}$")


def health_key(number: str | None) -> str | None:
    """'1234 567 890 AB' -> '1234567890'; 'trem 8005 1212' -> 'TREM80051212'."""
    if not number:
        return None
    key = _NON_ALNUM.sub("", number).upper()
    match = _ONTARIO_WITH_VERSION.match(key)
    return match.group(1) if match else (key or None)


def split_health_number(number: str) -> tuple[str, str]:
    """Split an Ontario number typed with its version code: ('1234 567 890', 'AB')."""
    text = number.strip()
    match = re.match(r"^(.*?\d)\s*-?\s*([A-Za-z]{1,2})$", text)
    if match and len(re.sub(r"\D", "", match.group(1))) == 10:
        return match.group(1).strip(), match.group(2).upper()
    return text, ""


def phone_key(phone: str | None) -> str | None:
    """Digits only, without the North American trunk prefix 1."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits or None


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` (keys are ASCII)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
