"""The condition builder (CA-4): resource / comparator / value rows, all of which must hold.

Each row is checked against its resource's type (a number for an age, a date for the last
visit, two dates for an appointment window, yes/no for the consents…) and becomes one SQL
clause on ``patients``; the rows together are ONE query, counted by the database for the live
count and used as ``INSERT … SELECT`` when assigning. No patient is ever filtered in Python.
Ages are turned into date-of-birth bounds and the appointment window into UTC instants of the
clinic's days, so both use indexes. Saved condition sets are ``PatientCondition`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, false, func, not_, select, true
from sqlalchemy.orm import Session

from core import audit
from core.db.models import Appointment, ConnectedSystem, Patient, PatientCondition, Provider
from core.errors import InvalidInput
from core.i18n import _
from core.uow import UnitOfWork

# Comparators, by the type of value they take.
IS, IS_NOT = "is", "is_not"
EQ, NE, LT, LE, GT, GE = "eq", "ne", "lt", "le", "gt", "ge"
BEFORE, AFTER, ON = "before", "after", "on"
STARTS_WITH = "starts_with"
BETWEEN = "between"

CHOICE = (IS, IS_NOT)
NUMBER = (EQ, NE, LT, LE, GT, GE)
DATE = (BEFORE, ON, AFTER)


@dataclass(frozen=True)
class Resource:
    key: str
    label: str  # English source; faces translate it
    kind: str  # choice|yesno|number|date|prefix|date_range
    comparators: tuple[str, ...]
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for choice and yesno


YES_NO = (("yes", "yes"), ("no", "no"))
RESOURCES: tuple[Resource, ...] = (
    Resource("connected_system", "Connected external system", "choice", CHOICE, (("patient_app", "Patient app"),)),
    Resource("age", "Age", "number", NUMBER),
    Resource("sex", "Sex", "choice", CHOICE, (("F", "Female"), ("M", "Male"), ("X", "Another gender"))),
    Resource("language", "Language", "choice", CHOICE, (("fr", "French"), ("en", "English"))),
    Resource("primary_provider", "Primary provider", "provider", CHOICE),
    Resource("has_email", "Has an email address", "yesno", (IS,), YES_NO),
    Resource("email_consent", "Email consent", "yesno", (IS,), YES_NO),
    Resource("marketing_consent", "Marketing consent", "yesno", (IS,), YES_NO),
    Resource("push_enabled", "Push notifications on", "yesno", (IS,), YES_NO),
    Resource("last_visit", "Last visit", "date", DATE),
    Resource("postal_prefix", "Postal code", "prefix", (STARTS_WITH,)),
    Resource("appointment", "Appointment", "date_range", (BETWEEN,)),
)
BY_KEY = {resource.key: resource for resource in RESOURCES}
COMPARATOR_LABELS = {
    IS: "is", IS_NOT: "is not", EQ: "=", NE: "≠", LT: "<", LE: "≤", GT: ">", GE: "≥",
    BEFORE: "before", ON: "on", AFTER: "after", STARTS_WITH: "starts with", BETWEEN: "between",
}


@dataclass(frozen=True)
class Condition:
    """One row of the builder. ``value`` is as typed (a date as YYYY-MM-DD; a window as two dates
    separated by ``..``); it is checked against the resource's type by :func:`compile_conditions`."""

    resource: str
    comparator: str
    value: str

    def to_data(self) -> dict[str, str]:
        return {"resource": self.resource, "comparator": self.comparator, "value": self.value}


@dataclass(frozen=True)
class SavedSet:
    id: int
    name: str
    conditions: tuple[Condition, ...]


def _date(value: str, row: int) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(_("Condition {row}: '{value}' is not a date (YYYY-MM-DD).").format(
            row=row, value=value)) from None


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _age_clause(comparator: str, age: int, today: date) -> ColumnElement[bool]:
    # Age >= n  <=>  born on or before today minus n years.
    dob = Patient.date_of_birth

    def at_least(n: int) -> ColumnElement[bool]:
        return dob <= _years_before(today, n)

    def below(n: int) -> ColumnElement[bool]:
        return dob > _years_before(today, n)

    clauses = {
        GE: at_least(age), GT: at_least(age + 1), LT: below(age), LE: below(age + 1),
        EQ: and_(at_least(age), below(age + 1)),
        NE: and_(dob.is_not(None), not_(and_(at_least(age), below(age + 1)))),
    }
    return clauses[comparator]


