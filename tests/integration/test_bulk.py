"""core.db.bulk on both backends: what the bulk helpers write reads back exactly as insert() would
have written it (UTC datetimes, JSON, Python-side defaults, rows naming different columns), updates touch only the rows they name, and a clash of "new" outbox keys fails the whole
statement instead of adding half of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Table, func, insert, select
from sqlalchemy.exc import IntegrityError

from core.bootstrap import Accueil
from core.db.bulk import insert_rows, next_ids, update_rows
from core.db.models import Event, OutboxItem, Patient
from core.outbox.queue import OutboxRequest, enqueue_many
from tests.integration.test_outbox import add_patient

EVENTS = cast(Table, Event.__table__)
OUTBOX = cast(Table, OutboxItem.__table__)
PATIENTS = cast(Table, Patient.__table__)
AT = datetime(2026, 3, 1, 14, 30, 15, 123456, tzinfo=UTC)


def _events(app: Accueil, kind: str) -> list[Any]:
    with app.uow() as uow:
        return list(uow.session.execute(
            select(Event.kind, Event.at, Event.patient_id, Event.channel, Event.detail)
            .where(Event.kind == kind).order_by(Event.id)).all())


def test_insert_rows_reads_back_as_insert_would(app: Accueil) -> None:
    with app.uow(write=True) as uow:
        patient = add_patient(uow.session, 1)
        rows: list[dict[str, Any]] = [
            {"kind": "campaign.sent", "at": AT, "patient_id": patient, "channel": "email"},
            {"kind": "campaign.skipped", "at": AT, "patient_id": patient, "detail": {"reason": "no_email", "n": 2}},
        ]
        insert_rows(uow.session, EVENTS, [dict(row) for row in rows])
        # The same rows through SQLAlchemy's own insert, one at a time, under other kinds to compare.
        for row in rows:
            uow.session.execute(insert(EVENTS), {**row, "kind": "form.sent" if "detail" not in row else
                                                 "message.sent"})
        uow.commit()
    bulk = _events(app, "campaign.sent") + _events(app, "campaign.skipped")
    plain = _events(app, "form.sent") + _events(app, "message.sent")
    assert [row[1:] for row in bulk] == [row[1:] for row in plain]
    assert bulk[0].at == AT and bulk[0].at.tzinfo is not None
    assert bulk[0].detail is None and bulk[1].channel is None  # a column a row leaves out is NULL
    assert bulk[1].detail == {"reason": "no_email", "n": 2}


def test_insert_rows_applies_python_defaults(app: Accueil) -> None:
    with app.uow(write=True) as uow:
        message_ids = next_ids(uow.session, OUTBOX, 2)
        assert message_ids[1] == message_ids[0] + 1
        insert_rows(uow.session, OUTBOX, [
            {"id": message_ids[0], "kind": "email", "idempotency_key": "k:1", "payload": {"raw": "é"}},
            {"id": message_ids[1], "kind": "push", "idempotency_key": "k:2", "payload": {"n": [1, 2]}}])
        uow.commit()
    with app.uow() as uow:
        items = uow.session.execute(select(OutboxItem.id, OutboxItem.state, OutboxItem.attempts, OutboxItem.payload,
                                           OutboxItem.created_at, OutboxItem.next_try_at)
                                    .order_by(OutboxItem.id)).all()
    assert [item.id for item in items] == message_ids
    assert [(item.state, item.attempts, item.payload) for item in items] == [
        ("pending", 0, {"raw": "é"}), ("pending", 0, {"n": [1, 2]})]
    assert all(item.created_at.tzinfo is not None and item.next_try_at is not None for item in items)


def test_update_rows_changes_only_the_rows_named_and_honours_where(app: Accueil) -> None:
    with app.uow(write=True) as uow:
        ids = [add_patient(uow.session, n) for n in range(4)]
        uow.session.execute(PATIENTS.update().where(PATIENTS.c.id == ids[1]).values(portal_reference="KEEPME0001"))
        changed = update_rows(uow.session, PATIENTS, "id", [
            {"id": ids[0], "portal_reference": "NEWREF0000"}, {"id": ids[1], "portal_reference": "NEWREF0001"}],
            where="patients.portal_reference IS NULL")
        uow.commit()
    assert changed == 1
    with app.uow() as uow:
        found = dict(uow.session.execute(select(Patient.id, Patient.portal_reference).where(Patient.id.in_(ids))).all())
    assert found == {ids[0]: "NEWREF0000", ids[1]: "KEEPME0001", ids[2]: None, ids[3]: None}


def test_enqueue_many_with_new_keys_fails_whole_on_a_clash(app: Accueil) -> None:
    with app.uow(write=True) as uow:
        first = enqueue_many(uow.session, [OutboxRequest("email", {"n": n}, f"clash:{n}") for n in range(3)],
                             new_keys=True)
        uow.commit()
    assert len(set(first)) == 3
    with pytest.raises(IntegrityError), app.uow(write=True) as uow:
        enqueue_many(uow.session, [OutboxRequest("email", {"n": n}, f"clash:{n}") for n in (3, 4, 2)], new_keys=True)
        uow.commit()
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxItem)) == 3
    # Without new_keys the same requests are idempotent: the existing item's id comes back.
    with app.uow(write=True) as uow:
        again = enqueue_many(uow.session, [OutboxRequest("email", {"n": n}, f"clash:{n}") for n in (3, 2)])
        uow.commit()
    assert again[1] == first[2] and again[0] not in first
