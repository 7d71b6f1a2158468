"""A simulated night: many small portals recrawled by several workers on one Redis (issue 19).

``python -m benchmarks.night [--portals 1000] [--reports 5] [--workers 2] [--batch 250]
[--sqlite] [--shard] [--json FILE]`` — one command, not in ``make test``.

``--shard``: the workers split each batch's sources instead (``nianbao crawl --shard K/N``:
each source crawled by one worker, Redis keeping only the politeness leases), to compare
with the default, where every worker shares every source's frontier.

N generated county portals × M reports (``benchmarks.smallportals.make_portal``, each on
its own port of 127.0.0.1, gzip, ETag/Last-Modified and 304s like a real server) are
crawled twice by W worker processes sharing one Redis frontier (``$NIANBAO_BENCH_REDIS``,
else ``$NIANBAO_TEST_REDIS``, else redis://127.0.0.1:6379/0, under a key prefix of this
run's own) and one archive (a fresh PostgreSQL database, as ``benchmarks/__main__.py``
makes them; ``--sqlite`` for a file):

* **first**: the archive is empty: every page is downloaded, every report cleaned and
  stored (the first night);
* **night**: an unchanged recrawl: every page is asked for conditionally and answers 304
  (the night after the first: every report is due again under the revisit schedule).

PostgreSQL: a worker process holds a few connections (its writer's, one shared engine
for its crawlers' reads), not one a source: 2 workers × 250 sources held 13 in all
(2026-12-01). The first run of this benchmark (2026-11-29) exhausted the server with one
engine a source; ``--no-conn-check`` is still accepted and does nothing.

Each worker is ``nianbao.crawl.run`` (what ``nianbao crawl --redis`` runs) over a batch
of ``--batch`` sources at a time — one process per batch, all workers on the same batch
together, as a cron'd deployment would split a long list — with shared politeness on
(``crawler/polite.py``: at most ``CONCURRENT_REQUESTS_PER_DOMAIN`` = 2 requests per
portal across workers) but no delay or AutoThrottle, so the software's cost is measured,
not the waits.

Printed per phase: wall time, requests and requests/s, CPU-seconds of all worker
processes (their cleaning pools included), CPU-ms per request and per source, peak RSS of
a worker, the 1-minute load average before and after (the machine may be shared), and a
paper extrapolation to ``--target-portals`` portals on ``--target-workers`` workers.
Re-run it after a change to the crawl path with the same arguments to compare.

``--child`` is one worker's batch (internal).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from benchmarks.smallportals import FAST, REPO, SEEDS, make_portal, pg_admin, say

STATS = (
    "downloader/request_count",
    "downloader/response_count",
    "downloader/response_bytes",
    "downloader/response_status_count/304",
    "archive/new_reports",
    "archive/captures_not_modified",
    "polite/leases",
    "polite/waited_ms",
    "frontier/dequeued",
)


def child(
    db: str,
    urls_file: str,
    first: int,
    count: int,
    redis_url: str,
    prefix: str,
    extra: list[str],
    shard: str | None = None,
) -> None:
    """One worker's crawl of sources ``first .. first+count`` (with ``shard`` "K/N", only
    that shard of them, as ``nianbao crawl --shard`` takes it); prints its numbers as JSON."""
    t0 = time.perf_counter()
    from nianbao import crawl
    from nianbao.sources import SourceConfig, in_shard, parse_shard

    urls = json.loads(Path(urls_file).read_text())[first : first + count]
    sources = [
        SourceConfig(name=f"p{i:05d}", start_urls=[u], organ=None)
        for i, u in enumerate(urls, first)
    ]
    if shard:
        sources = in_shard(sources, *parse_shard(shard))
    overrides = dict(FAST) | {
        "CONCURRENT_REQUESTS": "2",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "2",
        "NIANBAO_REDIS_URL": redis_url,
        "NIANBAO_REDIS_PREFIX": prefix,
        # The night is the next night: every report is due again (the revisit schedule
        # would skip reports checked minutes ago; on later nights it asks ~1 in 4-7).
        "NIANBAO_REVISIT_MIN": "0",
    }
    if shard:  # Redis for politeness only, as `nianbao crawl --shard` sets it
        overrides["NIANBAO_REDIS_FRONTIER"] = "False"
    overrides |= dict(arg.split("=", 1) for arg in extra)
    results = crawl.run(sources, db, overrides)
    for r in results:
        if r.failed:  # said on stderr, kept by the driver if the worker crashes
            print(f"{r.name} failed: {r.reason} {r.error_kinds}", file=sys.stderr)
    totals = {k: sum(int(r.stats.get(k, 0)) for r in results) for k in STATS}
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the cleaning pool, reaped
    print(
        json.dumps(
            {
                "wall": time.perf_counter() - t0,
                "cpu": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
                "maxrss_mb": me.ru_maxrss / 1024,
                "failed": sum(r.failed for r in results),
                "statuses": sorted({r.status for r in results}),
                **totals,
            }
        )
    )


def _worker(
    db: str,
    urls_file: Path,
    first: int,
    count: int,
    redis: str,
    prefix: str,
    extra: list[str],
    shard: str | None = None,
) -> Any:
    args = [str(first), str(count), redis, prefix, *(f"--set={e}" for e in extra)]
    args += ["--child-shard", shard] if shard else []
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.night", "--child", db, str(urls_file), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def gather(procs: list[Any], timeout: float) -> list[tuple[str, str]]:
    """Every worker's (stdout, stderr), all read at once until each has exited.

    Not one ``communicate()`` after another: while the driver waited for the first worker,
    the second filled its stderr pipe (64 KiB: download give-ups, Twisted's tracebacks as
    hundreds of crawlers close) and blocked in ``write``, its crawlers still "busy" in
    Redis, so the first, waiting for them, never ended either (the stalled night, 2026-11-29).
    """
    with ThreadPoolExecutor(max_workers=max(1, len(procs))) as pool:
        return list(pool.map(lambda p: p.communicate(timeout=timeout), procs))


def phase(
    name: str, db: str, urls_file: Path, n: int, args: argparse.Namespace, redis: str
) -> dict:
    """Run every batch with all workers at once; sum what they report."""
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    runs: list[dict] = []
    for first in range(0, n, args.batch):
        count = min(args.batch, n - first)
        prefix = f"nianbao_night_{os.getpid()}_{secrets.token_hex(3)}"
        procs = [
            _worker(
                db,
                urls_file,
                first,
                count,
                redis,
                prefix,
                args.set,
                f"{w}/{args.workers}" if args.shard else None,
            )
            for w in range(1, args.workers + 1)
        ]
        for p, (out, err) in zip(procs, gather(procs, timeout=7200), strict=True):
            if p.returncode != 0:
                (Path(tempfile.gettempdir()) / "night-crash.log").write_text(err)
                raise RuntimeError(f"{name}: worker exit {p.returncode}:\n{err[-3000:]}")
            runs.append(json.loads(out.strip().splitlines()[-1]))
            failures = [ln for ln in err.splitlines() if " failed: " in ln]
            runs[-1]["failures"] = failures
            for line in failures[:3]:
                say(f"    ({name}) {line}")
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    total = {k: sum(r[k] for r in runs) for k in STATS}
    return {
        "phase": name,
        "portals": n,
        "wall": wall,
        "cpu": cpu,
        "cpu_reported": sum(r["cpu"] for r in runs),
        "maxrss_mb": max(r["maxrss_mb"] for r in runs),
        "failed": sum(r["failed"] for r in runs),
        "statuses": sorted({s for r in runs for s in r["statuses"]}),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        **total,
    }


def show(r: dict, args: argparse.Namespace) -> None:
    n, reqs = r["portals"], r["downloader/request_count"]
    say(
        f"  {r['phase']:6s} {r['wall']:7.1f} s wall  {reqs} requests ({reqs / r['wall']:.1f}/s, "
        f"{r['downloader/response_status_count/304']} × 304, "
        f"{r['downloader/response_bytes'] / 1e6:.1f} MB)  CPU {r['cpu']:.0f} s = "
        f"{r['cpu'] / reqs * 1000:.1f} CPU-ms/request, {r['cpu'] / n * 1000:.0f} CPU-ms/source; "
        f"peak RSS/worker {r['maxrss_mb']:.0f} MB; {r['archive/new_reports']} new reports; "
        f"polite waits {r['polite/waited_ms'] / 1000:.1f} s over {r['polite/leases']} leases; "
        f"{r['failed']} failed; statuses {','.join(r['statuses'])}; "
        f"load {r['load_before']:.1f} → {r['load_after']:.1f}"
    )


def extrapolate(r: dict, args: argparse.Namespace) -> None:
    """The night on paper: CPU per source scaled to the target, over the target workers."""
    per_source = r["cpu"] / r["portals"]
    cpu_h = per_source * args.target_portals / 3600
    cores_used = r["cpu"] / r["wall"]
    say(
        f"  on paper: {args.target_portals:,} portals × {per_source:.2f} CPU-s/source = "
        f"{cpu_h:.1f} CPU-hours; on {args.target_workers} workers of one core each "
        f"≈ {cpu_h / args.target_workers:.2f} h if CPU-bound (this run kept "
        f"{cores_used:.2f} cores busy with {args.workers} workers)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs=6, metavar=("DB", "URLS", "FIRST", "COUNT", "REDIS", "PREFIX"))
    ap.add_argument("--set", action="append", default=[], help="NAME=VALUE Scrapy setting")
    ap.add_argument("--portals", type=int, default=1000)
    ap.add_argument("--reports", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=250, help="sources per worker process")
    ap.add_argument("--sqlite", action="store_true", help="a SQLite file, not PostgreSQL")
    ap.add_argument("--no-conn-check", action="store_true", help=argparse.SUPPRESS)  # obsolete
    ap.add_argument("--target-portals", type=int, default=50_000)
    ap.add_argument("--target-workers", type=int, default=10)
    ap.add_argument(
        "--shard",
        action="store_true",
        help="each worker crawls its own shard of a batch's sources (nianbao crawl --shard),"
        " Redis keeping only the politeness; default: all share each source's frontier",
    )
    ap.add_argument("--child-shard", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the numbers to this file")
    args = ap.parse_args()
    if args.child:
        db, urls, first, count, redis, prefix = args.child
        child(db, urls, int(first), int(count), redis, prefix, args.set, args.child_shard)
        return

    from nianbao.demo.portalgen import seed_reports
    from nianbao.demo.server import PortalServers

    redis = (
        os.environ.get("NIANBAO_BENCH_REDIS")
        or os.environ.get("NIANBAO_TEST_REDIS")
        or "redis://127.0.0.1:6379/0"
    )
    from nianbao.crawler.frontier import check

    check(redis)
    pg = None if args.sqlite else pg_admin()
    if pg is None and not args.sqlite:
        raise SystemExit("PostgreSQL is not reachable: pass --sqlite")
    work = Path(tempfile.mkdtemp(prefix="nianbao-night-"))
    n, m = args.portals, args.reports
    say(
        f"night: {n} portals × {m} reports, {args.workers} workers on one Redis "
        f"({'each its own shard of the sources' if args.shard else 'sharing every source'}), "
        f"{args.batch} sources per worker process, into "
        f"{'SQLite' if args.sqlite else 'PostgreSQL'}{'; ' if args.set else ''}{' '.join(args.set)}"
        "; `uptime` at start: "
        + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    )
    from benchmarks.__main__ import pg_database

    results = []
    try:
        seeds = seed_reports(SEEDS)
        # One accepting thread for all portals (nianbao.demo.server.PortalServers).
        with PortalServers([make_portal(i, m, seeds) for i in range(n)]) as servers:
            urls_file = work / "urls.json"
            urls_file.write_text(json.dumps(servers.urls("/")))
            db_ctx = pg_database(pg) if pg else nullcontext(f"sqlite:///{work / 'night.sqlite'}")
            with db_ctx as db:
                for name in ("first", "night"):
                    r = phase(name, db, urls_file, n, args, redis)
                    show(r, args)
                    results.append(r)
        extrapolate(results[-1], args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say(
        "`uptime` at end: "
        + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "phases": results}, indent=1))


if __name__ == "__main__":
    main()
