"""EM-3 conversions for Accuro, one case per child process: the slowest case's time and the largest
peak memory, on real files built here (a 12-megapixel PNG with transparency, a 12-megapixel photo
taken sideways, a 3-page 300 dpi letter scan as TIFF, 3 pages of French text, a BMP, a PNG whose
header claims 20,000 × 20,000 pixels).

Run: ``python -m bench.emr_convert``. The last line: ``slowest <case> <seconds> s; peak <MB> MB``.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time


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
    if case == "txt-3-pages-french":
        return "notes.txt", "txt", emr_files.FRENCH_TEXT.encode("utf-8")
    if case == "bmp":
        return "scan.bmp", "bmp", emr_files.bmp()
    if case == "png-bomb-20000":
        return "bombe.png", "png", emr_files.png_claiming()
    raise ValueError(case)


CASES = ("png-12mp-alpha", "jpeg-12mp-rotated", "tiff-3-pages-300dpi", "txt-3-pages-french", "bmp", "png-bomb-20000")


def child(case: str) -> None:
    import resource

    from core.emr.convert import ConversionFailed, prepare

    name, extension, data = make(case)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    try:
        prepared = prepare("accuro", name, extension, data)
        outcome = f"{prepared.extension} {len(prepared.data) // 1024} KiB" if prepared else "note"
    except ConversionFailed as failure:
        outcome = f"failed: {failure.reason}"
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"case": case, "seconds": seconds, "peak_mb": peak / 1024, "growth_mb": (peak - base) / 1024,
                      "outcome": outcome}))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return
    results = []
    for case in CASES:
        run = subprocess.run([sys.executable, "-m", "bench.emr_convert", "--child", case], capture_output=True,
                             text=True, check=True)
        result = json.loads(run.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"{case:22} {result['seconds']:6.2f} s  peak {result['peak_mb']:6.0f} MB "
              f"(+{result['growth_mb']:.0f})  {result['outcome']}")
    slowest = max(results, key=lambda r: r["seconds"])
    peak = max(r["peak_mb"] for r in results)
    print(f"slowest {slowest['case']} {slowest['seconds']:.2f} s; peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
