"""The archive writer's CPU per stored report, on a night's look-alike reports.

``python -m benchmarks.writer [--portals 30] [--reports 40] [--runs 2] [--baseline REV]
[--profile]``

The report pages of ``--portals`` county portals × ``--reports`` reports
(``benchmarks.smallportals.make_portal``: every county's reports share one template and
five seed texts, as in the nightly workload) are cleaned once here, as the crawl's
cleaning workers do, then written, portals interleaved as a crawl interleaves them, through :func:`models.writer._write` (batches of ``--batch`` jobs of
:func:`models.jobs.store_capture`, the writer process's own code) into a fresh SQLite
archive, in a child process each time (a cold writer, as a crawl starts one). Bodies are
gzip on the wire, as portals send them and the crawl stores them. Printed: the child's
CPU-ms per report for the writes themselves (what a saturated crawl's writer spends), and
with the work they queue (table cells, signing, comparisons: what the idle writer or
``nianbao index`` does later), the best of ``--runs`` by the first; and the links stored.

``--baseline REV``: the same pages written, in the same run and alternating with the
working tree, by the code of git revision ``REV`` (extracted to a temporary directory and
imported instead of the working tree), and the ratio. ``--profile``: cProfile's top
functions of the writes (not the queued work) by the working tree.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "tests" / "fixtures" / "seeds"
# The import name's package directories (pyproject.toml's package-dir).
PACKAGE_DIRS = {"models": "models", "pipelines": "pipelines", "crawler": "crawler"}
PACKAGE_DIRS["migrations"] = "alembic"


def make_jobs(portals: int, reports: int) -> list[tuple[Any, Any]]:
    """(CaptureIn, slimmed Document) of every recognised report page, interleaved."""
    from benchmarks.smallportals import make_portal
    from nianbao.demo.portalgen import seed_reports
    from nianbao.models.archive import CaptureIn
    from nianbao.pipelines.decode import charset_of
    from nianbao.pipelines.derive import derive

    seeds = seed_reports(SEEDS)
    per_portal: list[list[tuple[Any, Any]]] = []
    for i in range(portals):
        portal = make_portal(i, reports, seeds)
        out = []
        for path in sorted(portal.paths()):
            page = portal.get(path)
            if page is None or not path.startswith("/zwgk/ndbg/") or path.endswith("index.html"):
                continue
            url = f"http://127.0.0.1:{20000 + i}{path}"
            doc = derive(page.body, url, page.content_type, charset_of(page.content_type))
            if "report" not in doc.flags:
                continue
            headers = {"Content-Type": [page.content_type], "Content-Encoding": ["gzip"]}
            cap = CaptureIn(f"county{i}", url, 200, datetime.now(UTC), headers)
            cap.body = gzip.compress(page.body, 6, mtime=0)  # the wire body, as portals send
            out.append((cap, doc.slim()))
        per_portal.append(out)
    interleaved = []
    for j in range(max(len(p) for p in per_portal)):
        interleaved.extend(p[j] for p in per_portal if j < len(p))
    return interleaved


def _use_tree(root: Path, scratch: Path) -> None:
    """Import ``nianbao`` from the source tree at ``root`` instead of the installed one: a
    package directory of links laid out as pyproject's package-dir maps them, put first on
    ``sys.path`` (the editable install's finder comes after the path finder)."""
    pkg = scratch / "pkg" / "nianbao"
    pkg.mkdir(parents=True)
    for entry in (root / "nianbao").iterdir():
        (pkg / entry.name).symlink_to(entry)
    for name, folder in PACKAGE_DIRS.items():
        (pkg / name).symlink_to(root / folder)
    sys.path.insert(0, str(scratch / "pkg"))


def child(jobs_file: str, tree: str | None, batch: int, profile: bool) -> None:
    """One write of every job into a fresh archive; prints a JSON line of its numbers."""
    with tempfile.TemporaryDirectory() as tmp:
        if tree:
            _use_tree(Path(tree), Path(tmp))
        from sqlalchemy import func, select

        from nianbao.models import jobs, writer
        from nianbao.models.db import open_archive, sessionmaker_for
        from nianbao.models.tables import VersionLink

        with open(jobs_file, "rb") as f:
            items = pickle.load(f)
        engine = open_archive(f"sqlite:///{tmp}/archive.sqlite")
        factory = sessionmaker_for(engine)
        import numpy  # noqa: F401 - loaded before the clock, as the writer has it after its first

        work: list[Any] = [
            (i, jobs.store_capture, ("page", cap, doc, None, None), {})
            for i, (cap, doc) in enumerate(items)
        ]
        prof: Any = None
        if profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        t = time.process_time()
        while work:
            outcomes, rest = writer._write(factory, work[:batch])
            assert all(ok for _, ok, _ in outcomes), outcomes
            work = rest + work[batch:]
        written = time.process_time() - t
        if prof is not None:
            import pstats

            prof.disable()
            pstats.Stats(prof, stream=sys.stderr).sort_stats(
                os.environ.get("WPROF_SORT", "tottime")
            ).print_stats(os.environ.get("WPROF_FILTER", ""), 60)
        # A writer behind the crawl queues the table cells (migration 0016), the signing
        # and the comparisons (0014): done here, in the time, as the idle writer or `nianbao
        # index` does them (nothing queued before those revisions).
        from nianbao.models import figures, neardup

        for work_off in (
            getattr(figures, "store_pending", None),
            getattr(neardup, "link_pending", None),
        ):
            while work_off is not None:
                with factory.begin() as session:
                    if not work_off(session, 64):
                        break
        spent = time.process_time() - t
        with factory() as session:
            kinds = dict(
                session.execute(
                    select(VersionLink.kind, func.count()).group_by(VersionLink.kind)
                ).all()
            )
        engine.dispose()
    n = len(items)
    out = {"ms": spent / n * 1000, "write_ms": written / n * 1000, "n": n, "links": kinds}
    print(json.dumps(out))


def run_child(jobs_file: Path, tree: Path | None, batch: int, profile: bool = False) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.writer", "--child", str(jobs_file)]
    cmd += ["--batch", str(batch)] + (["--tree", str(tree)] if tree else [])
    cmd += ["--profile"] if profile else []
    out = subprocess.run(cmd, cwd=REPO, check=True, capture_output=not profile, text=True)
    if profile:
        return {}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--portals", type=int, default=30)
    parser.add_argument("--reports", type=int, default=40)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--baseline", help="a git revision to compare with")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.tree, args.batch, args.profile)
        return
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        t = time.process_time()
        items = make_jobs(args.portals, args.reports)
        print(f"{len(items)} report pages cleaned ({time.process_time() - t:.1f} CPU-s)")
        jobs_file = scratch / "jobs.pickle"
        jobs_file.write_bytes(pickle.dumps(items))
        if args.profile:
            run_child(jobs_file, None, args.batch, profile=True)
            return
        trees: dict[str, Path | None] = {"working tree": None}
        if args.baseline:
            base = scratch / "base"
            base.mkdir()
            archive = subprocess.run(
                ["git", "archive", args.baseline], cwd=REPO, check=True, capture_output=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
            trees = {f"baseline {args.baseline}": base, **trees}
        best: dict[str, dict] = {}
        for _ in range(args.runs):
            for name, tree in trees.items():
                r = run_child(jobs_file, tree, args.batch)
                if name not in best or r["write_ms"] < best[name]["write_ms"]:
                    best[name] = r
        print(f"writer CPU-ms per report, best of {args.runs} (SQLite, batches of {args.batch})")
        print(f"  {'':24s}{'write':>7s}{'+ queued':>10s}")
        for name, r in best.items():
            links = ", ".join(f"{k} {v}" for k, v in sorted(r["links"].items()))
            print(f"  {name:24s}{r['write_ms']:7.2f}{r['ms']:10.2f}   links: {links or 'none'}")
        if args.baseline:
            (base, new) = best.values()
            print(
                f"  ratio working tree / baseline: write {new['write_ms'] / base['write_ms']:.2f},"
                f" with the queued work {new['ms'] / base['ms']:.2f}"
            )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
