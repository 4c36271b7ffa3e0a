"""The synthetic demo clinic (`accueil demo`): built once in its own data folder, then reused.

Everything here is fictional: patients from ``core.synthetic``, providers with licences, staff
of every support role of MS-7, appointments around today. ``insert_patients`` is also what the
benchmarks use to build a million patients quickly (Core bulk inserts, no ORM objects per row).

``DemoWorker`` runs one outbox worker in a thread of the demo process (DESIGN: "worker: started
in-process"), so a message sent in the demo lands in the local mailbox without `accueil worker`.
"""

from __future__ import annotations

import logging
import random
import shutil
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.bootstrap import Accueil, bootstrap, default_actor
from core.db.models import Appointment, ConnectedSystem, Licence, Patient, Provider, User
from core.patients.keys import fold, health_key, phone_key
from core.settings import Settings
from core.site import init_site
from core.synthetic import SyntheticPatient, synthetic_patients, synthetic_staff

DEMO_CLINIC = "Clinique synthétique du Plateau"
SUPPORT_ROLES = ("moa", "administrator", "nurse", "resident", "medical_student", "medical_assistant")

Progress = Callable[[int, int], None]


def demo_settings(base: Settings) -> Settings:
    """The demo lives in its own folder so it never mixes with a real clinic's data."""
    folder = base.resolved_data_dir() / "demo"
    # The local mailbox always: a demo never hands mail to the clinic's real relay.
    return base.with_changes(database_url=f"sqlite:///{folder / 'demo.db'}", data_dir=folder, config_dir=folder,
                             key_file=folder / "site.key", site_key=None, mail_transport="mailbox")


def demo_exists(settings: Settings) -> bool:
    return (settings.resolved_data_dir() / "demo.db").exists() and settings.resolved_key_file().exists()


def reset_demo(settings: Settings) -> None:
    folder = settings.resolved_data_dir()
    if folder.exists():
        shutil.rmtree(folder)


@dataclass(frozen=True)
class DemoSummary:
    patients: int
    providers: int
    staff: int
    appointments: int


def build_demo(settings: Settings, *, patients: int = 5000, today: date | None = None,
               progress: Progress | None = None) -> DemoSummary:
    """Create the clinic in an empty database. Deterministic for a given ``today``."""
    today = today or date.today()
    app = bootstrap(settings, require_site=False, actor="demo")
    try:
        with app.uow(write=True) as uow:
            init_site(uow, settings, name=DEMO_CLINIC, friendly_name=DEMO_CLINIC,
                      admin_email="admin@clinique-plateau.example.org")
        with app.uow(write=True) as uow:
            provider_ids, staff_count = _people(uow.session)
            uow.commit()
        done = 0
        with app.uow(write=True) as uow:
            for done in insert_patients(uow.session, synthetic_patients(patients, seed=7, today=today),
                                        provider_ids=provider_ids):
                uow.commit()
                if progress:
                    progress(done, patients)
        with app.uow(write=True) as uow:
            appointments = _appointments(uow.session, provider_ids, today)
            _connections(uow.session)
            uow.commit()
        from core.messaging.reminders import add_rule  # here: core.demo stays light for the benchmarks

        with app.uow(write=True) as uow:
            # A day-before reminder rule, so the demo's worker sends tomorrow's reminders (MS-9).
            add_rule(uow, name="La veille / The day before", days_before=1, template="Défaut - rappel de rendez-vous",
                     alt_template="Default - appointment reminder")
        return DemoSummary(done, len(provider_ids), staff_count, appointments)
    finally:
        app.dispose()


def patient_row(p: SyntheticPatient, provider_id: int | None, now: datetime) -> dict[str, object]:
    return {
        "chart_id": p.chart_id, "health_number": p.health_number, "health_province": p.health_province,
        "health_version": p.health_version or None, "health_key": health_key(p.health_number),
        "last_name": p.last_name, "first_name": p.first_name, "preferred_name": p.preferred_name,
        "last_key": fold(p.last_name), "first_key": fold(p.first_name), "date_of_birth": p.date_of_birth,
        "sex": p.sex, "language": p.language, "email": p.email, "email_consent": p.email_consent,
        "email_consent_at": p.email_consent_at, "marketing_consent": p.marketing_consent,
        "marketing_consent_at": p.marketing_consent_at, "push_enabled": p.push_enabled,
        "primary_provider_id": provider_id, "phone": p.phone, "phone_key": phone_key(p.phone),
        "postal_code": p.postal_code, "last_visit": p.last_visit, "created_at": now, "updated_at": now,
    }


def insert_patients(session: Session, patients: Iterable[SyntheticPatient], *, provider_ids: list[int],
                    batch: int = 5000) -> Iterable[int]:
    """Bulk-insert; yields the running count after each batch so the caller can commit and report."""
    now = datetime.now(UTC)
    rows: list[dict[str, object]] = []
    count = 0
    statement = insert(Patient)
    for index, patient in enumerate(patients):
        provider = provider_ids[index % len(provider_ids)] if provider_ids else None
        rows.append(patient_row(patient, provider, now))
        if len(rows) == batch:
            session.execute(statement, rows)
            count += len(rows)
            rows = []
            yield count
    if rows:
        session.execute(statement, rows)
        count += len(rows)
        yield count