def _one(condition: Condition, row: int, today: date, zone: ZoneInfo) -> ColumnElement[bool]:
    resource = BY_KEY.get(condition.resource)
    if resource is None:
        raise InvalidInput(_("Condition {row}: unknown resource '{name}'.").format(row=row, name=condition.resource))
    if condition.comparator not in resource.comparators:
        raise InvalidInput(_("Condition {row}: '{comparator}' does not fit {resource}.").format(
            row=row, comparator=condition.comparator, resource=_(resource.label)))
    value = condition.value.strip()
    if not value:
        raise InvalidInput(_("Condition {row}: give a value.").format(row=row))
    negate = condition.comparator == IS_NOT
    if resource.kind == "choice":
        if value not in {choice for choice, _label in resource.choices}:
            raise InvalidInput(_("Condition {row}: choose one of the values offered for {resource}.").format(
                row=row, resource=_(resource.label)))
        if resource.key == "connected_system":
            clause: ColumnElement[bool] = exists().where(ConnectedSystem.patient_id == Patient.id,
                                                         ConnectedSystem.system == value)
            return not_(clause) if negate else clause
        column = {"sex": Patient.sex, "language": Patient.language}[resource.key]
        return (column.is_(None) | (column != value)) if negate else column == value
    if resource.kind == "provider":
        if not value.isdigit():
            raise InvalidInput(_("Condition {row}: choose a provider from the list.").format(row=row))
        provider = Patient.primary_provider_id
        return (provider.is_(None) | (provider != int(value))) if negate else provider == int(value)
    if resource.kind == "yesno":
        if value not in ("yes", "no"):
            raise InvalidInput(_("Condition {row}: the value is yes or no.").format(row=row))
        wanted = value == "yes"
        if resource.key == "has_email":
            present = Patient.email.is_not(None) & (Patient.email != "")
            return present if wanted else not_(present)
        column = {"email_consent": Patient.email_consent, "marketing_consent": Patient.marketing_consent,
                  "push_enabled": Patient.push_enabled}[resource.key]
        # NOT NULL columns: "= true" rather than "IS TRUE", which PostgreSQL cannot take from an index.
        return column == (true() if wanted else false())
    if resource.kind == "number":
        if not value.isdigit() or int(value) > 150:
            raise InvalidInput(_("Condition {row}: the age is a whole number of years (0 to 150), not '{value}'.")
                               .format(row=row, value=value))
        return _age_clause(condition.comparator, int(value), today)
    if resource.kind == "date":
        day = _date(value, row)
        visit = Patient.last_visit
        return {BEFORE: visit < day, ON: visit == day, AFTER: visit > day}[condition.comparator]
    if resource.kind == "prefix":
        prefix = "".join(value.split()).upper()
        if not prefix.isalnum() or len(prefix) > 6:
            raise InvalidInput(_("Condition {row}: a postal code prefix is 1 to 6 letters and digits.").format(
                row=row))
        return func.upper(func.replace(Patient.postal_code, " ", "")).startswith(prefix, autoescape=True)
    first, separator, last = value.partition("..")
    if not separator:
        raise InvalidInput(_("Condition {row}: give two dates as YYYY-MM-DD..YYYY-MM-DD.").format(row=row))
    start, end = _date(first, row), _date(last, row)
    if end < start:
        raise InvalidInput(_("Condition {row}: the second date is before the first.").format(row=row))
    window_start = datetime.combine(start, time(), zone)
    window_end = datetime.combine(end + timedelta(days=1), time(), zone)
    return exists().where(Appointment.patient_id == Patient.id, Appointment.starts_at >= window_start,
                          Appointment.starts_at < window_end, Appointment.status != "cancelled")


def compile_conditions(conditions: tuple[Condition, ...] | list[Condition], *, today: date,
                       timezone: str = "America/Toronto") -> ColumnElement[bool]:
    """The rows as one WHERE clause on ``patients``; InvalidInput names the first wrong row."""
    if not conditions:
        raise InvalidInput(_("Add at least one condition."))
    zone = ZoneInfo(timezone)
    return and_(*(_one(condition, row, today, zone) for row, condition in enumerate(conditions, start=1)))


def count_matching(session: Session, conditions: tuple[Condition, ...] | list[Condition], *, today: date,
                   timezone: str = "America/Toronto") -> int:
    """The live count: how many patients every row fits (one ``SELECT count(*)``)."""
    where = compile_conditions(conditions, today=today, timezone=timezone)
    return int(session.scalar(select(func.count()).select_from(Patient).where(where)) or 0)


def providers(session: Session) -> list[tuple[int, str]]:
    """(id, name) of every provider, for the primary-provider value list."""
    return [(row.id, row.display_name) for row in
            session.execute(select(Provider.id, Provider.display_name).order_by(Provider.display_name))]


def _parse_saved(data: Any) -> tuple[Condition, ...]:
    return tuple(Condition(str(item["resource"]), str(item["comparator"]), str(item["value"])) for item in data)


def save_set(uow: UnitOfWork, name: str, conditions: tuple[Condition, ...] | list[Condition], *, today: date) -> int:
    """Save (or replace, by name) a condition set once its rows are valid."""
    compile_conditions(conditions, today=today)
    name = " ".join(name.split())
    if not name or len(name) > 120:
        raise InvalidInput(_("A condition set needs a name of 1 to 120 characters."))
    session = uow.session
    saved = session.scalar(select(PatientCondition).where(PatientCondition.name == name))
    if saved is None:
        saved = PatientCondition(name=name, conditions=[])
        session.add(saved)
    saved.conditions = [condition.to_data() for condition in conditions]
    session.flush()
    audit.record(session, actor=uow.actor, action="campaign.condition-set", detail={"set_id": saved.id})
    uow.commit()
    return saved.id


def saved_sets(session: Session) -> list[SavedSet]:
    rows = session.scalars(select(PatientCondition).order_by(PatientCondition.name)).all()
    return [SavedSet(row.id, row.name, _parse_saved(row.conditions)) for row in rows]


def delete_set(uow: UnitOfWork, set_id: int) -> None:
    saved = uow.session.get(PatientCondition, set_id)
    if saved is None:
        raise InvalidInput(_("This condition set no longer exists."))
    uow.session.delete(saved)
    uow.commit()
