"""The command-line parts of the day-to-day operations: reminders, reports and the EMR import.

``accueil.cli`` builds the parser and dispatches; each area's arguments and handler live here so
that the main command module stays a table of commands. Imports stay inside the handlers, as in
``accueil.cli``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accueil.cli_support import EXIT_OK, input_error, opened, progress_bar

if TYPE_CHECKING:
    from core.settings import Settings


def add_parsers(commands: Any) -> None:
    reminders = commands.add_parser("reminders", help="appointment reminders").add_subparsers(
        dest="reminders_command", metavar="ACTION", required=True)
    preview = reminders.add_parser("preview", help="the reminders the worker will send on a day (default tomorrow)")
    preview.add_argument("--date", type=date.fromisoformat, metavar="YYYY-MM-DD", help="the day they are sent")
    preview.add_argument("--test-to", metavar="USERNAME", help="test mode: also send the first ones to this staff "
                                                                 "member's own address, not to the patients")
    preview.add_argument("--limit", type=int, default=3, help="test mode: how many to send (default 3)")
    rules = reminders.add_parser("rule", help="reminder rules").add_subparsers(dest="rule_command", metavar="ACTION",
                                                                               required=True)
    rule_add = rules.add_parser("add", help="send a reminder template N days before matching appointments")
    rule_add.add_argument("name")
    rule_add.add_argument("--days-before", type=int, required=True)
    rule_add.add_argument("--template", required=True, metavar="NAME", help="an appointment-reminder template")
    rule_add.add_argument("--other-language-template", metavar="NAME",
                          help="the same reminder in the other language, for the patients who speak it")
    rule_add.add_argument("--provider", action="append", default=[], metavar="EMR_ID_OR_NAME",
                          help="only this provider's appointments (repeat for more; default: every provider)")
    rule_add.add_argument("--kind", action="append", default=[], help="only this appointment kind (repeatable)")
    rules.add_parser("list", help="list the reminder rules")
    rules.add_parser("remove", help="delete a reminder rule").add_argument("name")

    rep = commands.add_parser("report", help="a report (RP) as CSV: to a file with --csv, else on stdout")
    rep.add_argument("name", metavar="NAME", help="messages-sent, forms-sent, links-created, messages-confirmed, "
                                                 "forms-completed or campaign-recipients")
    rep.add_argument("--from", dest="date_from", type=date.fromisoformat, help="first day (default: 29 days ago)")
    rep.add_argument("--to", dest="date_to", type=date.fromisoformat, help="last day, included (default: today)")
    rep.add_argument("--csv", type=Path, metavar="FILE", help="write the CSV to FILE (replaced if it exists)")
    rep.add_argument("--sender", metavar="USERNAME", help="only what this staff account sent")
    rep.add_argument("--provider", metavar="EMR_ID", help="only this provider's patients")
    emr = commands.add_parser("emr", help="the EMR import").add_subparsers(dest="emr_command", metavar="ACTION",
                                                                        required=True)
    emr_set = emr.add_parser("settings", help="show the EMR settings, or change those given")
    emr_set.add_argument("--profile", choices=("generic", "oscar_pro", "accuro"))
    emr_set.add_argument("--consult-notes-as", choices=("active", "completed"))
    emr_set.add_argument("--secure-notes-as", choices=("folder", "encounter_note"))
    emr_set.add_argument("--folder", help="document folder for patient files ('' to clear)")
    emr_set.add_argument("--subfolder", help="its subfolder ('' to clear)")
    emr_set.add_argument("--destination", choices=("chart", "folder"), help="built-in chart or an import folder")
    emr_set.add_argument("--import-path", help="the import folder's absolute path")
    emr_set.add_argument("--retention-days", help="days portal copies are kept after import ('none': kept)")


def reminders(settings: Settings, args: argparse.Namespace) -> int:
    from core.messaging import reminder_preview as preview
    from core.messaging import reminders

    with opened(settings) as app, app.uow(write=True) as uow:
        if args.reminders_command == "preview":
            rows = preview.preview_reminders(uow, args.date, settings=app.settings)
            for row in rows:
                why = f" ({row.problem})" if row.problem else ""
                print(f"{row.starts_at:%Y-%m-%d %H:%M}  {row.chart_id:<10} {row.patient_name:<32} "
                      f"{row.provider or '-':<24} {row.rule}: {row.status.replace('_', ' ')}{why}")
            print(f"{sum(r.status == preview.WILL_SEND for r in rows)} of {len(rows)} reminders will be sent.",
                  file=sys.stderr)
            if args.test_to:
                from sqlalchemy import select

                from core.db.models import User
                from core.errors import NotFound

                user_id = uow.session.scalar(select(User.id).where(User.username == args.test_to.lower()))
                if user_id is None:
                    raise NotFound(f"No user named '{args.test_to}'.")
                sent = preview.send_test_reminders(uow, args.date, user_id=user_id, settings=app.settings,
                                                   cipher=app.cipher, limit=args.limit)
                print(f"{sent} test reminders queued to {args.test_to}'s own address.", file=sys.stderr)
        elif args.rule_command == "add":
            reminders.add_rule(uow, name=args.name, days_before=args.days_before, template=args.template,
                               alt_template=args.other_language_template, providers=tuple(args.provider),
                               appointment_kinds=tuple(args.kind))
            print(f"Reminder rule '{args.name}' added.")
        elif args.rule_command == "remove":
            reminders.remove_rule(uow, args.name)
            print(f"Reminder rule '{args.name}' removed.")
        else:
            for rule in reminders.list_rules(uow.session):
                extra = f" / {rule.alt_template}" if rule.alt_template else ""
                print(f"{rule.name}: {rule.days_before} days before; template {rule.template}{extra}; "
                      f"providers {', '.join(rule.providers) or 'all'}; kinds {', '.join(rule.appointment_kinds) or 'all'}")
    return EXIT_OK


def report(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from core.db.models import Provider, User
    from core.errors import NotFound
    from core.reports.definitions import report
    from core.reports.export import export_csv, export_to_stream
    from core.reports.query import ReportQuery

    report(args.name)  # an unknown name is refused before the database is opened
    date_to = args.date_to or datetime.now(ZoneInfo(settings.timezone)).date()
    date_from = args.date_from or date_to - timedelta(days=29)
    with opened(settings) as app:
        with app.uow() as uow:
            sender = uow.session.scalar(select(User.id).where(User.username == args.sender.lower())) \
                if args.sender else None
            provider = uow.session.scalar(select(Provider.id).where(Provider.emr_id == args.provider)) \
                if args.provider else None
        if args.sender and sender is None:
            raise NotFound(f"No user named '{args.sender}'.")
        if args.provider and provider is None:
            raise NotFound(f"No provider with EMR ID {args.provider}.")
        query = ReportQuery(args.name, date_from, date_to, timezone=settings.timezone, sender_id=sender,
                            provider_id=provider)
        if args.csv is None:
            rows = export_to_stream(app, query, sys.stdout)
        else:
            rows = export_csv(app, query, args.csv, overwrite=True, progress=progress_bar("rows")).rows
    print(f"{rows} rows ({date_from} to {date_to})" + (f" written to {args.csv}" if args.csv else ""),
          file=sys.stderr)
    return EXIT_OK


def emr(settings: Settings, args: argparse.Namespace) -> int:
    from dataclasses import replace

    from core.emr.settings import read_settings, save_settings

    changes: dict[str, Any] = {key: getattr(args, key) for key in ("profile", "consult_notes_as", "secure_notes_as",
                                                                    "folder", "subfolder", "destination", "import_path")
                               if getattr(args, key) is not None}
    if args.retention_days is not None:
        if args.retention_days != "none" and not args.retention_days.isdigit():
            raise input_error("--retention-days takes a number of days or 'none'.")
        changes["retention_days"] = None if args.retention_days == "none" else int(args.retention_days)
    with opened(settings) as app:
        with app.uow() as uow:
            current = read_settings(uow.session)
        if changes:
            with app.uow(write=True) as uow:
                current = save_settings(uow, replace(current, **changes))
    for key, value in current.to_data().items():
        print(f"{key} = {'' if value is None else value}")
    return EXIT_OK
