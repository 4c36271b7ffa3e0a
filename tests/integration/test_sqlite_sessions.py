"""Several SSH sessions share one SQLite file: concurrent writers queue, none fails, the chain holds."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from core import audit
from core.bootstrap import bootstrap
from core.settings import Settings


def _session_worker(settings: Settings, name: str, count: int) -> None:
    app = bootstrap(settings, actor=name)
    for n in range(count):
        with app.uow(write=True) as uow:
            audit.record(uow.session, actor=name, action="patient.view", patient_id=n)
            uow.commit()
    app.dispose()


def test_four_processes_write_one_sqlite_file(app, tmp_path: Path) -> None:
    if app.engine.dialect.name != "sqlite":
        pytest.skip("this is about the embedded SQLite file; PostgreSQL handles concurrency itself")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_session_worker, args=(app.settings, f"moa{i}", 40)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    with app.uow() as uow:
        report = audit.verify(uow.session)
    assert report.ok and report.entries == 1 + 4 * 40
