"""`accueil site key …`: rotate and show the site encryption key (SI-5).

* ``rotate``: read the new key from a prompt (twice) or from stdin (one line), or ``--generate`` one
  and print it once on stdout; the re-encryption shows its progress on stderr. An interrupted
  rotation is resumed by the next ``rotate`` (the key chosen then is kept in the pending key file);
  ``--restart`` drops it and starts again with a new key.
* ``show``: print the key on stdout, after its audit entry and the administrators' email are saved.

Both are for an administrator account mapped to the system user running the command. Exit codes
as every command: 0 done, 1 cancelled (resume with ``rotate``), 2 refused (weak key, wrong key, …).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from accueil.cli_support import EXIT_FAILED, EXIT_OK, input_error, opened, progress_bar

if TYPE_CHECKING:
    from core.settings import Settings


def add_parsers(site: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    key = site.add_parser("key", help="the site encryption key: rotate it or show it (administrators)")
    actions = key.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    rotate = actions.add_parser("rotate", help="choose a new key and re-encrypt everything it protects")
    rotate.add_argument("--generate", action="store_true", help="generate the new key and print it once")
    rotate.add_argument("--restart", action="store_true",
                        help="drop an interrupted rotation and start again with a new key")
    actions.add_parser("show", help="print the key (audited; the administrators are emailed)")


def _read_new_key() -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise input_error("No new key on stdin: give one line, or use --generate.")
        return line
    import getpass

    first = getpass.getpass("New site encryption key: ")
    if first != getpass.getpass("Again: "):
        raise input_error("The two keys differ.")
    return first


def run(settings: Settings, args: argparse.Namespace) -> int:
    from core import site_key

    with opened(settings) as app:
        if args.key_command == "show":
            from core.site_key_notices import reveal

            print(reveal(app))
            print("The administrators were emailed that the key was shown.", file=sys.stderr)
            return EXIT_OK
        with app.uow() as uow:
            waiting = site_key.unfinished(uow.session) is not None
        generated: str | None = None
        if waiting and not args.restart:
            print("Resuming the interrupted key rotation (with the key chosen when it started).", file=sys.stderr)
        else:
            _rotation, chosen = site_key.start(app, None if args.generate else _read_new_key())
            generated = chosen if args.generate else None
        if generated is not None:
            print(generated)
            print("This is the new site encryption key: keep a copy in the clinic's safe now; it is not shown "
                  "again without an audit entry.", file=sys.stderr)
        result = site_key.resume(app, progress=progress_bar("encrypted items"))
    if not result.finished:
        return EXIT_FAILED
    print(f"Site encryption key changed: {result.rows} items encrypted again with the new key "
          f"({settings.resolved_key_file()}).", file=sys.stderr)
    if result.unreadable:
        print(f"{result.unreadable} items were already unreadable with the old key and were left as they were.",
              file=sys.stderr)
    print("Restart the email worker and the patient portal so they use the new key. Backups made before now "
          "still need the old key.", file=sys.stderr)
    return EXIT_OK
