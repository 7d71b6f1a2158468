"""Where a report page's CPU goes: each cleaning stage, and the archive write, per page.

``python -m benchmarks.stages`` runs :data:`pipelines.derive.STAGES` one by one over the
bench portal's candidate pages (its report column: 270 reports and their list pages),
in-process, and prints CPU-ms per page for each stage (the best of three passes), then
the CPU-ms per report of :func:`models.archive.record_report` into a fresh SQLite
archive (the best of two). CPU time, not wall time: other load on the machine moves it
less. The crawl-level figure (full vs bare Scrapy) is section 1 of ``python -m benchmarks``.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.portal import bench_portal
from nianbao.demo.portalgen import seed_reports
from nianbao.pipelines.decode import charset_of
from nianbao.pipelines.derive import CLEANER_VERSION, STAGES
from nianbao.pipelines.document import Document

SEEDS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "seeds"


def stage_times(pages: list[tuple[str, bytes, str]], passes: int = 3) -> dict[str, float]:
    """CPU-ms per page of each stage, the best of ``passes``."""
    best = {name: float("inf") for name, _ in STAGES}
    for _ in range(passes):
        spent = dict.fromkeys(best, 0.0)
        for url, body, ctype in pages:
            doc = Document(url, body, ctype, charset_of(ctype))
            for name, stage in STAGES:
                t = time.process_time()
                doc = stage(doc)
                spent[name] += time.process_time() - t
        for name, seconds in spent.items():
            best[name] = min(best[name], seconds / len(pages) * 1000)
    return best


def store_time(pages: list[tuple[str, bytes, str]], passes: int = 2) -> tuple[float, int]:
    """CPU-ms per recognised report of the archive write, the best of ``passes``."""
    from nianbao.models import archive
    from nianbao.models.db import open_archive, sessionmaker_for
    from nianbao.pipelines.derive import derive
    from nianbao.pipelines.metadata import report_fields

    docs = [
        (body, ctype, derive(body, url, ctype, charset_of(ctype))) for url, body, ctype in pages
    ]
    reports = [(body, ctype, doc) for body, ctype, doc in docs if "report" in doc.flags]
    best = float("inf")
    for _ in range(passes):
        with tempfile.TemporaryDirectory() as tmp:
            engine = open_archive(f"sqlite:///{tmp}/archive.sqlite")
            session_factory = sessionmaker_for(engine)
            t = time.process_time()
            for body, ctype, doc in reports:
                cap = archive.CaptureIn(
                    "bench", doc.url, 200, datetime.now(UTC), {"Content-Type": [ctype]}, body
                )
                fields = report_fields(doc)
                with session_factory.begin() as session:
                    archive.record_report(
                        session,
                        cap,
                        doc,
                        organ=fields.organ,
                        year=fields.year,
                        published=fields.published,
                        cleaner_version=CLEANER_VERSION,
                        meta=dict(doc.metadata),
                    )
            best = min(best, (time.process_time() - t) / len(reports) * 1000)
            engine.dispose()
    return best, len(reports)


def main() -> None:
    portal, _ = bench_portal(seed_reports(SEEDS))
    pages = []
    for path in portal.paths():
        page = portal.get(path)
        if path.startswith("/zwgk/") and page is not None:
            pages.append((f"http://127.0.0.1{path}", page.body, page.content_type))
    print(f"cleaning stages, {len(pages)} candidate pages of the bench portal (CPU-ms/page)")
    times = stage_times(pages)
    for name, ms in times.items():
        print(f"  {name:12s}{ms:7.2f}")
    print(f"  {'total':12s}{sum(times.values()):7.2f}")
    ms, n = store_time(pages)
    print(f"archive write (SQLite, record_report): {ms:.2f} CPU-ms per report ({n} reports)")


if __name__ == "__main__":
    main()
