"""Read a multipart reply as it streams, so MS-8's limits stop an upload at the first byte too many.

Starlette's own form parser spools every file to disk before the endpoint sees it; here each
chunk goes through python-multipart's push parser and every byte of a file part is counted by
``core.portal.uploads.UploadBudget`` as it arrives. The CSRF field must come before any file
(the portal's forms put it first), so a forged request is refused before its files are read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

from core.messaging.attachments import AttachmentRefused
from core.portal.uploads import UploadBudget

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 40


class BadForm(Exception):
    """The request is not a form this portal sent (bad CSRF, malformed multipart, too many parts)."""


@dataclass
class Part:
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


@dataclass
class ParsedForm:
    fields: dict[str, str]
    files: list[tuple[str, bytes]]


async def read_form(content_type: str, stream: AsyncIterator[bytes], budget: UploadBudget,
                    csrf_ok: Callable[[str], bool]) -> ParsedForm:
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadForm("no boundary")
    parts: list[Part] = []
    events: list[tuple[str, bytes]] = []
    header_field = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        events.append(("begin", b""))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        events.append(("data", data[start:end]))

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        events.append(("header", bytes(header_field).lower() + b"\x00" + bytes(header_value)))
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        events.append(("headers_done", b""))

    callbacks = {"on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_header_field": on_header_field,
                 "on_header_value": on_header_value, "on_header_end": on_header_end,
                 "on_headers_finished": on_headers_finished}
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    csrf_seen = False
    try:
        async for chunk in stream:
            parser.write(chunk)
            for kind, payload in events:
                if kind == "begin":
                    if len(parts) == 1:  # the first part (the CSRF field) has just ended
                        first = parts[0]
                        csrf_seen = (first.name == "csrf" and first.filename is None
                                     and csrf_ok(first.data.decode("ascii", "replace")))
                        if not csrf_seen:
                            raise BadForm("bad CSRF token")
                    parts.append(Part())
                    if len(parts) > MAX_PARTS:
                        raise BadForm("too many parts")
                elif kind == "header":
                    name, value = payload.split(b"\x00", 1)
                    if name == b"content-disposition":
                        _, options = parse_options_header(value)
                        parts[-1].name = options.get(b"name", b"").decode("utf-8", "replace")
                        if b"filename" in options:
                            parts[-1].filename = options[b"filename"].decode("utf-8", "replace")
                elif kind == "headers_done":
                    part = parts[-1]
                    if part.filename is not None:
                        if not csrf_seen:
                            raise BadForm("file before the CSRF field")
                        budget.start_file()
                elif kind == "data":
                    part = parts[-1]
                    if part.filename is not None:
                        budget.feed(len(payload))
                    elif len(part.data) + len(payload) > MAX_FIELD_BYTES:
                        raise BadForm("field too long")
                    part.data.extend(payload)
            events.clear()
        parser.finalize()
    except (AttachmentRefused, BadForm):
        raise
    except Exception as exc:  # noqa: BLE001 - python-multipart's parse errors
        raise BadForm("malformed multipart") from exc
    if not parts or parts[0].name != "csrf" or not csrf_ok(parts[0].data.decode("ascii", "replace")):
        raise BadForm("bad CSRF token")
    fields = {p.name: p.data.decode("utf-8", "replace") for p in parts if p.filename is None}
    files = [(p.filename or "", bytes(p.data)) for p in parts if p.filename is not None and (p.filename or p.data)]
    return ParsedForm(fields, files)


__all__ = ["BadForm", "ParsedForm", "read_form"]
