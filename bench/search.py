"""PT-2 search benchmark: ``python -m bench.search [--patients N]``.

Builds a clinic of synthetic patients (1,000,000 by default) on SQLite and, when a server is
reachable, on PostgreSQL, then times front-desk queries through ``search_patients`` exactly as the
app calls it: one read-only unit of work held open, ``limit=50``, the whole call under
``time.perf_counter``. The query mix is drawn with a fixed seed from the generated patients: last
names typed letter by letter, ``last, first``, accented and upper-case names, Ontario and RAMQ
health numbers (whole and partial), chart IDs, phone digits, birth dates (ISO and DD/MM/YYYY) and a
few queries that match nobody. Goal: p95 <= 2 ms on SQLite, <= 5 ms on PostgreSQL. The last line
is the figure: ``search p95 sqlite=X ms postgres=Y ms``.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.common import (
    BACKENDS,
    BENCH_TODAY,
    BackendUnavailable,
    add_patients,
    analyze,
    percentile,
    temp_clinic,
)
from core.bootstrap import Accueil
from core.patients.search import search_patients
from core.synthetic import SyntheticPatient, fold, synthetic_patients

PATIENT_SEED = 7
QUERY_SEED = 20260101
WARMUP = 50
GOAL_MS = {"sqlite": 2.0, "postgres": 5.0}
NO_MATCH = "no match"


@dataclass(frozen=True, slots=True)
class Query:
    form: str
    text: str


# --- the query mix --------------------------------------------------------------------------------

def _letters_prefix(name: str, letters: int) -> str:
    """The first characters of ``name`` as typed until ``letters`` letters are in (keeps "d'", "st-")."""
    typed = 0
    for end, char in enumerate(name, start=1):
        typed += char.isalpha()
        if typed == letters:
            return name[:end]
    return name


def _typed_name(rng: random.Random, p: SyntheticPatient) -> list[Query]:
    """'c', 'co', 'cot', 'cote': every keystroke of a 2-8 letter last-name prefix is a query."""
    name = p.last_name.lower() if rng.random() < 0.5 else fold(p.last_name)
    target = min(rng.randint(2, 8), sum(c.isalpha() for c in name))
    return [Query("name typed", _letters_prefix(name, k).rstrip()) for k in range(1, target + 1)]


def _last_first(rng: random.Random, p: SyntheticPatient) -> list[Query]:
    last = fold(p.last_name)
    if rng.random() < 0.4:
        last = last[: rng.randint(3, 6)]
    first = fold(p.first_name)[: rng.randint(1, 4)]
    return [Query("last, first", f"{last}, {first}" if rng.random() < 0.7 else f"{last},{first}")]


def _accented(rng: random.Random, p: SyntheticPatient) -> list[Query]:
    choice = rng.randrange(3)
    if choice == 0:
        return [Query("accents/caps", p.last_name.upper())]  # 'CÔTÉ'
    if choice == 1:
        return [Query("accents/caps", p.last_name)]  # 'Côté'
    return [Query("accents/caps", f"{p.last_name.upper()}, {_letters_prefix(p.first_name, 3).upper()}")]


def _health_on(rng: random.Random, p: SyntheticPatient) -> list[Query]:
    number = p.health_number  # '1234 567 890'
    choice = rng.randrange(4)
    if choice == 0:
        return [Query("health ON", number)]
    if choice == 1:
        return [Query("health ON", f"{number} {p.health_version or 'AB'}")]
    if choice == 2:
        return [Query("health ON", number.replace(" ", ""))]
    digits = rng.randint(4, 9)
    return [Query("health ON", _digits_prefix(number, digits))]


def _health_qc(rng: random.Random, p: SyntheticPatient) -> list[Query]:
    number = p.health_number  # 'TREM 8005 1212'
    choice = rng.randrange(4)
    if choice == 0:
        return [Query("health QC", number)]
    if choice == 1:
        return [Query("health QC", number.replace(" ", "").lower())]
    return [Query("health QC", number[: rng.randint(6, 12)].rstrip())]  # 'TREM 80', 'TREM 8005 1'


def _chart(rng: random.Random, p: SyntheticPatient) -> list[Query]:
    if rng.random() < 0.75:
        return [Query("chart", p.chart_id)]
    return [Query("chart", p.chart_id[: rng.randint(4, len(p.chart_id) - 1)])]


def _phone(rng: random.Random, p: SyntheticPatient) -> list[Query]:
    assert p.phone is not None
    if rng.random() < 0.25:
        return [Query("phone", p.phone)]  # '514-555-0101'
    return [Query("phone", _digits_prefix(p.phone, rng.randint(3, 10)))]


def _dob_iso(rng: random.Random, p: SyntheticPatient) -> list[Query]:
    assert p.date_of_birth is not None
    return [Query("dob ISO", p.date_of_birth.isoformat())]


def _dob_dmy(rng: random.Random, p: SyntheticPatient) -> list[Query]:
    assert p.date_of_birth is not None
    return [Query("dob DD/MM/YYYY", p.date_of_birth.strftime("%d/%m/%Y"))]


def _no_match(rng: random.Random, p: SyntheticPatient) -> list[Query]:
    choice = rng.randrange(5)
    if choice == 0:
        text = rng.choice(["zyxw", "qqq", "xavierovski", "Wąsowski", "ZZTOP"])
    elif choice == 1:  # a real last name with a first name nobody has: the whole name range is read
        text = f"{fold(p.last_name)}, {rng.choice(['zzz', 'qx', 'xyq'])}"
    elif choice == 2:
        text = rng.choice(["1899-01-01", "31/12/1890", "2099-06-30"])
    elif choice == 3:
        text = rng.choice(["ZZZZ 9999 9999", "QQQQ 1234"])
    else:
        text = rng.choice(["X-00000", "Z9-123"])
    return [Query(NO_MATCH, text)]


def _digits_prefix(text: str, digits: int) -> str:
    seen = 0
    for end, char in enumerate(text, start=1):
        seen += char.isdigit()
        if seen == digits:
            return text[:end]
    return text


Form = Callable[[random.Random, SyntheticPatient], list[Query]]
# (form, weight, which patients it can use); weights are per action, a typed name gives several queries.
_FORMS: tuple[tuple[Form, int, Callable[[SyntheticPatient], bool]], ...] = (
    (_typed_name, 20, lambda p: True),
    (_last_first, 12, lambda p: True),
    (_accented, 6, lambda p: not (p.last_name + p.first_name).isascii()),
    (_health_on, 9, lambda p: p.health_province == "ON"),
    (_health_qc, 9, lambda p: p.health_province == "QC"),
    (_chart, 9, lambda p: True),
    (_phone, 9, lambda p: p.phone is not None),
    (_dob_iso, 5, lambda p: p.date_of_birth is not None),
    (_dob_dmy, 5, lambda p: p.date_of_birth is not None),
    (_no_match, 4, lambda p: True),
)


FORM_ORDER = ["name typed", "last, first", "accents/caps", "health ON", "health QC", "chart", "phone", "dob ISO",
              "dob DD/MM/YYYY", NO_MATCH]


def sample_patients(n: int, k: int, *, seed: int) -> list[SyntheticPatient]:
    """``k`` patients picked at random (fixed seed) among the ``n`` the bench inserts."""
    wanted = set(random.Random(seed).sample(range(n), min(k, n)))
    return [p for i, p in enumerate(synthetic_patients(n, seed=PATIENT_SEED, today=BENCH_TODAY)) if i in wanted]


def query_mix(patients: list[SyntheticPatient], count: int, *, seed: int) -> list[Query]:
    rng = random.Random(seed)
    forms = [form for form, _, _ in _FORMS]
    weights = [weight for _, weight, _ in _FORMS]
    pools = {form: [p for p in patients if fits(p)] or patients for form, _, fits in _FORMS}
    queries: list[Query] = []
    while len(queries) < count:
        form = rng.choices(forms, weights)[0]
        queries.extend(form(rng, rng.choice(pools[form])))
    return queries[:count]


# --- timing ---------------------------------------------------------------------------------------

@dataclass
class Timings:
    by_form: dict[str, list[float]]
    cpu_by_form: dict[str, list[float]]  # this thread's CPU time: unaffected by other busy processes
    empty: dict[str, int]

    @property
    def all_ms(self) -> list[float]:
        return [t for values in self.by_form.values() for t in values]


def time_queries(app: Accueil, warmup: list[Query], queries: list[Query]) -> Timings:
    timings = Timings({}, {}, {})
    with app.uow() as uow:  # one session held open, as a front-desk screen does
        for query in warmup:
            search_patients(uow.session, query.text, limit=50)
        gc.collect()
        for query in queries:
            started, cpu_started = time.perf_counter(), time.thread_time()
            page = search_patients(uow.session, query.text, limit=50)
            elapsed_ms = (time.perf_counter() - started) * 1000
            timings.cpu_by_form.setdefault(query.form, []).append((time.thread_time() - cpu_started) * 1000)
            timings.by_form.setdefault(query.form, []).append(elapsed_ms)
            timings.empty[query.form] = timings.empty.get(query.form, 0) + (not page.rows)
    return timings


def report(backend: str, timings: Timings, load: float) -> float:
    goal = GOAL_MS[backend]
    cpus = os.cpu_count() or 1
    busy = "  (busy machine: timings include waiting for the CPU)" if load > cpus * 0.75 else ""
    print(f"{backend}: load average {load:.1f} on {cpus} CPUs while timing{busy}")
    # "cpu p95" is the client's own CPU time: on SQLite all the work, on PostgreSQL without the server's.
    print(f"{backend}: {'form':<16} {'queries':>7} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'cpu p95':>7}  empty")
    for form in sorted(timings.by_form, key=FORM_ORDER.index):
        values = timings.by_form[form]
        empty = timings.empty[form]
        # Every query except the no-match ones comes from a real patient, so an empty page is a bug.
        flag = "" if form == NO_MATCH or not empty else "  <- should have matched"
        slow = "  <- over goal" if percentile(values, 95) > goal else ""
        print(f"{backend}: {form:<16} {len(values):>7} {percentile(values, 50):>7.2f} {percentile(values, 95):>7.2f}"
              f" {max(values):>7.1f} {percentile(timings.cpu_by_form[form], 95):>7.2f}  {empty:>5}{flag}{slow}")
    overall = percentile(timings.all_ms, 95)
    cpu = percentile([t for values in timings.cpu_by_form.values() for t in values], 95)
    verdict = "ok" if overall <= goal else "MISSED"
    print(f"{backend}: overall p95 {overall:.2f} ms over {len(timings.all_ms)} queries (goal <= {goal:g} ms): {verdict};"
          f" client cpu p95 {cpu:.2f} ms")
    return overall


def run_backend(backend: str, patients: int, warmup: list[Query], queries: list[Query],
                icu_locale: str | None = None) -> float | None:
    try:
        with temp_clinic(backend, actor="bench-search", icu_locale=icu_locale) as app:
            seconds = add_patients(app, patients, seed=PATIENT_SEED)
            started = time.perf_counter()
            analyze(app)
            print(f"{backend}: built {patients:,} patients in {seconds:.1f} s, ANALYZE {time.perf_counter() - started:.1f} s",
                  flush=True)
            timings = time_queries(app, warmup, queries)
            p95 = report(backend, timings, os.getloadavg()[0])
            sys.stdout.flush()
            return p95
    except BackendUnavailable as exc:
        print(f"{backend} skipped: {exc}", flush=True)
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000, help="patients to build (default 1,000,000)")
    parser.add_argument("--queries", type=int, default=2000, help="timed queries (default 2,000)")
    parser.add_argument("--backend", choices=(*BACKENDS, "both"), default="both")
    parser.add_argument("--postgres-icu-locale", metavar="LOCALE",
                        help="create the PostgreSQL database with this ICU collation (e.g. fr-CA) instead of the default")
    args = parser.parse_args(argv)

    sample = sample_patients(args.patients, 1000, seed=QUERY_SEED)
    queries = query_mix(sample, args.queries, seed=QUERY_SEED)
    warmup = query_mix(sample, WARMUP, seed=QUERY_SEED + 1)
    print(f"{len(queries)} queries ({WARMUP} warm-up) over {args.patients:,} synthetic patients, limit=50", flush=True)
    results: dict[str, float | None] = {}
    for backend in BACKENDS:
        wanted = args.backend in (backend, "both")
        results[backend] = run_backend(backend, args.patients, warmup, queries, args.postgres_icu_locale) \
            if wanted else None
    figures = " ".join(f"{b}={'n/a' if results[b] is None else f'{results[b]:.1f} ms'}" for b in BACKENDS)
    print(f"search p95 {figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
