"""Incremental recrawl benchmark: what an unchanged portal costs the second time.

    .venv/bin/python -m benchmarks.incremental [N_REPORTS ...]     # default: 3 12 40

For each size, a generated county portal (nianbao/portalgen.py: TRS and Hanweb pages, DOCX
attachments behind landing pages, a paginated column) is crawled once into a fresh SQLite
archive, then again unchanged twice: with conditional requests (the default) and, as the
baseline in the same run, with ``NIANBAO_CONDITIONAL_ENABLED=False``. The portal's own
request log gives requests, 304 answers and body bytes sent; wall time is the CLI's.
Printed: the share of requests answered 304 and the bytes re-downloaded, as a share of
the first crawl and as a ratio to the unconditional recrawl. Both recrawls ask every
report (``--recheck``), as the next night's crawl does; a third, with the default revisit
schedule, asks only the lists (every report was checked minutes before).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nianbao.demo import SEEDS
from nianbao.demo.portalgen import Report, county_portal, seed_reports
from nianbao.demo.server import PortalServer

FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]


def crawl(db: str, url: str, *extra: str) -> None:
    """One ``nianbao crawl`` in a subprocess, as an operator runs it."""
    command = [sys.executable, "-m", "nianbao", "crawl", "--url", url, "--db", db, *FAST, *extra]
    subprocess.run(command, check=True, capture_output=True, timeout=3600)


def portal_reports(n: int) -> list[Report]:
    seeds = seed_reports(SEEDS)
    bodies = [seeds[k] for k in ("000", "001", "002")]
    out = []
    for i in range(n):
        _title, lines = bodies[i % 3]
        year = 2000 + i
        out.append(
            Report(
                f"{3000 + i}",
                f"第{i + 1}街道办事处{year}年政府信息公开工作年度报告",
                lines,
                f"{year + 1}-01-{10 + i % 18:02d}",
                "trs" if i % 2 else "hanweb",
                attachment=i % 4 == 3,
            )
        )
    return out


def run_once(db: str, url: str, portal, *extra: str) -> tuple[int, int, int, float]:  # type: ignore[no-untyped-def]
    portal.clear_log()
    started = time.perf_counter()
    crawl(db, url, *extra)
    seconds = time.perf_counter() - started
    log = list(portal.log)
    return len(log), sum(1 for _p, s, _b in log if s == 304), sum(b for _p, _s, b in log), seconds


def main(sizes: list[int]) -> None:
    print(f"{'reports':>7} {'pass':<14} {'requests':>8} {'304':>5} {'bytes':>9} {'s':>6}")
    for n in sizes:
        portal = county_portal(portal_reports(n), "方正县", per_page=10)
        with tempfile.TemporaryDirectory() as tmp, PortalServer(portal) as server:
            db = f"sqlite:///{Path(tmp) / 'archive.sqlite'}"
            first = run_once(db, server.url("/"), portal)
            plain = run_once(
                db, server.url("/"), portal, "--recheck", "-s", "NIANBAO_CONDITIONAL_ENABLED=False"
            )
            cond = run_once(db, server.url("/"), portal, "--recheck")
            scheduled = run_once(db, server.url("/"), portal)
        for name, (req, n304, size, secs) in (
            ("first crawl", first),
            ("unconditional", plain),
            ("conditional", cond),
            ("scheduled", scheduled),
        ):
            print(f"{n:>7} {name:<14} {req:>8} {n304:>5} {size:>9} {secs:>6.2f}")
        print(
            f"{'':>7} → {cond[1] / cond[0]:.0%} of requests answered 304; re-downloaded "
            f"{cond[2] / first[2]:.1%} of the first crawl's bytes, "
            f"{cond[2] / plain[2]:.2f}× the unconditional recrawl's; with the revisit "
            f"schedule (reports checked minutes ago not asked) {scheduled[2] / first[2]:.2%}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [3, 12, 40])
