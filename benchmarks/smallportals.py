"""Many small portals: the nightly workload's shape (issue 19). One command, not in ``make test``.

``python -m benchmarks.smallportals [--portals 30,300,1000] [--reports 40] [--no-pg] [--runs 1]``

N county portals × M reports each (``nianbao.demo.portalgen.county_portal``: a home page,
a 政务公开 column, a 年度报告 column paginated 20 to a page, look-alike negatives), each
portal on its own port of 127.0.0.1 (its own host:port, as on the real web), served gzip
by this process. For every N, in one run and on the same pages:

* bare Scrapy: the same spider and settings, no item pipelines (nothing extracted,
  cleaned or stored), as ``benchmarks/crawlrun.py`` does;
* the full ``nianbao crawl`` (``nianbao.crawl.run``, every source in one process) into
  SQLite, and into PostgreSQL when it answers (see ``benchmarks/__main__.py``);
* an unchanged recrawl of the SQLite archive, and a bare "recrawl" for comparison (bare
  Scrapy has no archive, so it downloads everything again).

* the ``nianbao crawl`` command itself into a new SQLite archive (``python -m nianbao
  crawl --url … -s …``, timed by this process from start to exit): what a user or a held-out
  bench runs, so its start-up (interpreter and imports included) and what it prints after
  the crawl (the per-source lines, the change digest) count too;

* plain Scrapy, for reference: a ``CrawlSpider`` with a ``LinkExtractor`` and Scrapy's
  defaults on the same portals (what "bare Scrapy" means without nianbao's spider), and
  the bare and full crawls' rates as a share of its rate.

Reported: report pages/s (N×M report pages over the crawl's wall time, start-up
included), requests/s, CPU-seconds of the crawl process per report page and per source,
peak RSS of the crawl process (each crawl's best of ``--runs``), and the ratio of each
crawl's rate to bare's: each run's crawl against the bare crawl of the same run (they run
minutes apart at most), the median and range over the runs. The machine this was built on
drifted by a quarter in speed within minutes; the best of each crawl taken apart paired
bare's luckiest moment with the full crawl's, and moved the ratio by ±0.1 from one
invocation to the next. Politeness is off (no delay, no
AutoThrottle) so the software is measured; each source may have ``--per-source``
requests in flight (default 2, the default ``CONCURRENT_REQUESTS_PER_DOMAIN``).

A saturated crawl leaves its new versions queued for the search index (migrations 0013,
0015: the writer indexes them only with a core to spare). After each full crawl the child
runs what ``nianbao index`` runs, timed apart from the crawl; it is printed under the
crawl's line with the ratio counting it, so nothing the crawl put off goes unmeasured.

Where the time goes, for bare and the full crawl (their best runs): the crawl's phases
(start-up until the first response, fetching until the last, and what is left after it:
cleaning and writing what was fetched, closing the sources), the core-seconds the
machine left idle, and the CPU of the crawl process apart from its helpers'. The crawl
process is the one serial stage: while fetching, a full crawl waits for it as bare
Scrapy does, so what it spends beyond bare's lengthens the fetching; what the helpers
have not finished by the last response is the time after it. (The helpers' figure is
every process of the crawl less the crawl process's own CPU when it printed its numbers,
so it holds that process's exit too: bare's figure is its exit alone.) Bare Scrapy is
bound by one thread (the reactor), so a core idles beside it; a full crawl whose helpers
keep both cores busy is bound by its total CPU instead, and only less CPU in all its
processes makes it faster.

``--child`` is the crawl process itself (internal).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "tests" / "fixtures" / "seeds"


def say(line: str = "") -> None:
    print(line, flush=True)


# --- the portals --------------------------------------------------------------------------


def make_portal(i: int, m: int, seeds: dict[str, tuple[str, list[str]]]) -> Any:
    from benchmarks.portal import BUREAUS, TOWNS
    from nianbao.demo.portalgen import Report, county_portal

    county = f"第{i}县"
    organs = [f"{county}{t}" for t in TOWNS + BUREAUS]
    seed_list = [seeds[k] for k in sorted(seeds)]
    reports = []
    for j in range(m):
        organ, year = organs[j % len(organs)], 2023 - j // len(organs)
        _title, lines = seed_list[(i + j) % len(seed_list)]
        title = f"{organ}{year}年政府信息公开工作年度报告"
        body = [f"本报告由{organ}编制。", *(ln.replace("2014", str(year)) for ln in lines)]
        reports.append(
            Report(
                f"{j:04d}",
                title,
                body,
                f"{year + 1}-01-{1 + j % 28:02d}",
                "hanweb" if j % 3 else "trs",
            )
        )
    return county_portal(reports, county, per_page=20)


# --- the crawl process ----------------------------------------------------------------------


class PhaseClock:
    """A Scrapy extension in the benchmark's crawl process: when the first and the last
    response of all its sources arrived (one clock for every crawler of the process)."""

    first: float | None = None
    last: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> PhaseClock:
        from scrapy import signals

        ext = cls()
        crawler.signals.connect(ext.received, signal=signals.response_received)
        return ext

    def received(self, **_: Any) -> None:
        now = time.perf_counter()
        if PhaseClock.first is None:
            PhaseClock.first = now
        PhaseClock.last = now


def idle_core_seconds() -> float | None:
    """The machine's idle (and I/O wait) time so far, in core-seconds (Linux's /proc/stat)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()[1:]
        return (int(fields[3]) + int(fields[4])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


FAST = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "NIANBAO_MAX_PAGES": "100000",
    "NIANBAO_PROGRESS_INTERVAL": "0",
    "LOG_LEVEL": "WARNING",
}


