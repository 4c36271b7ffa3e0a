"""eForm definitions and answers (issue 4, item 1): pure functions, no database."""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any

import pytest

from core.errors import InvalidInput
from core.messaging.builtin_forms import BUILTIN_FORMS
from core.messaging.eforms import (
    CleanAnswers,
    FormAnswerError,
    FormDefinition,
    FormDefinitionError,
    validate_answers,
)


def label(text: str) -> dict[str, str]:
    return {"en": text, "fr": f"{text} (fr)"}


def choices(*values: str) -> list[dict[str, Any]]:
    return [{"value": value, "label": label(value.title())} for value in values]


SAMPLE: dict[str, Any] = {"fields": [
    {"name": "nickname", "type": "text", "required": False, "label": label("Nickname"), "max_length": 10},
    {"name": "history", "type": "long_text", "required": False, "label": label("History")},
    {"name": "temperature", "type": "number", "required": True, "label": label("Temperature"), "min": 30, "max": 45},
    {"name": "visit_date", "type": "date", "required": False, "label": label("Visit date")},
    {"name": "colour", "type": "single_choice", "required": False, "label": label("Colour"),
     "choices": choices("red", "green", "blue")},
    {"name": "symptoms", "type": "multiple_choice", "required": False, "label": label("Symptoms"),
     "choices": choices("cough", "fever", "fatigue")},
    {"name": "smoker", "type": "yes_no", "required": True, "label": label("Smoker")},
]}

VALID = {"temperature": "37", "smoker": "no"}


@pytest.fixture
def sample() -> FormDefinition:
    return FormDefinition.from_data(SAMPLE)


