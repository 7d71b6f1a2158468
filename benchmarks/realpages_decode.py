"""Decoding and recognition on real pages nobody here wrote (``../shared/realpages``).

Run on demand: ``.venv/bin/python -m benchmarks.realpages_decode [DIR]``. Prints, per page,
the declared charset, the encoding :func:`pipelines.decode.decode` chose and what it had to
drop, then how many pages the cleaning chain called an annual report (none of them is one:
they are news and government articles, so every "report" is a false positive). Skips, with
a message, when the folder is absent (a user's clone does not have it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from nianbao.pipelines.decode import declared_in_markup, decode
from nianbao.pipelines.derive import derive

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "realpages"


def main(root: Path) -> int:
    if not root.is_dir():
        print(f"skipped: {root} is not there")
        return 0
    pages = sorted(root.rglob("*.htm*"))
    reports = replaced = dropped_pages = 0
    for path in pages:
        body = path.read_bytes()
        out = decode(body)
        doc = derive(body, f"http://example.gov.cn/{path.name}")
        replaced += "\ufffd" in doc.text
        dropped_pages += bool(out.dropped_count)
        verdict = "REPORT" if "report" in doc.flags else "-"
        reports += verdict == "REPORT"
        print(
            f"{str(declared_in_markup(body)):10} -> {out.encoding:14} dropped={out.dropped_count:3} "
            f"{verdict:6} {path.relative_to(root)}"
        )
    print(
        f"{len(pages)} pages: {dropped_pages} with undecodable bytes dropped (reported), "
        f"{replaced} with U+FFFD in the clean text, {reports} recognised as annual reports"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