def _people(session: Session) -> tuple[list[int], int]:
    """Six licensed providers, a nurse licensed as a provider, and support staff of every role."""
    people = synthetic_staff(20, seed=11)
    provider_ids: list[int] = []
    licences: list[int] = []
    for index, person in enumerate(people[:7]):
        role = "nurse" if index == 6 else "provider"
        title = "" if role == "nurse" else "Dr "
        user = User(username=_username(person.first_name, person.last_name), role=role, language=person.language,
                    display_name=f"{title}{person.first_name} {person.last_name}",
                    email=f"{_username(person.first_name, person.last_name)}@clinique-plateau.example.org")
        session.add(user)
        session.flush()
        licence = Licence(holder_user_id=user.id)
        session.add(licence)
        provider = Provider(emr_id=f"PR{100 + index}", display_name=user.display_name, user_id=user.id)
        session.add(provider)
        session.flush()
        provider_ids.append(provider.id)
        licences.append(licence.id)
    staff = 0
    # Whoever runs the demo signs in as the first English-speaking support staff member (no prompt).
    os_user = default_actor()
    front_desk = next((i for i, person in enumerate(people[7:]) if person.language == "en"), 0)
    for index, person in enumerate(people[7:]):
        role = SUPPORT_ROLES[index % len(SUPPORT_ROLES)]
        name = _username(person.first_name, person.last_name)
        # The first licences each enable up to three support staff (MS-7); the rest wait for one.
        enabled = licences[index // 3] if index < 3 * (len(licences) - 1) else None
        session.add(User(username=name, role=role, language=person.language, email=f"{name}@clinique-plateau.example.org",
                         display_name=f"{person.first_name} {person.last_name}", enabled_by_licence_id=enabled,
                         can_campaigns=role == "administrator",
                         os_user=os_user if index == front_desk else None))
        staff += 1
    session.flush()
    return provider_ids, staff


def _username(first: str, last: str) -> str:
    return (fold(first)[:1] + fold(last))[:30]


def _appointments(session: Session, provider_ids: list[int], today: date) -> int:
    """About one patient in three has an appointment in the 30 days around today."""
    rng = random.Random(13)
    kinds = ("visit", "visit", "visit", "follow_up", "vaccination", "phone")
    rows = []
    for patient_id in session.scalars(select(Patient.id).order_by(Patient.id)):
        if rng.random() > 0.33:
            continue
        day = today + timedelta(days=rng.randint(-30, 30))
        starts = datetime.combine(day, time(8, 0), tzinfo=UTC) + timedelta(minutes=15 * rng.randint(4, 40))
        rows.append({"patient_id": patient_id, "provider_id": rng.choice(provider_ids), "starts_at": starts,
                     "duration_minutes": 15, "kind": rng.choice(kinds), "location": None,
                     "status": "done" if day < today else "booked"})
    if rows:
        session.execute(insert(Appointment), rows)
    return len(rows)


def _connections(session: Session) -> None:
    """Some patients already use the patient app (a connected external system, CA-4)."""
    ids = session.scalars(select(Patient.id).where(Patient.push_enabled.is_(True)).order_by(Patient.id)).all()
    if ids:
        session.execute(insert(ConnectedSystem), [{"patient_id": i, "system": "patient_app"} for i in ids[::2]])



class DemoWorker:
    """One outbox worker (and its scheduled jobs) in a daemon thread, with its own stop event.

    ``with DemoWorker(settings):`` starts it and, on leaving, asks it to stop and waits for it:
    it finishes the message in hand, gives the rest of its batch back and closes its
    transport, so nothing is left claimed. It opens its own engine (a SQLite connection is not
    shared across threads). Its log lines (outbox ids and states, never content) go to
    ``worker.log`` in the data folder rather than the terminal, which the TUI owns.
    """

    THREAD_NAME = "accueil-demo-worker"

    def __init__(self, settings: Settings, *, idle_sleep: float = 0.5) -> None:
        self.settings = settings
        self.idle_sleep = idle_sleep
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._log_handler: logging.Handler | None = None

    def start(self) -> None:
        folder = self.settings.resolved_data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self._log_handler = logging.FileHandler(folder / "worker.log", encoding="utf-8")
        self._log_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("accueil")
        logger.addHandler(self._log_handler)
        logger.propagate = False
        self._thread = threading.Thread(target=self._run, name=self.THREAD_NAME, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from core.outbox.worker import worker_for

        app: Accueil | None = None
        try:
            app = bootstrap(self.settings, actor="demo-worker")
            worker = worker_for(app, worker_id="demo")
            self._ready.set()
            worker.run(self.stop_event, idle_sleep=self.idle_sleep)
        except BaseException as exc:  # noqa: BLE001 - kept for the caller; the demo app goes on
            self.error = exc
            logging.getLogger("accueil.outbox").error("demo worker stopped (%s)", type(exc).__name__)
        finally:
            self._ready.set()
            if app is not None:
                app.dispose()

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """True once the worker has opened the clinic (or failed to: see ``error``)."""
        return self._ready.wait(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> bool:
        """Ask the worker to stop and wait for it; True when the thread has ended."""
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._log_handler is not None:
            logger = logging.getLogger("accueil")
            logger.removeHandler(self._log_handler)
            logger.propagate = True
            self._log_handler.close()
            self._log_handler = None
        return not self.running

    def __enter__(self) -> DemoWorker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
