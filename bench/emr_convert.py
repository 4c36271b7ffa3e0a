"""EM-3 conversions for Accuro, each in a fresh child process: the slowest case's time and the
largest peak memory, on real files built here (a 12-megapixel PNG with transparency, a 12-megapixel
photo taken sideways, 3-page 300 dpi letter scans as TIFF: grey LZW in strips, black and white
Group 4 in one strip as fax software writes them, colour LZW in strips; 3 pages of French text, a
BMP, a PNG whose header claims 20,000 × 20,000 pixels, a MOV header, a corrupt PDF and an encrypted
one: the issue's test files, at sizes a phone or a scanner makes).

The files are built by this process and handed to each child as a file, so a child's peak memory
is what the worker holds to convert one: the loaded application code, the file and the conversion.
Each case runs ``--runs`` times (default 5); its time is the median, its peak the largest.

Run: ``python -m bench.emr_convert [--runs N]``. The last line:
``slowest <case> <seconds> s; peak <MB> MB``.
"""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make(case: str) -> tuple[str, str, bytes]:
    from PIL import Image

    from tests import emr_files

    if case == "png-12mp-alpha":
        image = Image.new("RGBA", (4000, 3000), (0, 0, 0, 0))
        image.paste((30, 120, 200, 255), (0, 0, 2000, 3000))
        out = io.BytesIO()
        image.save(out, "PNG")
        return "photo.png", "png", out.getvalue()
    if case == "jpeg-12mp-rotated":
        exif = Image.Exif()
        exif[0x0112] = 6
        out = io.BytesIO()
        Image.effect_noise((4000, 3000), 40).convert("RGB").save(out, "JPEG", exif=exif, quality=90)
        return "genou.jpg", "jpg", out.getvalue()
    if case == "tiff-3-pages-300dpi":
        pages = [Image.effect_noise((2550, 3300), 20).convert("L") for _ in range(3)]
        out = io.BytesIO()
        pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw", dpi=(300, 300))
        return "scan.tiff", "tiff", out.getvalue()
    if case == "tiff-fax-g4-3-pages-300dpi":
        pages = [_letter(seed).convert("1") for seed in range(3)]
        out = io.BytesIO()
        pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:], compression="group4", dpi=(300, 300),
                      strip_size=2**31)
        return "fax.tiff", "tiff", out.getvalue()
    if case == "tiff-colour-3-pages-300dpi":
        pages = [Image.merge("RGB", (_letter(seed), Image.effect_noise((2550, 3300), 8).convert("L"),
                                     Image.linear_gradient("L").resize((2550, 3300)))) for seed in range(3)]
        out = io.BytesIO()
        pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw", dpi=(300, 300))
        return "couleur.tiff", "tiff", out.getvalue()
    if case == "txt-3-pages-french":
        return "notes.txt", "txt", emr_files.FRENCH_TEXT.encode("utf-8")
    if case == "bmp":
        return "scan.bmp", "bmp", emr_files.bmp()
    if case == "png-bomb-20000":
        return "bombe.png", "png", emr_files.png_claiming()
    if case == "mov-header":
        return "video.mov", "mov", emr_files.mov_header()
    if case == "pdf-corrupt":
        return "resultats.pdf", "pdf", emr_files.corrupt_pdf()
    if case == "pdf-encrypted":
        return "protege.pdf", "pdf", emr_files.encrypted_pdf()
    raise ValueError(case)


def _letter(seed: int):  # type: ignore[no-untyped-def]  # -> PIL.Image.Image
    """A grey letter-size page at 300 dpi: lines of "text" (dark bars of random lengths)."""
    import random

    from PIL import Image, ImageDraw

    rows = random.Random(seed)
    page = Image.new("L", (2550, 3300), 255)
    draw = ImageDraw.Draw(page)
    for top in range(300, 3000, 60):
        left = 300
        while left < 2200:
            width = rows.randint(40, 220)
            draw.rectangle((left, top, left + width, top + 30), fill=rows.randint(0, 60))
            left += width + 25
    return page


CASES = ("png-12mp-alpha", "jpeg-12mp-rotated", "tiff-3-pages-300dpi", "tiff-fax-g4-3-pages-300dpi",
         "tiff-colour-3-pages-300dpi", "txt-3-pages-french", "bmp", "png-bomb-20000", "mov-header", "pdf-corrupt",
         "pdf-encrypted")


def high_water_mb() -> float:
    """This process's peak resident memory since it started (VmHWM; ru_maxrss would carry over the
    parent's peak through fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(case: str, path: str) -> None:
    import PIL.Image  # noqa: F401 - loaded in the worker after its first conversion

    import core.bootstrap  # noqa: F401 - the worker converts with the application loaded
    from core.emr.convert import ConversionFailed, prepare

    name, extension = json.loads(Path(path + ".json").read_text())
    data = Path(path).read_bytes()
    base = high_water_mb()
    started = time.perf_counter()
    try:
        prepared = prepare("accuro", name, extension, data)
        outcome = f"{prepared.extension} {len(prepared.data) // 1024} KiB" if prepared else "note"
    except ConversionFailed as failure:
        outcome = f"failed: {failure.reason}"
    seconds = time.perf_counter() - started
    peak = high_water_mb()
    print(json.dumps({"case": case, "seconds": seconds, "peak_mb": peak, "growth_mb": peak - base,
                      "outcome": outcome}))


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for case in CASES:
            name, extension, data = make(case)
            path = str(Path(folder) / case)
            Path(path).write_bytes(data)
            Path(path + ".json").write_text(json.dumps([name, extension]))
            del data
            tries = []
            for _ in range(runs):
                run = subprocess.run([sys.executable, "-m", "bench.emr_convert", "--child", case, path],
                                     capture_output=True, text=True, check=True)
                tries.append(json.loads(run.stdout.strip().splitlines()[-1]))
            result = {"case": case, "seconds": statistics.median(t["seconds"] for t in tries),
                      "worst": max(t["seconds"] for t in tries), "peak_mb": max(t["peak_mb"] for t in tries),
                      "growth_mb": max(t["growth_mb"] for t in tries), "outcome": tries[-1]["outcome"]}
            results.append(result)
            print(f"{case:27} {result['seconds']:5.2f} s (worst {result['worst']:5.2f})  peak {result['peak_mb']:4.0f} MB "
                  f"(+{result['growth_mb']:.0f})  {len(Path(path).read_bytes()) // 1024} KiB → {result['outcome']}")
    slowest = max(results, key=lambda r: r["seconds"])
    peak = max(r["peak_mb"] for r in results)
    print(f"slowest {slowest['case']} {slowest['seconds']:.2f} s; peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
