"""Concurrent changes of the custom From address on PostgreSQL: the Site row is locked while read.

SQLite serialises writers with BEGIN IMMEDIATE, so these races only exist on PostgreSQL; the
tests hold the Site row in one transaction, start the other change in a thread, wait until the
server reports it waiting on a lock, then let the first one commit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select, text

from core.db.models import Site
from core.errors import InvalidInput
from core.sender import approval
from core.users import add_user


def _pending(app, address: str) -> None:
    with app.uow(write=True) as uow:
        add_user(uow, username="opal", display_name="Opal Côté", role="operator", password=None)
    with app.uow(write=True) as uow:
        site = uow.session.scalars(select(Site)).one()
        site.custom_from_address, site.custom_from_state = address, approval.PENDING
        uow.commit()


def _wait_for_lock_waiter(app) -> None:
    deadline = time.monotonic() + 30
    with app.engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")).scalar_one()
            if waiting:
                return
            connection.rollback()
            time.sleep(0.01)
    raise AssertionError("the concurrent change never waited on the Site row")


def _in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:  # noqa: BLE001 - handed to the test body
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_an_address_submitted_meanwhile_is_never_approved_unseen(app) -> None:
    if app.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises the two writers with BEGIN IMMEDIATE")
    _pending(app, "accueil@vert.example")
    with app.uow(write=True) as holder:
        site = holder.session.scalars(select(Site).with_for_update()).one()
        site.custom_from_address = "autre@ailleurs.example"  # another address, submitted meanwhile
        holder.session.flush()

        def decide() -> str:
            with app.uow(write=True) as uow:
                return approval.decide(uow, "accueil@vert.example", operator="opal", approve=True)

        thread, outcome = _in_thread(decide)
        _wait_for_lock_waiter(app)
        holder.commit()
    thread.join()
    assert isinstance(outcome[0], InvalidInput)
    with app.uow() as uow:
        site = uow.session.scalars(select(Site)).one()
        assert (site.custom_from_address, site.custom_from_state) == ("autre@ailleurs.example", "pending")

