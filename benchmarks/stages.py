"""Where a report page's CPU goes: each cleaning stage, and the archive write, per page.

``python -m benchmarks.stages`` runs :data:`pipelines.derive.STAGES` one by one over the
bench portal's candidate pages (its report column: 270 reports and their list pages),
in-process, and prints CPU-ms per page for each stage (the best of three passes), then
the CPU-ms per report of the archive write (:func:`models.archive.record_report` as the
crawl's writer process runs it, in batches) into a fresh SQLite archive (the best of two).
``--store-only``: the archive write alone. ``--corpus``: CPU-ms per document of every stage
over :func:`corpus` (real pages, the gold set, the bench portal, county portals), cold and
warm; ``--save PATH`` / ``--check PATH``: every output field over that corpus, saved before
a change that must not change the output and compared after it. CPU time, not wall time: other load on the machine moves it
less. The crawl-level figure (full vs bare Scrapy) is section 1 of ``python -m benchmarks``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.portal import bench_portal
from nianbao.demo.portalgen import seed_reports
from nianbao.pipelines.decode import charset_of
from nianbao.pipelines.derive import STAGES
from nianbao.pipelines.document import Document

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "tests" / "fixtures" / "seeds"
REAL = REPO / "tests" / "fixtures" / "real"

# (name, url, body, content type, declared charset)
Capture = tuple[str, str, bytes, str, str | None]


def corpus(counties: int = 3) -> list[Capture]:
    """Every document the stage checks run over: the saved real pages, the gold set
    (templates x encodings x scripts, pinyin, spun and pasted prose), the bench portal's
    report column and ``counties`` county portals of look-alike reports
    (:func:`benchmarks.smallportals.make_portal`), list pages and negatives included."""
    import tomllib

    from benchmarks import goldset
    from benchmarks.smallportals import make_portal

    out: list[Capture] = []
    manifest = tomllib.loads((REAL / "manifest.toml").read_text(encoding="utf-8"))["pages"]
    for entry in manifest:
        body = (REAL / "pages" / f"{entry['name']}.html").read_bytes()
        out.append((f"real:{entry['name']}", entry["url"], body, "text/html", None))
    for gold in goldset.build():
        out.append((f"gold:{gold.name}", gold.url, gold.body, gold.content_type, gold.charset))
    seeds = seed_reports(SEEDS)
    portals = [("bench", bench_portal(seeds)[0])]
    portals += [(f"county{i}", make_portal(i, 40, seeds)) for i in range(counties)]
    for name, portal in portals:
        for path in portal.paths():
            page = portal.get(path)
            if path.startswith("/zwgk/") and page is not None:
                url = f"http://127.0.0.1{path}"
                ctype = page.content_type
                out.append((f"{name}:{path}", url, page.body, ctype, charset_of(ctype)))
    return out


def outputs(captures: list[Capture]) -> dict[str, dict[str, Any]]:
    """Every output field of the cleaning chain for each capture, as a crawl's cleaning
    worker leaves it (:func:`pipelines.stage.finish_sealed`: the stages, then a report's near-dup
    signature), and what the reactor's pre-filter says of the page: what a change that
    must not change behaviour compares before and after (``--save`` / ``--check``)."""
    from nianbao.pipelines import neardup, recognize
    from nianbao.pipelines.derive import document_for, finish

    out: dict[str, dict[str, Any]] = {}
    for name, url, body, ctype, charset in captures:
        doc, _ = finish(document_for(body, url, ctype, None, charset))
        fields = {
            key: value
            for key, value in vars(doc).items()
            if key not in ("removed", "signed", "done")
        }
        fields["removed"] = [vars(r) for r in doc.removed]
        page_text = " ".join(doc.page_lines)
        fields["candidate"] = [
            recognize.looks_like_candidate(t, page_text)
            for t in (doc.title, doc.metadata.get("title"))
        ]
        if "report" in doc.flags and doc.readable:
            signed = neardup.sign(doc.norm_text, doc.sha256)
            fields["signed"] = (
                signed.sha256,
                signed.keys.dtype.str,
                signed.keys.tobytes(),
                signed.minhash,
                signed.bands,
            )
        out[name] = fields
    return out


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


def store_time(
    pages: list[tuple[str, bytes, str]], passes: int = 2, batch: int = 32
) -> tuple[float, float, int]:
    """CPU-ms per recognised report of the archive write as a crawl's writer process does it
    behind a saturated crawl (:func:`models.writer._write`: ``batch`` reports a
    transaction, so each new version's signing, comparison and table cells are queued), the
    best of ``passes``; and the CPU-ms of the near-dup signature per report (paid when the
    queue is worked off: the idle writer, ``nianbao index``)."""
    from nianbao.models import jobs, writer
    from nianbao.models.archive import CaptureIn
    from nianbao.models.db import open_archive, sessionmaker_for
    from nianbao.pipelines import neardup
    from nianbao.pipelines.derive import derive

    docs = [derive(body, url, ctype, charset_of(ctype)) for url, body, ctype in pages]
    reports = [
        (body, ctype, doc)
        for (_url, body, ctype), doc in zip(pages, docs, strict=True)
        if "report" in doc.flags
    ]
    neardup.sign("预热" * 40, "")  # datasketch's import is start-up, not signing
    t = time.process_time()
    for _body, _ctype, doc in reports:
        neardup.sign(doc.norm_text, doc.sha256)
    sign_ms = (time.process_time() - t) / len(reports) * 1000
    best = float("inf")
    for _ in range(passes):
        with tempfile.TemporaryDirectory() as tmp:
            engine = open_archive(f"sqlite:///{tmp}/archive.sqlite")
            session_factory = sessionmaker_for(engine)
            t = time.process_time()
            work: list[Any] = [
                (
                    i,
                    jobs.store_capture,
                    (
                        "page",
                        CaptureIn(
                            "bench",
                            doc.url,
                            200,
                            datetime.now(UTC),
                            {"Content-Type": [ctype]},
                            body,
                        ),
                        doc.slim(),
                        None,
                        None,
                    ),
                    {},
                )
                for i, (body, ctype, doc) in enumerate(reports)
            ]
            while work:
                outcomes, rest = writer._write(session_factory, work[:batch])
                assert all(ok for _, ok, _ in outcomes), outcomes
                work = rest + work[batch:]
            best = min(best, (time.process_time() - t) / len(reports) * 1000)
            engine.dispose()
    return best, sign_ms, len(reports)


def corpus_times(captures: list[Capture], passes: int = 3) -> dict[str, dict[str, float]]:
    """CPU-ms per document of each stage as a crawl's cleaning worker runs them
    (:func:`pipelines.derive.finish`, then a report's near-dup signature), and of the
    reactor's pre-filter (``candidate``: :func:`pipelines.recognize.looks_like_candidate`
    on the page's text), by group of the corpus (the name before the colon; county
    portals together): ``cold`` is the first pass of the process (caches empty), ``warm``
    the best of the later ones (a worker that has cleaned the same site's pages before)."""
    from nianbao.pipelines import neardup, recognize
    from nianbao.pipelines.derive import document_for, finish

    def group(name: str) -> str:
        head = name.split(":", 1)[0]
        return "county" if head.startswith("county") else head

    runs: list[dict[str, dict[str, float]]] = []
    counts: dict[str, int] = {}
    for _ in range(passes):
        spent: dict[str, dict[str, float]] = {}
        for name, url, body, ctype, charset in captures:
            g = group(name)
            counts[g] = counts.get(g, 0) + (1 if not runs else 0)
            doc, ms = finish(document_for(body, url, ctype, None, charset))
            t = time.process_time()
            if "report" in doc.flags and doc.readable:
                neardup.sign(doc.norm_text, doc.sha256)
            ms["neardup"] = (time.process_time() - t) * 1000
            text = " ".join(doc.page_lines)
            t = time.process_time()
            recognize.looks_like_candidate(doc.title, text)
            ms["candidate"] = (time.process_time() - t) * 1000
            for stage, value in ms.items():
                spent.setdefault(g, {}).setdefault(stage, 0.0)
                spent[g][stage] += value
        runs.append(spent)
    out: dict[str, dict[str, float]] = {}
    for g, n in counts.items():
        for stage in runs[0][g]:
            out.setdefault(f"{g} cold", {})[stage] = runs[0][g][stage] / n
            warm = min(run[g][stage] for run in runs[1:]) if passes > 1 else runs[0][g][stage]
            out.setdefault(f"{g} warm", {})[stage] = warm / n
    return out


def check(path: str, save: bool) -> None:
    """``--save PATH``: every output field over the corpus, pickled; ``--check PATH``: the
    same now, compared field by field with the saved ones (a change that must not change
    the cleaner's output: run --save before it, --check after)."""
    import pickle

    now = outputs(corpus())
    if save:
        Path(path).write_bytes(pickle.dumps(now))
        print(f"{len(now)} documents saved to {path}")
        return
    before = pickle.loads(Path(path).read_bytes())
    same = [name for name in before if now.get(name) == before[name]]
    print(f"{len(before)} documents compared, {len(same)} identical")
    for name in before:
        if now.get(name) != before[name]:
            fields = [f for f in before[name] if (now.get(name) or {}).get(f) != before[name][f]]
            print(f"  differs: {name}: {', '.join(fields)}")
    if len(same) != len(before) or now.keys() != before.keys():
        sys.exit(1)


def main() -> None:
    if "--save" in sys.argv or "--check" in sys.argv:
        flag = "--save" if "--save" in sys.argv else "--check"
        check(sys.argv[sys.argv.index(flag) + 1], flag == "--save")
        return
    if "--corpus" in sys.argv:
        captures = corpus()
        print(f"cleaning worker and pre-filter, CPU-ms per document ({len(captures)} documents)")
        for group, times in corpus_times(captures).items():
            cols = "  ".join(f"{stage} {ms:.3f}" for stage, ms in times.items())
            print(
                f"  {group:12s} {cols}  (after extract {sum(times.values()) - times['extract']:.3f})"
            )
        return
    portal, _ = bench_portal(seed_reports(SEEDS))
    pages = []
    for path in portal.paths():
        page = portal.get(path)
        if path.startswith("/zwgk/") and page is not None:
            pages.append((f"http://127.0.0.1{path}", page.body, page.content_type))
    if "--store-only" not in sys.argv:
        print(f"cleaning stages, {len(pages)} candidate pages of the bench portal (CPU-ms/page)")
        times = stage_times(pages)
        for name, ms in times.items():
            print(f"  {name:12s}{ms:7.2f}")
        print(f"  {'total':12s}{sum(times.values()):7.2f}")
    ms, sign_ms, n = store_time(pages)
    print(f"near-dup signature (when the queue is worked off): {sign_ms:.2f} CPU-ms per report")
    print(f"archive write (SQLite, writer process): {ms:.2f} CPU-ms per report ({n} reports)")


if __name__ == "__main__":
    main()
