"""PO-3/MS-8 security of patient uploads: limits while streaming, content checks, bombs and disguised files."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import time
import zipfile
import zlib

import anyio
import httpx
import pytest
from sqlalchemy import func, select

from core.db.models import Attachment
from core.messaging.attachments import MAX_FILE_BYTES, AttachmentRefused
from core.portal.uploads import UploadBudget, inspect
from portal.app import create_app
from tests.portal.conftest import DOB, csrf_of

MB = 1024 * 1024
BOUNDARY = "accueil-test-boundary"


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress(b"\x00" + b"\x00" * width)  # one row only: the header is what matters
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def pdf(encrypt: bool = False, bomb_mb: int = 0) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import NameObject, StreamObject

    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    if bomb_mb:
        squeeze = zlib.compressobj(9)
        block = b"\x00" * MB
        data = b"".join(squeeze.compress(block) for _ in range(bomb_mb)) + squeeze.flush()
        stream = StreamObject()
        stream.set_data(b"")
        stream._data = data
        stream[NameObject("/Filter")] = NameObject("/FlateDecode")
        page[NameObject("/Contents")] = writer._add_object(stream)
    if encrypt:
        writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def refused(name: str, data: bytes) -> float:
    started = time.perf_counter()
    with pytest.raises(AttachmentRefused):
        inspect(name, data)
    return time.perf_counter() - started


def test_a_good_pdf_and_png_pass() -> None:
    assert inspect("scan.pdf", pdf()).extension == "pdf"
    assert inspect("photo.png", png(640, 480)).extension == "png"


def fits(side: int = 50_000) -> bytes:
    """A FITS image whose header declares ``side`` x ``side`` bytes (2.5 GB) over a little data."""
    cards = [f"SIMPLE  = {'T':>20}", f"BITPIX  = {8:>20}", f"NAXIS   = {2:>20}", f"NAXIS1  = {side:>20}",
             f"NAXIS2  = {side:>20}", "END"]
    return "".join(card.ljust(80) for card in cards).ljust(2880).encode() + bytes(2880 * 4)


PEAK = ("import re, sys\n"
        "from core.portal.uploads import inspect\n"
        "from core.messaging.attachments import AttachmentRefused\n"
        "name, data = sys.argv[1], sys.stdin.buffer.read()\n"
        "peak = lambda: re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
        "try:\n    inspect(name, data)\n    print('accepted', peak())\n"
        "except AttachmentRefused:\n    print('refused', peak())\n")


def refused_in_a_fresh_process(name: str, data: bytes) -> int:
    """Inspect in a new interpreter; returns its peak memory in kB (VmHWM: its own peak, not the
    forking pytest worker's, which ru_maxrss would carry over)."""
    result = subprocess.run([sys.executable, "-c", PEAK, name], input=data, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    verdict, peak_kb = result.stdout.decode().split()
    assert verdict == "refused", name
    return int(peak_kb)


def test_huge_png_is_refused_from_its_header_under_200_mb() -> None:
    assert refused_in_a_fresh_process("big.png", png(20_000, 20_000)) < 200 * 1024


def test_fits_file_refused_under_200_mb_whatever_its_name() -> None:
    data = fits()
    for name in ("telescope.fits", "telescope.png", "telescope.tif", "telescope.txt", "telescope.bmp"):
        assert refused_in_a_fresh_process(name, data) < 200 * 1024, name


def test_encrypted_truncated_and_bomb_pdfs_refused_quickly() -> None:
    good = pdf()
    for name, data in (("locked.pdf", pdf(encrypt=True)), ("cut.pdf", good[: len(good) // 2]),
                       ("bomb.pdf", pdf(bomb_mb=120))):
        assert refused(name, data) < 2.0, name


def test_zip_renamed_pdf_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("inside.pdf", pdf())
    refused("invoice.pdf", out.getvalue())


def test_budget_counts_the_message_total_across_replies() -> None:
    budget = UploadBudget(already_sent=45 * MB)
    budget.start_file()
    budget.feed(5 * MB)
    with pytest.raises(AttachmentRefused, match="50 MB"):
        budget.feed(1)


# -- over HTTP, with a body that counts how much the portal read ---------------------------------
class CountingBody:
    def __init__(self, csrf: str, file_bytes: int, name: str = "notes.txt", files: int = 1) -> None:
        self.csrf, self.file_bytes, self.name, self.files = csrf, file_bytes, name, files
        self.sent = 0
        self.total = 0

    def parts(self):  # noqa: ANN201 - an iterator of byte blocks
        yield (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{self.csrf}\r\n').encode()
        for _ in range(self.files):
            yield (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{self.name}"\r\n'
                   "Content-Type: text/plain\r\n\r\n").encode()
            left = self.file_bytes
            while left:
                size = min(left, 256 * 1024)
                yield b"a" * size
                left -= size
            yield b"\r\n"
        yield f"--{BOUNDARY}--\r\n".encode()

    async def __aiter__(self):  # noqa: ANN204
        for block in self.parts():
            self.sent += len(block)
            yield block


async def upload(clinic, token: str, body_for) -> tuple[httpx.Response, CountingBody, int]:  # noqa: ANN001
    transport = httpx.ASGITransport(app=create_app(clinic.app))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", cookies={"lang": "en"}) as client:
        page = await client.get(f"/m/{token}", follow_redirects=True)
        await client.post("/check", data={"csrf": csrf_of(page.text), "date_of_birth": DOB.isoformat()})
        message_id = clinic.last_id()
        message = await client.get(f"/messages/{message_id}")
        body = body_for(csrf_of(message.text))
        response = await client.post(f"/messages/{message_id}/reply", content=body,
                                     headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"})
        return response, body, message_id


def stored_patient_files(clinic) -> int:  # noqa: ANN001
    with clinic.app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Attachment).where(Attachment.direction == "patient"))


def test_file_over_10_mb_is_refused_before_the_upload_is_read(clinic) -> None:
    token = clinic.send(allow_attachment=True)
    response, body, _ = anyio.run(upload, clinic, token, lambda csrf: CountingBody(csrf, MAX_FILE_BYTES + 1 + 20 * MB))
    total = sum(len(block) for block in body.parts())
    assert response.status_code == 413 and "larger than 10 MB" in response.text
    assert body.sent < MAX_FILE_BYTES + 2 * MB < total
    assert stored_patient_files(clinic) == 0


def test_exactly_10_mb_plus_one_byte_is_refused_and_10_mb_accepted(clinic) -> None:
    token = clinic.send(allow_attachment=True)
    response, _, _ = anyio.run(upload, clinic, token, lambda csrf: CountingBody(csrf, MAX_FILE_BYTES + 1))
    assert response.status_code == 413
    response, _, _ = anyio.run(upload, clinic, token, lambda csrf: CountingBody(csrf, MAX_FILE_BYTES))
    assert response.status_code == 303 and stored_patient_files(clinic) == 1


def test_fifty_mb_per_message_is_enforced_while_streaming(clinic) -> None:
    token = clinic.send(allow_attachment=True)
    response, body, _ = anyio.run(upload, clinic, token, lambda csrf: CountingBody(csrf, 9 * MB, files=6))
    assert response.status_code == 413 and "50 MB" in response.text
    assert body.sent < 51 * MB and stored_patient_files(clinic) == 0


def test_zip_renamed_pdf_refused_over_http(clinic, client) -> None:
    token = clinic.send(allow_attachment=True)
    from tests.portal.conftest import sign_in

    sign_in(client, token)
    message_id = clinic.last_id()
    page = client.get(f"/messages/{message_id}")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "x")
    response = client.post(f"/messages/{message_id}/reply", data={"csrf": csrf_of(page.text)},
                           files={"files": ("facture.pdf", out.getvalue(), "application/pdf")})
    assert response.status_code == 415 and stored_patient_files(clinic) == 0
