"""eForm definitions as data, and a patient's answers checked against them (MS-1, PO-4).

A definition is the JSON stored in ``EForm.definition``::

    {"fields": [{"name": "smoker", "type": "yes_no", "required": true,
                 "label": {"en": "Do you smoke?", "fr": "Fumez-vous ?"}}, ...]}

``FormDefinition.from_data`` turns it into frozen dataclasses, refusing a malformed definition
with every problem named (an unknown key is refused too, so a typo in a hand-written form never
silently drops a constraint). ``validate_answers`` is what the portal calls when a patient
submits: it returns JSON-able, normalized answers or raises ``FormAnswerError`` whose
``errors`` maps each field name to a message in the patient's language.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeGuard

from core.errors import InvalidInput
from core.i18n import _, translate

FIELD_TYPES = ("text", "long_text", "number", "date", "single_choice", "multiple_choice", "yes_no")
CHOICE_TYPES = frozenset({"single_choice", "multiple_choice"})
TEXT_TYPES = frozenset({"text", "long_text"})
# Bounds applied when a definition gives no max_length, so one answer cannot grow without limit.
DEFAULT_MAX_LENGTH = {"text": 300, "long_text": 5000}
FIELD_KEYS = frozenset({"name", "type", "required", "label", "choices", "min", "max", "max_length"})
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,59}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
YES_WORDS = frozenset({"yes", "oui", "true"})
NO_WORDS = frozenset({"no", "non", "false"})


class FormDefinitionError(InvalidInput):
    """A definition that cannot be used; ``problems`` lists every fault found."""

    title = "This eForm definition cannot be used"

    def __init__(self, problems: list[str]) -> None:
        super().__init__(_("The eForm definition is not valid: {problems}").format(problems="; ".join(problems)))
        self.problems = problems


class FormAnswerError(InvalidInput):
    """Answers the patient must correct; ``errors`` maps a field name to what is wrong with it."""

    title = "Some answers need a correction"

    def __init__(self, errors: dict[str, str], language: str = "en") -> None:
        super().__init__(translate("Some answers need to be corrected.", language))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Label:
    """A text shown to the patient in French and in English."""

    en: str
    fr: str

    def in_language(self, language: str) -> str:
        return self.fr if language == "fr" else self.en

    def to_data(self) -> dict[str, str]:
        return {"en": self.en, "fr": self.fr}


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: Label


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    type: str
    required: bool
    label: Label
    choices: tuple[Choice, ...] = ()
    min: float | None = None
    max: float | None = None
    max_length: int | None = None

    @property
    def length_limit(self) -> int | None:
        return self.max_length if self.max_length is not None else DEFAULT_MAX_LENGTH.get(self.type)

    def choice_values(self) -> tuple[str, ...]:
        return tuple(choice.value for choice in self.choices)

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "type": self.type, "required": self.required,
                                "label": self.label.to_data()}
        if self.choices:
            data["choices"] = [{"value": c.value, "label": c.label.to_data()} for c in self.choices]
        for key in ("min", "max", "max_length"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass(frozen=True, slots=True)
class FormDefinition:
    fields: tuple[FormField, ...]

    @classmethod
    def from_data(cls, data: Any) -> FormDefinition:
        problems: list[str] = []
        if not isinstance(data, Mapping):
            raise FormDefinitionError([_("a definition must be an object with a list of fields")])
        for key in sorted(set(data) - {"fields"}):
            problems.append(_("unknown key {key}").format(key=repr(key)))
        raw_fields = data.get("fields")
        if not isinstance(raw_fields, list) or not raw_fields:
            problems.append(_("a definition needs a non-empty list of fields"))
            raise FormDefinitionError(problems)
        fields: list[FormField] = []
        seen: set[str] = set()
        for position, raw in enumerate(raw_fields, start=1):
            parsed = _parse_field(raw, position, problems)
            if parsed is None:
                continue
            if parsed.name in seen:
                problems.append(_("field name {name} is used twice").format(name=parsed.name))
            seen.add(parsed.name)
            fields.append(parsed)
        if problems:
            raise FormDefinitionError(problems)
        return cls(tuple(fields))

    def to_data(self) -> dict[str, Any]:
        return {"fields": [field.to_data() for field in self.fields]}

    def field(self, name: str) -> FormField:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class CleanAnswers:
    """Normalized answers keyed by field name; unanswered optional fields are absent.

    Values are JSON-able: str (text, long text, single choice, ISO date), int or float
    (number), list[str] in the definition's order (multiple choice), bool (yes/no).
    """

    values: Mapping[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def to_data(self) -> dict[str, Any]:
        return {name: list(value) if isinstance(value, list) else value for name, value in self.values.items()}


def _parse_label(raw: Any, where: str, problems: list[str]) -> Label | None:
    if not isinstance(raw, Mapping):
        problems.append(_("{where}: label must give the text in English and French").format(where=where))
        return None
    texts: dict[str, str] = {}
    for language in ("en", "fr"):
        value = raw.get(language)
        if not isinstance(value, str) or not value.strip():
            problems.append(_("{where}: label has no {language} text").format(where=where, language=language))
        else:
            texts[language] = value.strip()
    for key in sorted(set(raw) - {"en", "fr"}):
        problems.append(_("{where}: label has an unknown language {key}").format(where=where, key=repr(key)))
    return Label(**texts) if len(texts) == 2 else None


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _parse_field(raw: Any, position: int, problems: list[str]) -> FormField | None:
    if not isinstance(raw, Mapping):
        problems.append(_("field {position} is not an object").format(position=position))
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        problems.append(_("field {position}: name must be lower-case letters, digits and _ (at most 60), "
                          "starting with a letter").format(position=position))
        return None
    before = len(problems)
    for key in sorted(set(raw) - FIELD_KEYS):
        problems.append(_("field {name}: unknown key {key}").format(name=name, key=repr(key)))
    kind = raw.get("type")
    if kind not in FIELD_TYPES:
        problems.append(_("field {name}: unknown type {kind} (expected one of {types})").format(
            name=name, kind=repr(kind), types=", ".join(FIELD_TYPES)))
        return None
    required = raw.get("required", False)
    if not isinstance(required, bool):
        problems.append(_("field {name}: required must be true or false").format(name=name))
    label = _parse_label(raw.get("label"), _("field {name}").format(name=name), problems)
    choices = _parse_choices(name, kind, raw.get("choices"), problems)
    low, high = raw.get("min"), raw.get("max")
    for key, bound in (("min", low), ("max", high)):
        if bound is None:
            continue
        if kind != "number":
            problems.append(_("field {name}: {key} applies only to numbers").format(name=name, key=key))
        elif not _is_number(bound):
            problems.append(_("field {name}: {key} must be a number").format(name=name, key=key))
    if _is_number(low) and _is_number(high) and low > high:
        problems.append(_("field {name}: min is greater than max").format(name=name))
    max_length = raw.get("max_length")
    if max_length is not None:
        if kind not in TEXT_TYPES:
            problems.append(_("field {name}: max_length applies only to text").format(name=name))
        elif not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1:
            problems.append(_("field {name}: max_length must be a positive whole number").format(name=name))
    if len(problems) > before or label is None:
        return None
    return FormField(name=name, type=kind, required=required, label=label, choices=choices,
                     min=low, max=high, max_length=max_length)


def _parse_choices(name: str, kind: str, raw: Any, problems: list[str]) -> tuple[Choice, ...]:
    if kind not in CHOICE_TYPES:
        if raw is not None:
            problems.append(_("field {name}: choices apply only to choice fields").format(name=name))
        return ()
    if not isinstance(raw, list) or not raw:
        problems.append(_("field {name}: a choice field needs a non-empty list of choices").format(name=name))
        return ()
    choices: list[Choice] = []
    for index, item in enumerate(raw, start=1):
        where = _("field {name}, choice {index}").format(name=name, index=index)
        value = item.get("value") if isinstance(item, Mapping) else None
        if not isinstance(value, str) or not value.strip():
            problems.append(_("{where}: value must be non-empty text").format(where=where))
            continue
        if value in (choice.value for choice in choices):
            problems.append(_("{where}: value {value} is used twice").format(where=where, value=repr(value)))
            continue
        for key in sorted(set(item) - {"value", "label"}):
            problems.append(_("{where}: unknown key {key}").format(where=where, key=repr(key)))
        label = _parse_label(item.get("label"), where, problems)
        if label is not None:
            choices.append(Choice(value=value, label=label))
    return tuple(choices)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, list | tuple) and len(value) == 0)


def _clean_value(field: FormField, value: Any, language: str) -> Any:
    """The normalized answer for one field; raises ValueError with the patient-facing message."""

    def fail(message: str, **values: Any) -> ValueError:
        return ValueError(translate(message, language).format(**values))

    kind = field.type
    if kind in TEXT_TYPES:
        if not isinstance(value, str):
            raise fail("Enter text.")
        text = value.strip().replace("\r\n", "\n").replace("\r", "\n")
        if kind == "text":
            text = " ".join(text.split())
        limit = field.length_limit
        if limit is not None and len(text) > limit:
            raise fail("Use at most {limit} characters (this answer has {length}).", limit=limit, length=len(text))
        return text
    if kind == "number":
        number = _to_number(value)
        if number is None:
            raise fail("Enter a number.")
        if field.min is not None and number < field.min:
            raise fail("Enter a number of at least {min}.", min=_show_number(field.min))
        if field.max is not None and number > field.max:
            raise fail("Enter a number of at most {max}.", max=_show_number(field.max))
        return number
    if kind == "date":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, str) and ISO_DATE.fullmatch(value.strip()):
            try:
                return date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                pass
        raise fail("Enter a real date as YYYY-MM-DD.")
    if kind == "single_choice":
        if not isinstance(value, str) or value not in field.choice_values():
            raise fail("Choose one of the options offered.")
        return value
    if kind == "multiple_choice":
        picked = [value] if isinstance(value, str) else value
        allowed = field.choice_values()
        if not isinstance(picked, list | tuple) or any(
                not isinstance(item, str) or item not in allowed for item in picked):
            raise fail("Choose only among the options offered.")
        return [choice for choice in allowed if choice in picked]
    # yes_no
    if isinstance(value, bool):
        return value
    word = value.strip().lower() if isinstance(value, str) else None
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    raise fail("Answer yes or no.")


def _to_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        number = value
    elif isinstance(value, str):
        # A French keyboard writes 37,5; a space may group thousands (1 250).
        text = value.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
        if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)", text):
            return None
        number = float(text)
    else:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _show_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def validate_answers(definition: FormDefinition, answers: Mapping[str, Any], language: str = "en") -> CleanAnswers:
    """Check ``answers`` against ``definition``; every fault is reported at once.

    ``language`` is the patient's ('en' or 'fr'): the messages in ``FormAnswerError.errors``
    are shown to them next to the fields.
    """
    errors: dict[str, str] = {}
    known = {field.name for field in definition.fields}
    for name in answers:
        if name not in known:
            errors[str(name)] = translate("This is not a question of this form.", language)
    clean: dict[str, Any] = {}
    for field in definition.fields:
        value = answers.get(field.name)
        if _is_blank(value):
            if field.required:
                errors[field.name] = translate("This answer is required.", language)
            continue
        try:
            clean[field.name] = _clean_value(field, value, language)
        except ValueError as exc:
            errors[field.name] = str(exc)
    if errors:
        raise FormAnswerError(errors, language)
    return CleanAnswers(clean)