def answer_error(definition: FormDefinition, answers: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(FormAnswerError) as caught:
        validate_answers(definition, answers)
    return caught.value.errors


def definition_problems(data: Any) -> str:
    with pytest.raises(FormDefinitionError) as caught:
        FormDefinition.from_data(data)
    assert isinstance(caught.value, InvalidInput)
    return "; ".join(caught.value.problems)


# -- built-in forms ---------------------------------------------------------------------------

def test_builtin_form_codes() -> None:
    assert [code for code, *_ in BUILTIN_FORMS] == ["email_consent", "health_questionnaire", "new_patient_intake"]


@pytest.mark.parametrize(("code", "title_en", "title_fr", "data"), BUILTIN_FORMS, ids=[f[0] for f in BUILTIN_FORMS])
def test_builtin_forms_load_and_round_trip(code: str, title_en: str, title_fr: str, data: dict[str, Any]) -> None:
    definition = FormDefinition.from_data(data)
    assert title_en and title_fr and title_en != title_fr
    assert FormDefinition.from_data(definition.to_data()) == definition
    assert definition.to_data() == data


def test_health_questionnaire_uses_several_types() -> None:
    data = dict((code, definition) for code, _en, _fr, definition in BUILTIN_FORMS)["health_questionnaire"]
    kinds = {field.type for field in FormDefinition.from_data(data).fields}
    assert {"multiple_choice", "single_choice", "number", "yes_no", "date", "long_text"} <= kinds


def test_email_consent_answered() -> None:
    data = BUILTIN_FORMS[0][3]
    clean = validate_answers(FormDefinition.from_data(data),
                             {"full_name": "Zoé Synthétique", "consents_to_email": "oui", "consent_date": "2026-03-03"})
    assert clean.to_data() == {"full_name": "Zoé Synthétique", "consents_to_email": True, "consent_date": "2026-03-03"}


# -- malformed definitions ----------------------------------------------------------------------

def broken(**changes: Any) -> dict[str, Any]:
    """SAMPLE with its first choice field (colour) changed."""
    data = copy.deepcopy(SAMPLE)
    data["fields"][4].update(changes)
    return {"fields": [{k: v for k, v in f.items() if v is not None} for f in data["fields"]]}


@pytest.mark.parametrize(("data", "expected"), [
    (broken(type="slider"), "unknown type 'slider'"),
    (broken(choices=None), "colour: a choice field needs a non-empty list of choices"),
    (broken(choices=[]), "colour: a choice field needs a non-empty list of choices"),
    (broken(name="smoker"), "field name smoker is used twice"),
    (broken(label={"en": "Colour"}), "colour: label has no fr text"),
    (broken(label={"fr": "Couleur", "en": "  "}), "colour: label has no en text"),
    (broken(label="Colour"), "colour: label must give the text in English and French"),
    (broken(colour="red"), "colour: unknown key 'colour'"),
    (broken(required="yes"), "required must be true or false"),
    (broken(name="Bad Name"), "field 5: name must be"),
    (broken(min=1), "colour: min applies only to numbers"),
    (broken(max_length=5), "colour: max_length applies only to text"),
    (broken(choices=choices("red", "red")), "choice 2: value 'red' is used twice"),
    (broken(choices=[{"value": "", "label": label("x")}]), "choice 1: value must be non-empty text"),
    (broken(choices=[{"value": "x", "label": {"en": "X"}}]), "colour, choice 1: label has no fr text"),
    ({"fields": [{"name": "a", "type": "text", "required": True, "label": label("A"), "choices": choices("x")}]},
     "a: choices apply only to choice fields"),
    ({"fields": [{"name": "n", "type": "number", "label": label("N"), "min": 5, "max": 1}]},
     "n: min is greater than max"),
    ({"fields": [{"name": "n", "type": "number", "label": label("N"), "min": "5"}]}, "n: min must be a number"),
    ({"fields": [{"name": "t", "type": "text", "label": label("T"), "max_length": 0}]},
     "t: max_length must be a positive whole number"),
    ({"fields": []}, "non-empty list of fields"),
    ({"fields": ["not a field"]}, "field 1 is not an object"),
    ({"fields": SAMPLE["fields"], "colour": 1}, "unknown key 'colour'"),
    (["not", "a", "form"], "must be an object"),
])
def test_malformed_definitions_are_refused(data: Any, expected: str) -> None:
    assert expected in definition_problems(data)


def test_every_definition_problem_is_reported_at_once() -> None:
    data = {"fields": [
        {"name": "a", "type": "slider", "label": label("A")},
        {"name": "b", "type": "single_choice", "label": label("B")},
        {"name": "c", "type": "text", "label": {"en": "C"}},
    ]}
    problems = definition_problems(data)
    assert "unknown type 'slider'" in problems and "b: a choice field" in problems and "c: label has no fr" in problems


# -- answers, type by type ----------------------------------------------------------------------

def test_valid_answers_are_normalized(sample: FormDefinition) -> None:
    clean = validate_answers(sample, {
        "nickname": "  Zo   Zo ", "history": " line one\r\nline two ", "temperature": "37,5",
        "visit_date": date(2026, 3, 3), "colour": "green", "symptoms": ["fatigue", "cough", "fatigue"],
        "smoker": False,
    })
    assert isinstance(clean, CleanAnswers)
    assert clean.to_data() == {
        "nickname": "Zo Zo", "history": "line one\nline two", "temperature": 37.5, "visit_date": "2026-03-03",
        "colour": "green", "symptoms": ["cough", "fatigue"], "smoker": False,
    }
    assert clean["temperature"] == 37.5 and "nickname" in clean and clean.get("missing", "x") == "x"


def test_optional_unanswered_fields_are_absent(sample: FormDefinition) -> None:
    clean = validate_answers(sample, {**VALID, "nickname": "  ", "symptoms": [], "visit_date": None})
    assert clean.to_data() == {"temperature": 37, "smoker": False}
    assert isinstance(clean["temperature"], int)


@pytest.mark.parametrize("blank", [None, "", "   ", []])
def test_required_missing(sample: FormDefinition, blank: Any) -> None:
    errors = answer_error(sample, {"temperature": blank, "smoker": "yes"})
    assert errors == {"temperature": "This answer is required."}


def test_required_absent_key(sample: FormDefinition) -> None:
    assert answer_error(sample, {}) == {"temperature": "This answer is required.",
                                        "smoker": "This answer is required."}


@pytest.mark.parametrize(("value", "expected"), [
    ("abc", "Enter a number."), ("1e5x", "Enter a number."), (True, "Enter a number."), ([37], "Enter a number."),
    (float("nan"), "Enter a number."), ("inf", "Enter a number."),
    ("29.9", "Enter a number of at least 30."), (46, "Enter a number of at most 45."),
])
def test_number_errors(sample: FormDefinition, value: Any, expected: str) -> None:
    assert answer_error(sample, {**VALID, "temperature": value}) == {"temperature": expected}


@pytest.mark.parametrize(("value", "expected"), [("30", 30), (45, 45), (" 38.25 ", 38.25), ("37,0", 37)])
def test_number_bounds_are_inclusive_and_values_parsed(sample: FormDefinition, value: Any, expected: float) -> None:
    assert validate_answers(sample, {**VALID, "temperature": value})["temperature"] == expected


@pytest.mark.parametrize("value", ["2026-02-30", "2026-13-01", "03/03/2026", "2026-3-3", "tomorrow", 20260303,
                                   datetime(2026, 3, 3, 10, 0)])
def test_date_must_be_a_real_iso_date(sample: FormDefinition, value: Any) -> None:
    assert answer_error(sample, {**VALID, "visit_date": value}) == {"visit_date": "Enter a real date as YYYY-MM-DD."}


def test_leap_day_is_a_real_date(sample: FormDefinition) -> None:
    assert validate_answers(sample, {**VALID, "visit_date": "2028-02-29"})["visit_date"] == "2028-02-29"


@pytest.mark.parametrize("value", ["purple", "Red", 1, ["red"]])
def test_single_choice_not_in_list(sample: FormDefinition, value: Any) -> None:
    assert answer_error(sample, {**VALID, "colour": value}) == {"colour": "Choose one of the options offered."}


@pytest.mark.parametrize("value", [["cough", "sneeze"], [1], {"cough": True}, 3])
def test_multiple_choice_not_in_list(sample: FormDefinition, value: Any) -> None:
    assert answer_error(sample, {**VALID, "symptoms": value}) == {"symptoms": "Choose only among the options offered."}


def test_multiple_choice_accepts_a_single_value(sample: FormDefinition) -> None:
    assert validate_answers(sample, {**VALID, "symptoms": "fever"})["symptoms"] == ["fever"]


@pytest.mark.parametrize(("value", "expected"), [(True, True), ("yes", True), ("OUI", True), ("non", False),
                                                 ("false", False)])
def test_yes_no_values(sample: FormDefinition, value: Any, expected: bool) -> None:
    assert validate_answers(sample, {**VALID, "smoker": value})["smoker"] is expected


@pytest.mark.parametrize("value", ["maybe", 1, 0, ["yes"]])
def test_yes_no_errors(sample: FormDefinition, value: Any) -> None:
    assert answer_error(sample, {**VALID, "smoker": value}) == {"smoker": "Answer yes or no."}


def test_text_too_long(sample: FormDefinition) -> None:
    assert validate_answers(sample, {**VALID, "nickname": "x" * 10})["nickname"] == "x" * 10
    errors = answer_error(sample, {**VALID, "nickname": "x" * 11})
    assert errors == {"nickname": "Use at most 10 characters (this answer has 11)."}


def test_long_text_has_a_default_limit(sample: FormDefinition) -> None:
    errors = answer_error(sample, {**VALID, "history": "y" * 5001})
    assert errors == {"history": "Use at most 5000 characters (this answer has 5001)."}


def test_text_must_be_text(sample: FormDefinition) -> None:
    assert answer_error(sample, {**VALID, "nickname": 12}) == {"nickname": "Enter text."}


def test_unknown_field(sample: FormDefinition) -> None:
    assert answer_error(sample, {**VALID, "shoe_size": "42"}) == {"shoe_size": "This is not a question of this form."}


def test_every_answer_error_is_reported_at_once(sample: FormDefinition) -> None:
    with pytest.raises(FormAnswerError) as caught:
        validate_answers(sample, {"temperature": "hot", "colour": "purple", "extra": 1}, language="fr")
    assert set(caught.value.errors) == {"temperature", "colour", "extra", "smoker"}
    assert isinstance(caught.value, InvalidInput)
