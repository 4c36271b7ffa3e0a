"""Campaign benchmark: ``python -m bench.campaign [--patients N]``.

Builds a clinic of synthetic patients (1,000,000 by default) on SQLite and, when a server is
reachable, on PostgreSQL (loaded straight through the driver by ``bench.bulk``: COPY on PostgreSQL,
then VACUUM ANALYZE as autovacuum would), then times through the services exactly as the Campaigns
screens call them:

* count: the live count of a 3-condition set (French, marketing consent, age 65 or more),
  the median of 20 runs (goal <= 200 ms);
* assign: adding by conditions to an invitation campaign the patients of one birth year among
  French speakers with email consent, the largest such set of at most 5,000 (goal <= 1 s);
* start: Start on that campaign: the consent gates, one email with its own invitation link
  per patient rendered, encrypted and queued in the outbox, the ledger, the events (goal <= 1 s);
* then, on stderr, how long that campaign's patient list takes to open (goal <= 150 ms).

Each backend's figures get a line of their own; the last line is the figure,
``count X ms; assign Y ms; start Z ms`` (the slower backend's).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date

from sqlalchemy import text

from bench.bulk import load_patients
from bench.common import BACKENDS, BENCH_TODAY, BackendUnavailable, analyze, temp_clinic
from core.bootstrap import Accueil
from core.campaigns import campaigns as cs
from core.campaigns.conditions import Condition, count_matching
from core.campaigns.recipients import assign_by_conditions, list_recipients
from core.campaigns.start import start_campaign
from core.campaigns.templates import default_invitation
from core.db.models import User

COUNT_SET = (Condition("language", "is", "fr"), Condition("marketing_consent", "is", "yes"),
             Condition("age", "ge", "65"))


def _assign_set(app: Accueil, today: date) -> tuple[Condition, ...]:
    """French speakers with email consent in an age band: the band matching the most patients
    without passing 5,000 (an addition past the limit is refused whole), as close to 5,000 as the
    data allows."""
    best: tuple[int, tuple[Condition, ...]] = (0, ())
    with app.uow() as uow:
        for low in range(20, 90):
            for high in range(low, 90):
                conditions = (Condition("language", "is", "fr"), Condition("email_consent", "is", "yes"),
                              Condition("age", "ge", str(low)), Condition("age", "le", str(high)))
                count = count_matching(uow.session, conditions, today=today)
                if count > cs.MAX_RECIPIENTS:
                    break
                if count > best[0]:
                    best = (count, conditions)
    if not best[1]:
        raise SystemExit("no condition set of at most 5,000 patients: use more patients")
    return best[1]


def settle(app: Accueil) -> None:
    """Statistics after the load; on PostgreSQL also VACUUM, which autovacuum does to any clinic's table
    soon after an import: without its visibility map no index answers a query alone."""
    if app.engine.dialect.name != "postgresql":
        analyze(app)
        return
    with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def run(backend: str, patients: int) -> tuple[float, float, float, int, int]:
    with temp_clinic(backend, actor="bench") as app:
        seconds = load_patients(app, patients)
        print(f"[{backend}] {patients:,} patients in {seconds:.0f} s", file=sys.stderr)
        with app.uow(write=True) as uow:
            uow.session.add(User(username="bench", display_name="Bench", role="administrator", can_campaigns=True))
            uow.commit()
        settle(app)
        today = BENCH_TODAY
        timings = []
        with app.uow() as uow:
            for _ in range(21):
                started = time.perf_counter()
                matching = count_matching(uow.session, COUNT_SET, today=today)
                timings.append(time.perf_counter() - started)
        count_ms = statistics.median(timings[1:]) * 1000
        conditions = _assign_set(app, today)
        template = default_invitation("fr")
        with app.uow(write=True) as uow:
            campaign_id = cs.create_campaign(uow, cs.CampaignDraft("invitation", "Bench", email_subject=template.subject,
                                                                   email_body=template.body))
        started = time.perf_counter()
        with app.uow(write=True) as uow:
            assigned = assign_by_conditions(uow, campaign_id, conditions, today=today).added
        assign_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        with app.uow(write=True) as uow:
            result = start_campaign(uow, campaign_id, settings=app.settings, cipher=app.cipher)
        start_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        with app.uow(write=True) as uow:  # as the patients screen opens it: detail, counts, first page
            cs.get_campaign(uow, campaign_id, today)
            list_recipients(uow, campaign_id, limit=50)
        open_ms = (time.perf_counter() - started) * 1000
        print(f"[{backend}] the campaign's patient list opens in {open_ms:.0f} ms (goal <= 150 ms)", file=sys.stderr)
        print(f"[{backend}] count {count_ms:.1f} ms ({matching:,} patients); assign {assign_ms:.0f} ms "
              f"({assigned:,}); start {start_ms:.0f} ms ({result.sent:,} queued, {result.skipped:,} skipped)",
              file=sys.stderr)
        return count_ms, assign_ms, start_ms, assigned, result.sent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=BACKENDS, action="append", help="default: both")
    args = parser.parse_args(argv)
    figures: list[tuple[float, float, float]] = []
    for backend in args.backend or BACKENDS:
        try:
            count_ms, assign_ms, start_ms, _assigned, _sent = run(backend, args.patients)
        except BackendUnavailable as exc:
            print(f"[{backend}] skipped: {exc}", file=sys.stderr)
            continue
        print(f"{backend}: count {count_ms:.1f} ms; assign {assign_ms:.0f} ms; start {start_ms:.0f} ms")
        figures.append((count_ms, assign_ms, start_ms))
    if not figures:
        print("no backend available")
        return 1
    count_ms, assign_ms, start_ms = (max(values) for values in zip(*figures, strict=True))
    print(f"count {count_ms:.1f} ms; assign {assign_ms:.0f} ms; start {start_ms:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
