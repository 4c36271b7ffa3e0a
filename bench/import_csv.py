"""Bench PT-3: import a synthetic EMR export of N patients (default 100,000) into a fresh SQLite clinic.

Run ``python -m bench.import_csv [--rows N]``. The CSV (English headers, ``,``, UTF-8) is built from
``core.synthetic.synthetic_patients`` in a temporary folder, outside the timing; the figure is the
wall time of ``import_patients_csv`` alone (decoding, validation, writes, audit). Target: 100,000 rows
in at most 10 s on a 2-core machine. The last line printed is the figure.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

from core.bootstrap import Accueil, bootstrap
from core.patients.importer import import_patients_csv
from core.settings import Settings
from core.site import init_site
from core.synthetic import synthetic_patients

BENCH_SITE_KEY = "Synthetic-Bench-Key-42!"
HEADER = ["Chart ID", "Last Name", "First Name", "Preferred Name", "Date of Birth", "Sex", "Language",
          "Health Number", "Province", "Version", "Email", "Email Consent", "Marketing Consent", "Phone",
          "Postal Code", "Last Visit"]


def write_export(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for p in synthetic_patients(rows, seed=7):
            writer.writerow([
                p.chart_id, p.last_name, p.first_name, p.preferred_name or "", p.date_of_birth.isoformat(), p.sex,
                p.language, p.health_number, p.health_province, p.health_version, p.email or "",
                "yes" if p.email_consent else "no", "yes" if p.marketing_consent else "no", p.phone or "",
                p.postal_code or "", p.last_visit.isoformat() if p.last_visit else "",
            ])


def fresh_clinic(folder: Path) -> Accueil:
    settings = Settings(database_url=f"sqlite:///{folder / 'accueil.db'}", data_dir=folder / "data",
                        config_dir=folder / "config", site_key=BENCH_SITE_KEY)
    setup = bootstrap(settings, require_site=False, actor="bench")
    with setup.uow(write=True) as uow:
        init_site(uow, settings, name="Clinique synthétique (banc d'essai)")
    setup.dispose()
    return bootstrap(settings, actor="bench")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="patients in the export (default 100000)")
    parser.add_argument("--reimport", action="store_true", help="also time importing the same file again (updates)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="accueil-bench-import-") as tmp:
        folder = Path(tmp)
        export = folder / "export.csv"
        write_export(export, args.rows)
        size = export.stat().st_size
        app = fresh_clinic(folder)
        try:
            started, cpu = time.perf_counter(), time.process_time()
            result = import_patients_csv(app, export)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            if args.reimport:
                started = time.perf_counter()
                again = import_patients_csv(app, export)
                print(f"re-import: updated {again.updated} rows in {time.perf_counter() - started:.2f} s")
        finally:
            app.dispose()
    print(f"file: {size / 1e6:.1f} MB, encoding {result.encoding}, delimiter '{result.delimiter}'")
    print(f"inserted {result.inserted}, updated {result.updated}, rejected {result.rejected}; "
          f"process CPU {cpu:.2f} s, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"import {result.rows} rows in {elapsed:.2f} s")


if __name__ == "__main__":
    main()
