"""The patient portal's figures (issue 5), on a real uvicorn server on 127.0.0.1 over a throw-away clinic:

- page weight: every page a patient meets, HTML + the one stylesheet, as transferred (the limit is 15 KB);
- identity check: POST /check timed over HTTP, 200 tries with a real link and a wrong date of birth and
  200 with a token that was never sent, interleaved (the in-process limits are lifted and the lock-out
  cleared between tries, outside the timing; every failure waits out the portal's 100 ms floor);
  medians, 90th percentiles and their ratio;
- a 10 MB + 1 byte file and a 30 MB file in a reply: how much of the request the portal read before
  refusing (in-process ASGI transport, so every byte read is counted);
- a 20,000 x 20,000 PNG and a FITS file declaring 50,000 x 50,000: peak memory of a fresh process
  refusing them (VmHWM);
- encrypted, truncated and decompression-bomb (120 MB of zeros) PDFs: seconds to refuse.

Run: ``python -m bench.portal [--backend sqlite|postgres|both]``. The last line holds every figure.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import date

import anyio
import httpx
from sqlalchemy import insert, select, update

from bench.common import BackendUnavailable, percentile, temp_clinic
from core.bootstrap import Accueil
from core.db.models import FormRequest, Message, Patient, User
from core.licences import grant_licence
from core.users import add_user
from portal.limits import SlidingWindow, UnknownLinkFailures
from portal.server import ThreadedServer
from tests.portal.conftest import DOB, Clinic, _patient, csrf_of
from tests.portal.test_uploads import PEAK, CountingBody, fits, pdf, png, upload

MB = 1024 * 1024
TRIES = 200


def clinic_in(app: Accueil) -> Clinic:
    with app.uow(write=True) as uow:
        uow.session.execute(insert(Patient), [_patient("A-100", "Côté-O'Neil", "Zoé", "fr", "1234 567 890 AB"),
                                              _patient("A-200", "Tremblay", "Émile", "en", "9876 543 210")])
        uow.commit()
    with app.uow(write=True) as uow:
        add_user(uow, username="drgagnon", display_name="Dre Hélène Gagnon", role="provider", password=None)
    with app.uow(write=True) as uow:
        grant_licence(uow, "drgagnon")
    with app.uow() as uow:
        zoe, emile = uow.session.scalars(select(Patient.id).order_by(Patient.chart_id)).all()
        sender = uow.session.scalar(select(User.id).where(User.username == "drgagnon"))
    return Clinic(app, zoe, emile, sender)


def page_weights(clinic: Clinic, base: str) -> dict[str, int]:
    token = clinic.send(forms=("health_questionnaire",), allow_attachment=True,
                        attachments=(("résultats.pdf", pdf()),))
    sizes: dict[str, int] = {}
    with httpx.Client(base_url=base, cookies={"lang": "fr"}) as http:
        css = len(http.get("/portal.css").content)

        def keep(name: str, response: httpx.Response) -> httpx.Response:
            sizes[name] = len(response.content) + css
            return response

        keep("home", http.get("/"))
        identity = keep("identity", http.get(f"/m/{token}", follow_redirects=True))
        keep("failed check", http.post("/check", data={"csrf": csrf_of(identity.text), "date_of_birth": "1999-01-01"}))
        inbox = keep("inbox", http.post("/check", data={"csrf": csrf_of(identity.text),
                                                        "date_of_birth": DOB.isoformat()}, follow_redirects=True))
        message_id = clinic.last_id()
        with clinic.app.uow() as uow:
            form_id = uow.session.scalar(select(FormRequest.id).order_by(FormRequest.id.desc()))
        for name, path in (("message", f"/messages/{message_id}"), ("delete", f"/messages/{message_id}/delete"),
                           ("forms", "/forms"), ("form", f"/forms/{form_id}"), ("dead page", "/messages/0")):
            keep(name, http.get(path))
        keep("signed out", http.post("/signout", data={"csrf": csrf_of(inbox.text)}))
        for _ in range(6):
            page = http.get(f"/m/{'q' * 43}", follow_redirects=True)
            locked = http.post("/check", data={"csrf": csrf_of(page.text), "date_of_birth": "1999-01-01"})
        keep("locked", locked)
    return sizes


def identity_timing(clinic: Clinic, server: ThreadedServer, base: str) -> tuple[list[float], list[float]]:
    portal = server.server.config.app.app.state.portal
    portal.per_link = portal.per_address = SlidingWindow(10**9, 1.0)  # the bench, not the limits, is measured
    token = clinic.send()
    wrong = {"date_of_birth": "1999-12-31"}
    right_token, wrong_token = [], []
    with httpx.Client(base_url=base) as real, httpx.Client(base_url=base) as fake:
        csrf = {real: csrf_of(real.get(f"/m/{token}", follow_redirects=True).text),
                fake: csrf_of(fake.get(f"/m/{'w' * 43}", follow_redirects=True).text)}
        for i in range(TRIES):
            for http, times in ((real, right_token), (fake, wrong_token)) if i % 2 else (
                    (fake, wrong_token), (real, right_token)):
                started = time.perf_counter()
                response = http.post("/check", data={"csrf": csrf[http], **wrong})
                times.append(time.perf_counter() - started)
                assert response.status_code == 200 and "could not confirm" in response.text, (i, response.status_code)
            if i % 5 == 4:  # stay under the lock-out, on both sides
                with clinic.app.uow(write=True) as uow:
                    uow.session.execute(update(Message).values(failed_checks=0, locked_at=None))
                    uow.commit()
                portal.unknown_links = UnknownLinkFailures(6)
    return right_token, wrong_token


def upload_reads(clinic: Clinic) -> dict[str, tuple[int, int, int]]:
    """name -> (status, bytes the portal read, bytes of the whole request)."""
    found = {}
    for name, size in (("10 MB + 1 byte", 10 * MB + 1), ("30 MB", 30 * MB)):
        token = clinic.send(allow_attachment=True)
        response, body, _ = anyio.run(upload, clinic, token, lambda csrf, size=size: CountingBody(csrf, size))
        found[name] = (response.status_code, body.sent, sum(len(block) for block in body.parts()))
    return found


def peak_memory(name: str, data: bytes) -> int:
    run = subprocess.run([sys.executable, "-c", PEAK, name], input=data, capture_output=True, check=True)
    verdict, peak_kb = run.stdout.decode().split()
    assert verdict == "refused", name
    return int(peak_kb) // 1024


def pdf_seconds() -> dict[str, float]:
    from core.messaging.attachments import AttachmentRefused
    from core.portal.uploads import inspect

    good = pdf()
    found = {}
    for name, data in (("encrypted", pdf(encrypt=True)), ("truncated", good[: len(good) // 2]),
                       ("bomb 120 MB", pdf(bomb_mb=120))):
        started = time.perf_counter()
        try:
            inspect(f"{name}.pdf", data)
            raise AssertionError(f"{name} accepted")
        except AttachmentRefused:
            found[name] = time.perf_counter() - started
    return found


def run(backend: str) -> str:
    with temp_clinic(backend) as app:
        clinic = clinic_in(app)
        server = ThreadedServer(app, "127.0.0.1", 0)
        server.start()
        try:
            base = f"http://127.0.0.1:{server.port}"
            sizes = page_weights(clinic, base)
            right, wrong = identity_timing(clinic, server, base)
        finally:
            server.stop()
        reads = upload_reads(clinic)
    for name, size in sizes.items():
        print(f"  {backend:8} page {name:13} {size / 1024:5.1f} KB")
    heaviest = max(sizes, key=sizes.__getitem__)
    ratio = statistics.median(right) / statistics.median(wrong)
    print(f"  {backend:8} identity check over HTTP ({TRIES} each): real link, wrong date median "
          f"{statistics.median(right) * 1000:.2f} ms (p90 {percentile(right, 90) * 1000:.2f}); never-sent token "
          f"median {statistics.median(wrong) * 1000:.2f} ms (p90 {percentile(wrong, 90) * 1000:.2f}); ratio {ratio:.2f}")
    for name, (status, read, total) in reads.items():
        print(f"  {backend:8} upload {name}: {status}, read {read:,} bytes of a {total:,}-byte request")
    ten = reads["10 MB + 1 byte"]
    thirty = reads["30 MB"]
    return (f"{backend}: heaviest page {heaviest} {sizes[heaviest] / 1024:.1f} KB; identity medians "
            f"{statistics.median(right) * 1000:.2f}/{statistics.median(wrong) * 1000:.2f} ms ratio {ratio:.2f}; "
            f"10 MB+1 file refused {ten[0]} with {ten[2] - ten[1]:,} of {ten[2]:,} bytes unread, 30 MB file refused "
            f"after {thirty[1] / MB:.2f} of {thirty[2] / MB:.2f} MB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args(argv)
    summaries = []
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        try:
            summaries.append(run(backend))
        except BackendUnavailable as reason:
            print(f"  {backend}: skipped, {reason}")
    png_mb = peak_memory("big.png", png(20_000, 20_000))
    fits_mb = max(peak_memory(name, fits()) for name in ("sky.fits", "sky.png", "sky.tif", "sky.txt"))
    print(f"  PNG 20000x20000 refused, peak {png_mb} MB; FITS 50000x50000 (4 names) refused, peak {fits_mb} MB")
    pdfs = pdf_seconds()
    print("  PDFs refused: " + ", ".join(f"{name} {seconds:.3f} s" for name, seconds in pdfs.items()))
    print(f"{date.today().isoformat()} portal — " + "; ".join(summaries)
          + f"; PNG {png_mb} MB, FITS {fits_mb} MB peak; slowest PDF refusal {max(pdfs.values()):.3f} s")


if __name__ == "__main__":
    main()
