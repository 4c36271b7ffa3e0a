"""`accueil` on the command line: open the app, or run one task for a script or the IT person.

Imports stay inside the commands: opening the terminal app must not pay for SQLAlchemy or
Alembic before the first screen is drawn. Every error a user can act on ends as one line on
stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accueil import operations_cli as operations
from accueil.cli_support import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE
from accueil.cli_support import input_error as _input_error
from accueil.cli_support import opened as _opened
from accueil.cli_support import progress_bar as _progress_bar

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.settings import Settings



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="accueil", description="Front desk for Canadian medical clinics.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser("demo", help="build (once) and open the synthetic demo clinic")
    demo.add_argument("--patients", type=int, default=5000, help="how many synthetic patients (default 5000)")
    demo.add_argument("--reset", action="store_true", help="throw the demo clinic away and build it again")
    demo.add_argument("--headless", action="store_true", help="build the demo clinic and exit")

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", metavar="ACTION",
                                                                          required=True)
    db.add_parser("upgrade", help="migrate the database to this version's schema")
    db.add_parser("status", help="show the schema version")

    site = commands.add_parser("site", help="the clinic account").add_subparsers(dest="site_command",
                                                                                 metavar="ACTION", required=True)
    init = site.add_parser("init", help="set up the clinic in a new database (creates the site key if needed)")
    init.add_argument("--name", required=True, help="the clinic's name")
    init.add_argument("--admin-email", help="clinical administrator / support contact email")
    from accueil.site_cli import add_parsers as add_site_parsers

    add_site_parsers(site)

    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(dest="audit_command",
                                                                               metavar="ACTION", required=True)
    audit.add_parser("verify", help="check the audit trail's hash chain")

    patients = commands.add_parser("patients", help="patients").add_subparsers(dest="patients_command",
                                                                              metavar="ACTION", required=True)
    imp = patients.add_parser("import", help="import an EMR export (CSV)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--report", type=Path, help="where to write the row-numbered problem report (CSV)")
    search = patients.add_parser("search", help="search patients as the Patients screen does")
    search.add_argument("text")
    search.add_argument("--json", action="store_true", help="one JSON array on stdout")
    search.add_argument("--limit", type=int, default=50)

    user = commands.add_parser("user", help="staff accounts").add_subparsers(dest="user_command", metavar="ACTION",
                                                                         required=True)
    add = user.add_parser("add", help="create a staff account")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="name as shown to colleagues and patients")
    add.add_argument("--role", required=True, help="provider, nurse, moa, administrator, resident, medical_student, "
                                                   "medical_assistant or operator")
    add.add_argument("--email")
    add.add_argument("--language", default="en", choices=("en", "fr"))
    add.add_argument("--os-user", help="the SSH/OS user that signs in as this account without a password")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    passwd = user.add_parser("passwd", help="set a staff member's password")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    disable = user.add_parser("disable", help="stop a staff account from signing in")
    disable.add_argument("username")
    campaigns = user.add_parser("campaigns", help="give (or with --off take away) the Campaigns permission")
    campaigns.add_argument("username")
    campaigns.add_argument("--off", action="store_true", help="take the permission away")

    message = commands.add_parser("message", help="secure messages").add_subparsers(dest="message_command",
                                                                                   metavar="ACTION", required=True)
    send = message.add_parser("send", help="send a template to one patient (for EMR integrations and scripts)")
    send.add_argument("--patient", required=True, metavar="CHART", help="the patient's chart ID")
    send.add_argument("--template", required=True, metavar="NAME", help="the template's name")
    who = send.add_mutually_exclusive_group(required=True)
    who.add_argument("--as", dest="as_user", metavar="USERNAME", help="send as this Accueil account")
    who.add_argument("--as-emr-user", metavar="NAME", help="send for an EMR user who has no Accueil account")

    worker = commands.add_parser("worker", help="deliver the outbox (email) until stopped")
    worker.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    worker.add_argument("--batch", type=int, default=50, help="items claimed at a time")

    portal = commands.add_parser("portal", help="serve the patient portal (the page behind each secure link)")
    portal.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    portal.add_argument("--port", type=int, help="port (default: the one in portal_base_url)")

    commands.add_parser("settings", help="list every setting with its current value and meaning")
    operations.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    # Plain `accueil` opens the app: building the whole parser (argparse asks gettext for every
    # help string) would only delay the first screen.
    args = build_parser().parse_args(arguments) if arguments else argparse.Namespace(command=None)
    from core.errors import AccueilError
    from core.settings import SettingsError, load_settings

    try:
        settings = load_settings()
        handler = _HANDLERS.get(args.command or "open")
        return handler(settings, args)  # type: ignore[misc]
    except SettingsError as exc:
        return _fail(f"Settings: {exc.message}")
    except AccueilError as exc:
        return _fail(exc.message)
    except KeyboardInterrupt:
        return _fail("Interrupted.")
    except BrokenPipeError:  # `accueil patients search … | head`: the reader has gone, not an error
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:
        return _fail(f"{exc.strerror or exc} ({exc.filename})" if exc.filename else str(exc))
    except Exception as exc:  # noqa: BLE001 - a database error mid-command: one line, no parameters
        if type(exc).__module__.startswith("sqlalchemy"):
            # The driver's first line only: PostgreSQL's DETAIL line can quote the row's values.
            reason = str(getattr(exc, "orig", None) or type(exc).__name__).strip().splitlines()[0][:200]
            return _fail(f"The database refused the operation ({reason}). Nothing was changed; try again.")
        raise


def _fail(message: str) -> int:
    print(f"accueil: {message}", file=sys.stderr)
    return EXIT_UNUSABLE


# -- commands -------------------------------------------------------------------------


def _open(settings: Settings, _args: argparse.Namespace) -> int:
    return _run_app(settings)


def _run_app(settings: Settings) -> int:
    from tui.app import AccueilApp

    def opener() -> Accueil:
        from core.bootstrap import bootstrap

        return bootstrap(settings)

    app = AccueilApp(settings, opener=opener)
    app.run()
    if app.startup_error:
        return _fail(app.startup_error)
    return app.return_code or EXIT_OK


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from core.demo import DemoWorker, build_demo, demo_exists, demo_settings, reset_demo

    demo = demo_settings(settings)
    if args.reset:
        reset_demo(demo)
    if not demo_exists(demo):
        if args.patients < 1:
            return _fail("--patients must be at least 1")
        print(f"Building the demo clinic in {demo.resolved_data_dir()} …", file=sys.stderr)
        summary = build_demo(demo, patients=args.patients, progress=_progress_bar("patients"))
        print(f"Demo clinic ready: {summary.patients} patients, {summary.providers} providers, "
              f"{summary.staff} support staff, {summary.appointments} appointments.", file=sys.stderr)
    if args.headless:
        return EXIT_OK
    portal = _start_demo_portal(demo)
    try:
        with DemoWorker(demo):  # messages sent in the demo reach its local mailbox; stopped on exit
            return _run_app(demo)
    finally:
        if portal is not None:
            portal.stop()


def _start_demo_portal(demo: Settings) -> Any:
    """The demo serves its portal on 127.0.0.1 in a thread, so links in the local mailbox open."""
    from core.bootstrap import bootstrap
    from portal.server import ThreadedServer, default_port

    try:
        return ThreadedServer(bootstrap(demo, actor="patient-portal"), "127.0.0.1",
                              default_port(demo.portal_base_url), dispose=True).start()
    except OSError as exc:
        print(f"The demo portal is not running: {exc}.", file=sys.stderr)
        return None


def _db(settings: Settings, args: argparse.Namespace) -> int:
    from core.db import schema
    from core.db.engine import make_engine

    url = settings.resolved_database_url()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        from sqlalchemy.exc import OperationalError

        try:
            if args.db_command == "status":
                print(f"schema {schema.schema_state(engine)} "
                      f"(database {schema.current_revision(engine) or 'empty'}, code {schema.HEAD})")
                return EXIT_OK
            before = schema.upgrade(engine)
        except OperationalError as exc:
            from core.bootstrap import DatabaseUnreachable, _short_reason

            raise DatabaseUnreachable(f"Cannot reach the database ({_short_reason(exc)}).") from None
        print("schema already current" if before == "current" else f"schema upgraded to {schema.HEAD}")
        return EXIT_OK
    finally:
        engine.dispose()


def _site(settings: Settings, args: argparse.Namespace) -> int:
    from core.bootstrap import bootstrap
    from core.site import init_site

    if args.site_command != "init":
        from accueil.site_cli import run

        return run(settings, args)

    app = bootstrap(settings, require_site=False)
    try:
        with app.uow(write=True) as uow:
            setup = init_site(uow, settings, name=args.name, admin_email=args.admin_email)
    finally:
        app.dispose()
    if setup.key_created:
        print(f"A new site encryption key was written to {settings.resolved_key_file()} (mode 600). "
              "Keep a copy in the clinic's safe: without it the encrypted data cannot be read.")
    print("Clinic set up.")
    return EXIT_OK


def _audit(settings: Settings, _args: argparse.Namespace) -> int:
    from core import audit

    with _opened(settings) as app, app.uow() as uow:
        report = audit.verify(uow.session)
    if report.ok:
        print(f"audit trail intact: {report.entries} entries")
        return EXIT_OK
    print(f"audit trail BROKEN at entry {report.first_broken_id}: {report.reason} "
          f"({report.entries} entries verified before it)", file=sys.stderr)
    return EXIT_FAILED


def _patients(settings: Settings, args: argparse.Namespace) -> int:
    if args.patients_command == "import":
        return _patients_import(settings, args)
    return _patients_search(settings, args)


def _patients_import(settings: Settings, args: argparse.Namespace) -> int:
    from core.patients.importer import import_patients_csv, write_problem_report

    with _opened(settings) as app:
        result = import_patients_csv(app, args.file, progress=_progress_bar("rows"))
    print(f"{result.rows} rows read ({result.encoding}, '{result.delimiter}'): {result.inserted} added, "
          f"{result.updated} updated, {result.rejected} rejected.")
    if result.problems:
        report = args.report or args.file.with_name(args.file.stem + ".problems.csv")
        write_problem_report(result, report)
        for problem in result.problems[:10]:
            column = f", column {problem.column}" if problem.column else ""
            print(f"  row {problem.row}{column}: {problem.message}")
        if len(result.problems) > 10:
            print(f"  … {len(result.problems) - 10} more")
        print(f"Problem report: {report}")
    return EXIT_FAILED if result.rejected else EXIT_OK


def _patients_search(settings: Settings, args: argparse.Namespace) -> int:
    from core import audit
    from core.patients.search import search_patients

    with _opened(settings) as app, app.uow(write=True) as uow:
        page = search_patients(uow.session, args.text, limit=args.limit)
        audit.record_many(uow.session, actor=app.actor, action="patient.list",
                          entries=[(row.id, {"via": "cli-search"}) for row in page.rows])
        uow.commit()
    if args.json:
        print(json.dumps([_plain(row) for row in page.rows], ensure_ascii=False, indent=1))
        return EXIT_OK
    for row in page.rows:
        name = f"{row.last_name.upper()}, {row.first_name}"
        print(f"{row.chart_id:<10} {name:<40} {str(row.date_of_birth or ''):<10} {row.health_number or ''}")
    more = " (more: refine the search)" if page.next_cursor else ""
    print(f"{len(page.rows)} patients{more}", file=sys.stderr)
    return EXIT_OK


def _user(settings: Settings, args: argparse.Namespace) -> int:
    from core import users

    password = _read_password(args) if args.user_command in ("add", "passwd") else None
    with _opened(settings) as app, app.uow(write=True) as uow:
        if args.user_command == "add":
            member = users.add_user(uow, username=args.username, display_name=args.name, role=args.role,
                                    password=password, email=args.email, language=args.language,
                                    os_user=args.os_user)
            print(f"User {member.username} added ({member.role}).")
        elif args.user_command == "passwd":
            users.set_password(uow, args.username, password or "")
            print("Password changed.")
        elif args.user_command == "campaigns":
            from core.campaigns.campaigns import set_permission

            set_permission(uow, args.username, not args.off)
            print(f"User {args.username} {'can no longer' if args.off else 'can now'} use campaigns.")
        else:
            users.disable_user(uow, args.username)
            print(f"User {args.username} can no longer sign in.")
    return EXIT_OK


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        if args.user_command == "add":
            return None  # an account without a password signs in only through its OS user
        raise _input_error("No terminal to ask for the password: use --password-stdin.")
    import getpass

    first = getpass.getpass("New password: ")
    if first != getpass.getpass("Again: "):
        raise _input_error("The two passwords differ.")
    return first


def _message(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from core.db.models import Patient, User
    from core.errors import NotFound
    from core.messaging.compose import Draft, send_draft
    from core.messaging.templates import find_template

    with _opened(settings) as app, app.uow(write=True) as uow:
        template = find_template(uow.session, args.template)
        patient_id = uow.session.scalar(select(Patient.id).where(Patient.chart_id == args.patient))
        if patient_id is None:
            raise NotFound(f"No patient with chart ID {args.patient}.")
        sender_id = None
        if args.as_user:
            sender_id = uow.session.scalar(select(User.id).where(User.username == args.as_user.lower()))
            if sender_id is None:
                raise NotFound(f"No user named '{args.as_user}'.")
        draft = Draft(patient_ids=(patient_id,), subject=template.subject, salutation=template.salutation,
                      body_html=template.body_html, secure_message=template.secure_message,
                      eform_codes=template.eform_codes, options=template.options, kind=template.kind,
                      template_id=template.id, sender_user_id=sender_id, sender_emr_name=args.as_emr_user)
        result = send_draft(uow, draft, settings=app.settings, cipher=app.cipher)
    if result.skipped:
        print(f"Not sent: {result.skipped[0].reason.replace('_', ' ')}.", file=sys.stderr)
        return EXIT_FAILED
    print(f"Queued message {result.message_ids[0]}; the worker sends it.")
    return EXIT_OK


def _worker(_settings: Settings, args: argparse.Namespace) -> int:
    from core.outbox.worker import main as run_worker

    return run_worker(["--batch", str(args.batch)] + (["--once"] if args.once else []))


def _portal(settings: Settings, args: argparse.Namespace) -> int:
    from portal.server import default_port, serve

    with _opened(settings) as app:
        port = args.port or default_port(settings.portal_base_url)
        print(f"Patient portal on http://{args.host}:{port} (links use {settings.portal_base_url}).", file=sys.stderr)
        serve(app, args.host, port)
    return EXIT_OK


def _settings(settings: Settings, _args: argparse.Namespace) -> int:
    from core.settings import describe_settings

    for key, default, doc in describe_settings():
        value: Any = settings
        for part in key.split("."):
            value = getattr(value, part)
        shown = "(hidden)" if value is not None and key in {"site_key", "smtp.password"} else value
        print(f"{key} = {shown!r}\n    {doc} Default: {default or '(empty)'}")
    return EXIT_OK


# -- helpers --------------------------------------------------------------------------


def _plain(row: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return {key: value.isoformat() if isinstance(value, date) else value for key, value in asdict(row).items()}


_HANDLERS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "open": _open, "demo": _demo, "db": _db, "site": _site, "audit": _audit, "patients": _patients,
    "settings": _settings, "user": _user, "worker": _worker, "message": _message, "emr": operations.emr,
    "reminders": operations.reminders, "portal": _portal, "report": operations.report,
}
