"""The synthetic year of ``bench.reports``, written fast on both backends.

Rows are made as plain tuples and handed straight to the driver: ``COPY … FROM STDIN`` on
PostgreSQL (without per-row foreign-key triggers), one prepared ``INSERT`` run with
``executemany`` on SQLite (no ORM objects, no SQLAlchemy row processing); the events' indexes are
built after their rows. Messages and events are written in time order, ids increasing with
time, as a clinic's tables grow; a clinic's server vacuums and analyzes after such growth, so
:func:`settle` does the same before anything is timed.

The clinic: 20,000 patients, 12 staff, 20 providers, one message per about 2.7 events (a fifth
reminders; none, one or two eForms), each with the events the messaging services write for it
(link created, message sent or one form sent per eForm, forms completed online or at the kiosk
for half the forms, first view for 60 % of messages), and 50 campaigns of 1,000 recipients.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, select, text

from bench.common import BENCH_TODAY
from core import events
from core.bootstrap import Accueil
from core.db.models import (
    Campaign,
    CampaignRecipient,
    EForm,
    Event,
    FormRequest,
    Message,
    Patient,
    Provider,
    User,
)
from core.demo import patient_row
from core.synthetic import synthetic_patients

PATIENTS = 20_000
YEAR_START = datetime(2025, 1, 1, 5, 0, tzinfo=UTC)
SECONDS_IN_YEAR = 365 * 86400
CAMPAIGNS, RECIPIENTS = 50, 1000

MESSAGE_COLUMNS = ("id", "patient_id", "kind", "sender_user_id", "provider_id", "to_address", "subject", "body_html",
                   "body_text", "options", "message_id_header", "delivery_state", "failed_checks", "created_at")
REQUEST_COLUMNS = ("id", "message_id", "eform_id", "state")
EVENT_COLUMNS = ("kind", "at", "patient_id", "message_id", "form_request_id", "user_id", "provider_id", "channel")
RECIPIENT_COLUMNS = ("campaign_id", "patient_id", "state", "added_at")


def _stamp(moment: datetime, sqlite: bool) -> Any:
    """A UTC instant as the column stores it: naive UTC (``UTCDateTime``); on SQLite, SQLAlchemy's text form."""
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else naive


def bulk_write(app: Accueil, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """Append ``rows`` (tuples in ``columns`` order, values as the driver takes them) in one transaction."""
    written = 0
    with app.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # The generated rows are consistent by construction: no per-row foreign-key trigger
            # (what a data-only restore with --disable-triggers does; the bench connects as superuser).
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            raw = connection.connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
                    f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    written += 1
        else:
            batch = list(rows)
            marks = ", ".join("?" for _ in columns)
            # A cache that holds the indexes being filled (the default 2 MB makes every random insert a read).
            cache = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql("PRAGMA cache_size=-262144")
            try:
                connection.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})",
                                           batch)
            finally:
                connection.exec_driver_sql(f"PRAGMA cache_size={int(cache)}")
            written = len(batch)
    return written


@contextmanager
def _indexes_built_after(app: Accueil, table: Table) -> Iterator[None]:
    """Load without the secondary indexes, then build them (from the models: the migrations' own
    definitions) in one pass each, as a bulk load does: faster than a million index inserts."""
    with app.engine.begin() as connection:
        for index in table.indexes:
            index.drop(connection)
    yield
    with app.engine.begin() as connection:
        for index in table.indexes:
            index.create(connection)


def _reset_sequence(app: Accueil, table: Table) -> None:
    """Ids given explicitly do not move PostgreSQL's sequence: move it past them."""
    if app.engine.dialect.name != "postgresql":
        return
    with app.engine.begin() as connection:
        connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                f"(SELECT coalesce(max(id), 1) FROM {table.name}))"))


def _people(app: Accueil) -> tuple[list[int], list[int], list[int], list[int]]:
    now = datetime.now(UTC)
    rows = [patient_row(patient, None, now) for patient in synthetic_patients(PATIENTS, seed=7, today=BENCH_TODAY)]
    if app.engine.dialect.name == "postgresql":  # COPY takes Python values as they are, instants as naive UTC
        columns = tuple(rows[0])
        bulk_write(app, Patient.__table__, columns, (tuple(
            value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) else value
            for value in (row[column] for column in columns)) for row in rows))
    else:
        with app.engine.begin() as connection:  # one Core executemany (the ORM's bulk insert goes row by row)
            connection.execute(Patient.__table__.insert(), rows)
    with app.uow(write=True) as uow:
        session = uow.session
        session.add_all([Provider(emr_id=f"PR{i}", display_name=f"Dr Fournisseur {i:02d}") for i in range(20)])
        session.add_all([User(username=f"staff{i}", display_name=f"Personnel {i:02d}", role="moa") for i in range(12)])
        session.flush()
        people = (list(session.scalars(select(Patient.id))), list(session.scalars(select(Provider.id))),
                  list(session.scalars(select(User.id))), list(session.scalars(select(EForm.id))))
        uow.commit()
    return people