def crawl_settings(per_source: int, extra: list[str]) -> dict[str, str]:
    """The Scrapy settings every nianbao crawl of the benchmark runs with (``crawl.run`` in
    the child, and the ``nianbao crawl`` command): :data:`FAST`, ``per_source`` requests in
    flight, then ``--set NAME=VALUE``."""
    settings = dict(FAST) | {
        "CONCURRENT_REQUESTS": str(per_source),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(per_source),
    }
    return settings | dict(arg.split("=", 1) for arg in extra)


def child(db: str, urls_file: str, mode: str, per_source: int, extra: list[str]) -> None:
    """One crawl of every portal in ``urls_file``; prints its numbers as JSON."""
    t0 = time.perf_counter()
    idle0 = idle_core_seconds()
    if mode == "plain":
        results = _plain_crawl(urls_file, per_source)
        wall = time.perf_counter() - t0
        _say_child(wall, results, 0, 0.0, 0.0)
        return
    from nianbao.startup import uncollected_imports

    with uncollected_imports():  # as the `nianbao crawl` command imports it
        from nianbao import crawl
        from nianbao.sources import SourceConfig

    urls = json.loads(Path(urls_file).read_text())
    sources = [
        SourceConfig(name=f"p{i:05d}", start_urls=[u], organ=None) for i, u in enumerate(urls)
    ]
    from nianbao.crawler.settings import EXTENSIONS

    overrides = crawl_settings(per_source, extra)
    overrides["EXTENSIONS"] = json.dumps(EXTENSIONS | {f"{__name__}.PhaseClock": 900})
    if mode == "bare":
        overrides["ITEM_PIPELINES"] = "{}"
    results = crawl.run(sources, db, overrides)
    end = time.perf_counter()
    idle1 = idle_core_seconds()
    wall = end - t0
    phases = {}
    if PhaseClock.first is not None and PhaseClock.last is not None:
        phases = {
            "startup": PhaseClock.first - t0,
            "fetching": PhaseClock.last - PhaseClock.first,
            "after": end - PhaseClock.last,
        }
    if idle0 is not None and idle1 is not None:
        phases["idle_core_s"] = idle1 - idle0
    cpu0 = time.process_time()
    queued, index_wall = _index_queue(db) if mode != "bare" else (0, 0.0)
    index_cpu = time.process_time() - cpu0
    _say_child(wall, results, queued, index_wall, index_cpu, phases)


