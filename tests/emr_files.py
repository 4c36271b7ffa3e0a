"""Real files for the EMR import tests, made on the spot (images, PDFs, text, a MOV header), and a
synthetic patient with a message they can reply to."""

from __future__ import annotations

import io
import struct
import uuid
import zlib
from datetime import datetime

from core.bootstrap import Accueil
from core.db.models import Message, Patient
from core.patients.keys import fold

FRENCH_LINE = "Ligne {n} : Élodie a reçu « ça » — l’œuvre à côté de l’hôpital ; où ? Noël, Ç."
FRENCH_TEXT = "\n".join(FRENCH_LINE.format(n=n) for n in range(1, 151))  # about 3 pages


def png_with_alpha(width: int = 64, height: int = 48) -> bytes:
    from PIL import Image

    image = Image.new("RGBA", (width, height), (200, 30, 30, 0))  # fully transparent red
    for x in range(width // 2):
        for y in range(height):
            image.putpixel((x, y), (10, 120, 10, 255))  # opaque green left half
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def bmp() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 40, 200)).save(out, "BMP")
    return out.getvalue()


def multipage_tiff(pages: int = 3) -> bytes:
    from PIL import Image

    frames = [Image.new("RGB", (60, 80), (40 * n, 90, 200 - 40 * n)) for n in range(pages)]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def rotated_jpeg() -> bytes:
    """A 80×40 landscape picture whose EXIF says: turn it 90° (orientation 6) to show it upright."""
    from PIL import Image

    image = Image.new("RGB", (80, 40), (250, 250, 250))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def mov_header() -> bytes:
    return struct.pack(">I", 20) + b"ftypqt  " + b"\x00\x00\x02\x00qt  " + b"\x00" * 64


def simple_pdf(text: str = "Résultats de laboratoire") -> bytes:
    from core.emr.textpdf import text_to_pdf

    return text_to_pdf(text)


def corrupt_pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\nthis is not a pdf any more" + b"\x00" * 40


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(simple_pdf())).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_claiming(width: int = 20_000, height: int = 20_000) -> bytes:
    """A tiny PNG whose header claims a huge picture (a decompression bomb's first step)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
            + chunk(b"IEND", b""))


def add_patient(app: Accueil, chart_id: str = "200301", last: str = "Bélanger-O'Hara",
                first: str = "Anaïs") -> int:
    with app.uow(write=True) as uow:
        patient = Patient(chart_id=chart_id, last_name=last, first_name=first, last_key=fold(last),
                          first_key=fold(first), language="fr", health_number="BELA 8506 1234",
                          email="anais@example.com")
        uow.session.add(patient)
        uow.commit()
        return patient.id


def add_message(app: Accueil, patient_id: int, reference: str = "R7K2Q") -> int:
    with app.uow(write=True) as uow:
        message = Message(patient_id=patient_id, kind="secure_message", to_address="anais@example.com",
                          subject="Vos résultats", body_html="<p>Bonjour</p>", body_text="Bonjour",
                          portal_reference=reference, options={"allow_reply": True, "allow_attachment": True},
                          message_id_header=f"<{uuid.uuid4().hex}@clinique.example>", delivery_state="sent")
        uow.session.add(message)
        uow.commit()
        return message.id


def reply(app: Accueil, message_id: int, text: str = "", files: tuple[tuple[str, bytes], ...] = (),
          now: datetime | None = None) -> int:
    from core.messaging.patient_actions import record_reply

    with app.uow(write=True) as uow:
        return record_reply(uow, message_id, text, files, settings=app.settings, cipher=app.cipher, now=now)