def build(app: Accueil, target_events: int, seed: int = 11) -> int:
    """Write the synthetic year; returns the number of events written."""
    rng = random.Random(seed)
    sqlite = app.engine.dialect.name == "sqlite"
    patients, providers, users, forms = _people(app)
    # Each message as (time, patient, provider, user, kind, eForms, [event offsets]), ordered by time afterwards.
    planned: list[tuple[datetime, int, int, int, str, list[int], list[tuple[str, timedelta, str | None, int]]]] = []
    written = 0
    while written < target_events:
        at = YEAR_START + timedelta(seconds=rng.randrange(SECONDS_IN_YEAR))
        patient, provider, user = rng.choice(patients), rng.choice(providers), rng.choice(users)
        kind = "reminder" if rng.random() < 0.2 else "secure_message"
        attached = rng.sample(forms, rng.choice((0, 0, 1, 2))) if forms else []
        later: list[tuple[str, timedelta, str | None, int]] = [(events.LINK_CREATED, timedelta(), None, -1)]
        if not attached and kind == "secure_message":
            later.append((events.MESSAGE_SENT, timedelta(), None, -1))
        for index in range(len(attached)):
            later.append((events.FORM_SENT, timedelta(), None, index))
            if rng.random() < 0.5:
                later.append((events.FORM_COMPLETED, timedelta(hours=rng.randrange(1, 96)),
                              rng.choice(("online", "kiosk")), index))
        if rng.random() < 0.6:
            later.append((events.MESSAGE_CONFIRMED, timedelta(hours=rng.randrange(1, 72)), None, -1))
        planned.append((at, patient, provider, user, kind, attached, later))
        written += len(later)
    planned.sort(key=lambda message: message[0])
    messages: list[tuple[Any, ...]] = []
    requests: list[tuple[Any, ...]] = []
    rows: list[tuple[datetime, tuple[Any, ...]]] = []
    for message_id, (at, patient, provider, user, kind, attached, later) in enumerate(planned, start=1):
        messages.append((message_id, patient, kind, user, provider, "x@example.com", "Sujet", "", "", "{}",
                         f"<{message_id}@bench>", "sent", 0, _stamp(at, sqlite)))
        first_request = len(requests) + 1
        requests += [(first_request + i, message_id, eform, "pending") for i, eform in enumerate(attached)]
        for event_kind, offset, channel, form in later:
            moment = at + offset
            rows.append((moment, (event_kind, _stamp(moment, sqlite), patient, message_id,
                                  first_request + form if form >= 0 else None, user, provider, channel)))
    rows.sort(key=lambda row: row[0])
    bulk_write(app, Message.__table__, MESSAGE_COLUMNS, messages)
    bulk_write(app, FormRequest.__table__, REQUEST_COLUMNS, requests)
    with _indexes_built_after(app, Event.__table__):
        written = bulk_write(app, Event.__table__, EVENT_COLUMNS, (row for _at, row in rows))
    _reset_sequence(app, Message.__table__)
    _reset_sequence(app, FormRequest.__table__)
    _campaigns(app, rng, patients, users, sqlite)
    return written


def _campaigns(app: Accueil, rng: random.Random, patients: list[int], users: list[int], sqlite: bool) -> None:
    with app.uow(write=True) as uow:
        for number in range(CAMPAIGNS):
            uow.session.add(Campaign(name=f"Campagne {number:02d}", kind="invitation", mode="email",
                                     status="started", created_by=rng.choice(users)))
        uow.commit()
    with app.uow() as uow:
        campaigns = list(uow.session.scalars(select(Campaign.id).order_by(Campaign.id)))
    recipients = []
    for number, campaign in enumerate(campaigns):
        added = YEAR_START + timedelta(days=number * 7)
        recipients += [(campaign, patient, rng.choice(("sent", "skipped", "assigned")),
                        _stamp(added + timedelta(minutes=i), sqlite))
                       for i, patient in enumerate(rng.sample(patients, RECIPIENTS))]
    bulk_write(app, CampaignRecipient.__table__, RECIPIENT_COLUMNS, recipients)


def settle(app: Accueil) -> None:
    """What a server does after a bulk load: statistics (both), and on PostgreSQL a vacuum, which
    marks the new pages all-visible so that a count can be answered from an index alone."""
    if app.engine.dialect.name == "postgresql":
        engine = app.engine.execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with app.engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()


def event_count(app: Accueil) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Event)) or 0)