def _say_child(
    wall: float,
    results: list[Any],
    queued: int,
    index_wall: float,
    index_cpu: float,
    phases: dict[str, float] | None = None,
) -> None:
    """The crawl process's numbers, as one JSON line on stdout."""
    total: dict[str, int] = {}
    for r in results:
        for key in (
            "downloader/response_count",
            "downloader/request_count",
            "downloader/response_bytes",
            "archive/new_reports",
            "archive/captures_not_modified",
            "conditional/replayed",
            "downloader/response_status_count/304",
        ):
            total[key] = total.get(key, 0) + int(r.stats.get(key, 0))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    own = usage.ru_utime + usage.ru_stime
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": own,
                "own_cpu": own - index_cpu,  # the crawl process alone, the index step apart
                "maxrss_mb": usage.ru_maxrss / 1024,
                "failed": sum(r.failed for r in results),
                "errors": sum(r.errors for r in results),
                "queued": queued,
                "index_wall": index_wall,
                "index_cpu": index_cpu,
                "phases": phases or {},
                **total,
            }
        )
    )


def _plain_crawl(urls_file: str, per_source: int) -> list[Any]:
    """A plain Scrapy crawl of the same portals, for reference: a ``CrawlSpider`` following
    every in-domain link (``LinkExtractor``), Scrapy's defaults (robots.txt obeyed), no
    pipelines, politeness off as in FAST. What "bare Scrapy" means to someone who never saw
    nianbao's spider; the ``bare`` row is that spider with its pipelines off."""
    from types import SimpleNamespace
    from urllib.parse import urlsplit

    from scrapy.crawler import CrawlerProcess
    from scrapy.linkextractors import LinkExtractor
    from scrapy.spiders import CrawlSpider, Rule

    class Plain(CrawlSpider):
        name = "plain"
        rules = (Rule(LinkExtractor(), follow=True),)

        def __init__(self, url: str, **kw: Any) -> None:
            self.start_urls = [url]
            self.allowed_domains = [str(urlsplit(url).hostname)]
            super().__init__(**kw)

    process = CrawlerProcess(
        {
            "LOG_LEVEL": "WARNING",
            "ROBOTSTXT_OBEY": True,
            "TELNETCONSOLE_ENABLED": False,
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "CONCURRENT_REQUESTS": per_source,
            "CONCURRENT_REQUESTS_PER_DOMAIN": per_source,
        }
    )
    crawlers = []
    for url in json.loads(Path(urls_file).read_text()):
        crawler = process.create_crawler(Plain)
        crawlers.append(crawler)
        process.crawl(crawler, url=url)
    process.start()
    return [
        SimpleNamespace(stats=c.stats.get_stats() if c.stats else {}, failed=0, errors=0)
        for c in crawlers
    ]


def _index_queue(db: str) -> tuple[int, float]:
    """What ``nianbao index`` does after the crawl, timed apart from it: the versions the
    crawl left queued for comparison with their look-alikes (migration 0014) and for the
    search index (migration 0013), and the seconds to work both off. Returns the larger
    queue (a version is usually in both)."""
    from nianbao.models.db import open_archive, sessionmaker_for
    from nianbao.models.queued import QUEUES, work_off

    engine = open_archive(db)
    Session = sessionmaker_for(engine)
    t0 = time.perf_counter()
    with Session() as session:
        queued = max(queue.pending(session) for queue in QUEUES)
    for queue in QUEUES:
        for _done in work_off(Session, queue):
            pass
    engine.dispose()
    return queued, time.perf_counter() - t0


# --- the driver -------------------------------------------------------------------------


