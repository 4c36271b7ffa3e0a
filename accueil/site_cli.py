"""`accueil site …` commands for the custom From address (SI-2, SI-3) and the DKIM key.

* ``check-from ADDRESS``: the DNS checks only, nothing saved (exit 0 green/yellow, 1 otherwise);
* ``set-from ADDRESS``: check and make it the site's address (an operator is asked to approve);
* ``approve-from`` / ``decline-from ADDRESS [--as OPERATOR]``: the operator's decision, as the
  operator account mapped to the system user running the command (``--as`` must name it);
* ``clear-from``: back to the default no-reply address;
* ``dkim-key``: make the product's DKIM key if missing and print the TXT record to publish;
* ``key rotate`` / ``key show``: the site encryption key (``accueil.site_key_cli``).

Kept apart from ``cli.py`` so that file only registers these; imports stay inside functions.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.sender.findings import Finding, RecordToCreate
    from core.settings import Settings

COMMANDS = ("check-from", "set-from", "approve-from", "decline-from", "clear-from", "dkim-key")
MARKS = {"ok": "ok ", "info": "   ", "warning": "!  ", "error": "X  ", "unknown": "?  "}


def add_parsers(site: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    check = site.add_parser("check-from", help="check a custom From address's SPF, DKIM and DMARC records")
    check.add_argument("address")
    set_from = site.add_parser("set-from", help="check an address and ask an operator to approve it")
    set_from.add_argument("address")
    for name, verb in (("approve-from", "approve"), ("decline-from", "decline")):
        decide = site.add_parser(name, help=f"{verb} the custom From address waiting for approval (operators)")
        decide.add_argument("address")
        decide.add_argument("--as", dest="as_user", help="the operator's user name (must be the account "
                            "mapped to the system user running this)")
    site.add_parser("clear-from", help="stop using the custom From address (back to the no-reply address)")
    site.add_parser("dkim-key", help="create the product's DKIM key if missing; print the TXT record to publish")
    from accueil.site_key_cli import add_parsers as add_key_parsers

    add_key_parsers(site)


def print_report(status: str, findings: list[Finding], to_create: list[RecordToCreate]) -> None:
    from core.sender.notices import STATUS_NAMES

    print(f"status: {STATUS_NAMES[status]}")
    for finding in findings:
        print(f"  {MARKS.get(finding.severity, '   ')}{finding.check.upper():6} {finding.text()}")
    if to_create:
        print("records to create:")
        for record in to_create:
            print(f"  {record.name}\t{record.rtype}\t{record.value}")


def run(settings: Settings, args: argparse.Namespace) -> int:
    command = args.site_command
    if command == "key":
        from accueil.site_key_cli import run as run_key

        return run_key(settings, args)
    if command == "dkim-key":
        from core.sender.keys import ensure_key, public_record

        path = settings.resolved_dkim_key_file()
        if ensure_key(path):
            print(f"A new DKIM key was written to {path} (mode 600).", file=sys.stderr)
        print(public_record(path))
        return 0
    if command == "check-from":
        from core.sender.validate import check_address

        report = check_address(args.address, settings.sender)
        print_report(report.status, report.findings, report.to_create)
        return 0 if report.status in ("green", "yellow") else 1

    from accueil.cli import _opened
    from core.sender import approval

    with _opened(settings) as app:
        if command == "set-from":
            entry = approval.submit(app, args.address)
            print_report(entry.status, entry.findings, entry.to_create)
            with app.uow() as uow:
                state = approval.custom_from(uow.session, settings.noreply_address).state
            print(f"state: {state}")
            return 0 if state in ("pending", "approved") else 1
        with app.uow(write=True) as uow:
            if command == "clear-from":
                approval.clear(uow)
                print(f"Email is sent from {settings.noreply_address} again.")
                return 0
            from core.sender.account import decide_as_actor

            state = decide_as_actor(uow, args.address, approve=command == "approve-from", claimed=args.as_user)
    print(f"{args.address.strip()}: {state}")
    return 0
