"""Attachment extraction on real report files nobody here wrote (``../shared/realdocs``).

Run on demand: ``.venv/bin/python -m benchmarks.realdocs [DIR]``. For every PDF, DOCX, DOC
and WPS file in the folder it runs the crawl's own path (``derive`` on the bytes: sniffing,
the sandboxed extractor, cleaning, recognition) and prints, per file: the kind it was read
as, whether it was recognised as an annual report, the length of the clean text, flags and
errors, the time taken, and character precision/recall/F1 against an independent extractor (poppler's
``pdftotext`` for PDF, ``catdoc`` for DOC/WPS, ``unzip -p word/document.xml`` text for
DOCX) when that tool is installed. A crash is printed as such and the run goes on.

Why an independent extractor: our own test files are made by our own writers, so they
cannot show what a real Word or WPS file does that our reader does not expect; a second
reader that shares no code with ours can.

Skips, with a message, when the folder is absent (a user's clone does not have it; its
README.md says where each file came from).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from nianbao.pipelines.derive import derive

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "realdocs"
SUFFIXES = (".pdf", ".docx", ".doc", ".wps")
CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".doc": "application/msword",
    ".wps": "application/vnd.ms-works",
}


def _run(command: list[str], timeout: float = 60) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        proc = subprocess.run(command, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    return proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None


def reference_text(path: Path) -> tuple[str, str] | None:
    """(tool, text) from an extractor that shares no code with ours, if one is installed."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text = _run(["pdftotext", "-enc", "UTF-8", str(path), "-"])
        return ("pdftotext", text) if text is not None else None
    if suffix in (".doc", ".wps"):
        text = _run(["catdoc", "-d", "utf-8", "-w", str(path)])
        return ("catdoc", text) if text is not None else None
    if suffix == ".docx":
        xml = _run(["unzip", "-p", str(path), "word/document.xml"])
        if xml is None:
            return None
        import html

        text = "".join(
            html.unescape(m.group(1)) if m.group(1) is not None else "\n"
            for m in re.finditer(r"<w:t(?:\s[^>]*)?>([^<]*)</w:t>|(</w:p>)", xml)
        )
        return ("document.xml", text)
    return None


def char_prf(ours: str, theirs: str) -> tuple[float, float, float]:
    """Precision, recall and F1 over the multiset of non-space characters, ``|`` (our table
    cell separator) left out: insensitive to line breaks, cell order and spacing. Recall is
    text the other reader found and ours lost; precision drops where ours has more, which
    for tables is by design (a merged cell's text is repeated on every row it spans)."""
    a = Counter(c for c in ours if not c.isspace() and c != "|")
    b = Counter(c for c in theirs if not c.isspace() and c != "|")
    if not a or not b:
        return (1.0, 1.0, 1.0) if a == b else (0.0, 0.0, 0.0)
    common = sum((a & b).values())
    p, r = common / sum(a.values()), common / sum(b.values())
    return p, r, (2 * p * r / (p + r) if common else 0.0)


def main(root: Path) -> int:
    if not root.is_dir():
        print(f"skipped: {root} is not there")
        return 0
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES)
    if not files:
        print(f"skipped: no {'/'.join(SUFFIXES)} files under {root}")
        return 0
    crashes = 0
    for path in files:
        body = path.read_bytes()
        url = f"http://example.gov.cn/att/{path.name}"
        start = time.perf_counter()
        try:
            doc = derive(body, url, CONTENT_TYPES[path.suffix.lower()])
        except Exception as exc:  # noqa: BLE001 - a crash is what this run is looking for
            crashes += 1
            print(f"CRASH {path.name}: {type(exc).__name__}: {exc}")
            continue
        took = time.perf_counter() - start
        ref = reference_text(path)
        if ref:
            p, r, f1 = char_prf(doc.text, ref[1])
            score = f"P={p:.3f} R={r:.3f} F1={f1:.3f} vs {ref[0]}"
        else:
            score = "n/a (no independent tool installed)"
        verdict = "REPORT" if "report" in doc.flags else "-"
        flags = ",".join(f for f in doc.flags if f != "report") or "-"
        print(
            f"{path.name:40} {doc.kind or '?':5} {verdict:6} chars={len(doc.text):6} "
            f"{score:40} {took:5.2f}s flags={flags} errors={len(doc.errors)}"
        )
        for error in doc.errors:
            print(f"    error: {error}")
    print(f"{len(files)} files, {crashes} crashed")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