def run_crawl(db: str, urls_file: Path, mode: str, per_source: int, extra: list[str]) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "faulthandler",
            "-m",
            "benchmarks.smallportals",
            "--child",
            db,
            str(urls_file),
            mode,
        ]
        + ["--per-source", str(per_source)]
        + [f"--set={e}" for e in extra],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=3600,
    )
    if proc.returncode != 0:
        (Path(tempfile.gettempdir()) / "smallportals-crash.log").write_text(proc.stderr)
        raise RuntimeError(
            f"crawl ({mode}) exit {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    # the child's own figure is the same minus interpreter exit; keep the parent's view,
    # less the search-index catch-up, reported on its own
    out["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out["cpu"] -= out.get("index_cpu", 0.0)
    # what its helpers (cleaning workers, archive writer) used: every process, less its own
    # as it printed it (so its exit, freeing the crawl's objects, counts here too)
    out["helpers_cpu"] = max(0.0, out["cpu"] - out.get("own_cpu", out["cpu"]))
    return out


def pg_admin() -> str | None:
    url = (
        os.environ.get("NIANBAO_BENCH_PG")
        or os.environ.get("NIANBAO_TEST_PG")
        or "postgresql://postgres@127.0.0.1:5432/test"
    )
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return url
    except Exception as exc:  # noqa: BLE001 - no PostgreSQL: its rows are skipped, said aloud
        say(f"  (PostgreSQL at {url} not reachable, skipped: {exc})")
        return None


def paired(
    runs: list[dict[str, dict]], name: str, of: Callable[[dict, dict], float] | None = None
) -> list[float]:
    """``name``'s ratio to bare in every run that has both, each against the bare crawl of
    its own run (``of``: the ratio of what, from the two results; default bare's wall time
    over ``name``'s, i.e. the ratio of their rates)."""
    of = of or (lambda r, bare: bare["wall"] / r["wall"])
    return [of(run[name], run["bare"]) for run in runs if name in run and "bare" in run]


def spread(ratios: list[float]) -> str:
    """The median of the paired ratios, and their range when there are several."""
    if not ratios:
        return "?"
    median = statistics.median(ratios)
    if len(ratios) == 1:
        return f"{median:.2f}"
    return f"{median:.2f} ({min(ratios):.2f}–{max(ratios):.2f})"


def line(name: str, r: dict, n: int, m: int, runs: list[dict[str, dict]] | None) -> str:
    reports = n * m
    rate = reports / r["wall"]
    reqs = r["downloader/request_count"] / r["wall"]
    ratio = ""
    if runs is not None:
        ratio = f"  ratio {spread(paired(runs, name))}"
    index = ""
    if runs is not None and r.get("queued"):
        with_index = statistics.median(
            paired(runs, name, lambda x, bare: bare["wall"] / (x["wall"] + x["index_wall"]))
        )
        index = (
            f"\n  {'':22s}then `nianbao index`: {r['queued']} versions left queued (links, search), "
            f"indexed in {r['index_wall']:.1f} s ({r['index_cpu'] / r['queued'] * 1000:.1f} CPU-ms "
            f"each); the ratio counting that: {with_index:.2f}"
        )
    return (
        f"  {name:22s}{rate:7.1f} report pages/s {reqs:7.1f} req/s{ratio:26s} "
        f"{r['cpu'] / reports * 1000:6.1f} CPU-ms/report page "
        f"{r['cpu'] / n * 1000:7.0f} CPU-ms/source  RSS {r['maxrss_mb']:5.0f} MB  "
        f"({r['downloader/request_count']} req, {r['downloader/response_bytes'] / 1e6:.1f} MB, "
        f"{r['downloader/response_status_count/304']} × 304, {r['failed']} failed, "
        f"{r['errors']} errors)" + index
    )


def run_cli(db: Path, urls_file: Path, per_source: int, extra: list[str]) -> dict:
    """``nianbao crawl`` as a user runs it, into a new archive at ``db``: its wall time from
    start to exit and its CPU (every process of it), as this process sees them."""
    settings = crawl_settings(per_source, extra)
    command = [sys.executable, "-m", "nianbao", "crawl", "--db", str(db)]
    for url in json.loads(urls_file.read_text()):
        command += ["--url", url]
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=3600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"nianbao crawl exit {proc.returncode}:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    done = [ln for ln in proc.stdout.splitlines() if ln.startswith("done: ")]
    return {"wall": wall, "cpu": cpu, "done": done[-1] if done else "?"}


def measure(n: int, m: int, work: Path, per_source: int, pg: str | None, runs: int) -> dict:
    from benchmarks.__main__ import pg_database
    from nianbao.demo.portalgen import seed_reports
    from nianbao.demo.server import PortalServers

    seeds = seed_reports(SEEDS)
    portals = [make_portal(i, m, seeds) for i in range(n)]
    results: dict[str, dict] = {}
    runs_seen: list[dict[str, dict]] = []  # every run's results, for the paired ratios
    # One accepting thread for all portals: N serve_forever loops polling for shutdown took
    # 0.67 of a core at N = 1,000 with nothing asked, from the crawl being measured.
    with PortalServers(portals) as servers:
        urls_file = work / f"urls{n}.json"
        urls_file.write_text(json.dumps(servers.urls("/")))
        extra: list[str] = []

        def best(name: str, r: dict) -> None:
            runs_seen[-1][name] = r
            if name not in results or r["wall"] < results[name]["wall"]:
                results[name] = r

        for i in range(runs):
            runs_seen.append({})
            best("plain scrapy", run_crawl("", urls_file, "plain", per_source, extra))
            best(
                "bare",
                run_crawl(
                    f"sqlite:///{work / f'bare{n}_{i}.sqlite'}",
                    urls_file,
                    "bare",
                    per_source,
                    extra,
                ),
            )
            db = work / f"full{n}_{i}.sqlite"
            best("full sqlite", run_crawl(f"sqlite:///{db}", urls_file, "full", per_source, extra))
            best(
                "recrawl sqlite", run_crawl(f"sqlite:///{db}", urls_file, "full", per_source, extra)
            )
            best(
                "nianbao crawl", run_cli(work / f"cli{n}_{i}.sqlite", urls_file, per_source, extra)
            )
            if pg:
                with pg_database(pg) as pg_url:
                    best("full postgresql", run_crawl(pg_url, urls_file, "full", per_source, extra))
                    best(
                        "recrawl postgresql",
                        run_crawl(pg_url, urls_file, "full", per_source, extra),
                    )
        report(results, runs_seen, n, m, per_source)
    results["paired ratios"] = {
        name: paired(runs_seen, name) for name in results if name not in ("bare", "plain scrapy")
    }
    for name in ("recrawl sqlite", "recrawl postgresql"):
        if name in results:
            results["paired ratios"][f"{name}, req/s while fetching"] = paired(
                runs_seen, name, _fetching
            )
    return results


def say_phases(results: dict) -> None:
    """Where each crawl's time went (its best run): its phases, and how much of the
    machine's cores it left idle (a crawl bound by one thread leaves a core idle; one that
    keeps every core busy is bound by its total CPU)."""
    cores = os.cpu_count() or 1
    for name in ("bare", "full sqlite", "full postgresql"):
        phases = results.get(name, {}).get("phases")
        if not phases or "startup" not in phases:
            continue
        wall = results[name]["wall"]
        idle = ""
        if "idle_core_s" in phases:
            idle = (
                f"; the machine's {cores} cores idle {phases['idle_core_s']:.1f} of "
                f"{cores * wall:.1f} core-s ({phases['idle_core_s'] / (cores * wall):.0%})"
            )
        say(
            f"  {name + ' phases':24s}start-up {phases['startup']:.2f} s, fetching "
            f"{phases['fetching']:.2f} s, after the last response {phases['after']:.2f} s{idle}"
        )
        if "own_cpu" in results[name]:
            r = results[name]
            say(
                f"  {'':24s}CPU: the crawl process {r['own_cpu']:.2f} s, its helpers "
                f"(and its exit) {r['helpers_cpu']:.2f} s"
            )


def report(results: dict, runs: list[dict[str, dict]], n: int, m: int, per_source: int) -> None:
    """Rates, CPU and memory: each crawl's best run. Ratios to bare: each run's crawl
    against the bare crawl of the same run (minutes apart at most), their median and range:
    the machine's speed drifts by a quarter within minutes, and the best of each crawl
    apart paired bare's luckiest moment with the full crawl's."""
    say(
        f"\nN = {n} portals × M = {m} reports ({n * m} report pages), {per_source} in flight per portal"
        + (
            f"; ratios: median (range) of {len(runs)} runs, each against its own run's bare crawl"
            if len(runs) > 1
            else ""
        )
    )
    for name in ("bare", "full sqlite", "full postgresql", "recrawl sqlite", "recrawl postgresql"):
        if name in results:
            say(line(name, results[name], n, m, None if name == "bare" else runs))
    say_phases(results)
    cli = results.get("nianbao crawl")
    if cli:
        reports = n * m
        say(
            f"  {'nianbao crawl (CLI)':22s}{reports / cli['wall']:7.1f} report pages/s  "
            f"ratio {spread(paired(runs, 'nianbao crawl'))}  {cli['cpu'] / reports * 1000:6.1f} "
            f"CPU-ms/report page  ({cli['wall']:.1f} s from start to exit; {cli['done']})"
        )
    plain = results.get("plain scrapy")
    if plain:
        say(line("plain scrapy", plain, n, m, None))
        for name in ("bare", "full sqlite", "full postgresql", "nianbao crawl"):
            if name in results:
                against = [
                    run["plain scrapy"]["wall"] / run[name]["wall"]
                    for run in runs
                    if name in run and "plain scrapy" in run
                ]
                say(f"  {name} ÷ plain Scrapy (CrawlSpider + LinkExtractor): {spread(against)}")
    for name in ("recrawl sqlite", "recrawl postgresql"):
        if name in results:
            r = results[name]
            reqs = paired(
                runs,
                name,
                lambda x, bare: (
                    (x["downloader/request_count"] / x["wall"])
                    / (bare["downloader/request_count"] / bare["wall"])
                ),
            )
            say(
                f"  {name}: {r['downloader/request_count'] / r['wall']:.1f} req/s (best run), "
                f"ratio to bare's req/s {spread(reqs)}, {spread(paired(runs, name, _fetching))} "
                f"while fetching; "
                f"bytes {r['downloader/response_bytes'] / max(1, results['full sqlite']['downloader/response_bytes']):.4f} of the first crawl's"
            )


def _fetching(x: dict, bare: dict) -> float:
    """The recrawl's requests/s over bare's, each from its first response to its last.

    The start-up both pay (imports, the archive opened, the crawlers built: ≈ 1.3 s) is a
    third of a whole recrawl of 30 × 40 (420 requests) and a fifth of bare's crawl (1,680),
    so whole-run rates compare a short crawl's start-up with a long one's; this ratio
    compares their fetching. NaN when a run has no phases."""
    spans = [r.get("phases", {}).get("fetching") for r in (x, bare)]
    if not all(spans):
        return float("nan")
    return (x["downloader/request_count"] / spans[0]) / (
        bare["downloader/request_count"] / spans[1]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs=3, metavar=("DB", "URLS", "MODE"))
    ap.add_argument("--set", action="append", default=[], help="NAME=VALUE Scrapy setting")
    ap.add_argument("--portals", default="30,300,1000")
    ap.add_argument("--reports", type=int, default=40)
    ap.add_argument("--per-source", type=int, default=2)
    ap.add_argument(
        "--runs", type=int, default=1, help="runs (rates: the best; ratios: paired by run)"
    )
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--json", help="also write the numbers to this file")
    args = ap.parse_args()
    if args.child:
        db, urls_file, mode = args.child
        child(db, urls_file, mode, args.per_source, args.set)
        return
    pg = None if args.no_pg else pg_admin()
    work = Path(tempfile.mkdtemp(prefix="nianbao-small-"))
    out = {}
    try:
        for n in (int(x) for x in args.portals.split(",")):
            out[n] = measure(n, args.reports, work, args.per_source, pg, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
