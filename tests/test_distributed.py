"""Two crawler processes, one Redis frontier, one archive: every page fetched once.

The workers are real ``nianbao crawl`` processes pointed at the Redis in
``$NIANBAO_TEST_REDIS`` under a key prefix of this test's own (deleted afterwards). The
portal holds every response until both workers have joined the frontier, so neither can
finish the crawl alone before the other starts; what each then fetches is up to them.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from nianbao.demo.portalgen import Report as PortalReport
from nianbao.demo.portalgen import county_portal
from nianbao.demo.server import Page, Portal
from nianbao.models.db import open_archive, sessionmaker_for
from nianbao.models.tables import Capture, CrawlRun, Report, Version
from tests.conftest import FAST, NIANBAO, REDIS_ENV, crawl

TOWNS = ["苏家店", "王家山", "宝兴", "德善", "会发", "伊汉通", "天门", "松南", "永建", "宝兴东"]


@pytest.fixture
def redis_frontier() -> Iterator[tuple[str, str]]:
    """(Redis URL, a key prefix of this test's own); fails if the set URL is unreachable."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set: no Redis to share a frontier through")
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        pytest.fail(f"{REDIS_ENV}={url} is set but Redis cannot be reached: {exc}", False)
    prefix = f"nianbao_test_{os.getpid()}_{secrets.token_hex(4)}"
    yield url, prefix
    stale = list(client.scan_iter(f"{prefix}:*"))
    if stale:
        client.delete(*stale)
    client.close()


def _portal(seeds: dict[str, tuple[str, list[str]]]) -> Portal:
    _title, lines = seeds["002"]
    reports = [
        PortalReport(
            f"{2001 + i}",
            f"{town}镇{2014 + i % 8}年政府信息公开工作年度报告",
            [line.replace("2014", str(2014 + i % 8)) for line in lines],
            f"{2015 + i % 8}-01-{10 + i:02d}",
        )
        for i, town in enumerate(TOWNS)
    ]
    return county_portal(reports, "方正县", per_page=4)


def _hold_until(portal: Portal, gate: threading.Event) -> None:
    """Make every request wait for ``gate`` (the server answers from its own threads)."""
    get = portal.get

    def gated(path: str):  # type: ignore[no-untyped-def]
        gate.wait(timeout=120)
        return get(path)

    portal.get = gated  # type: ignore[method-assign]


def _wait_for_workers(url: str, prefix: str, n: int, procs: list[subprocess.Popen]) -> None:
    import redis

    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            joined = sum(client.zcard(k) for k in client.scan_iter(f"{prefix}:*:workers"))
            if joined >= n:
                return
            dead = [p for p in procs if p.poll() is not None]
            if dead:
                out, err = dead[0].communicate()
                raise AssertionError(f"a worker exited before the crawl began:\n{out}\n{err}")
            time.sleep(0.05)  # polling a condition, not waiting out a race
        raise AssertionError(f"{n} workers did not join the frontier {prefix} in time")
    finally:
        client.close()


def _stat(log: str, name: str) -> int:
    """A counter from the stats a ``nianbao crawl -v`` prints at its end (0 if not there)."""
    found = re.findall(rf"'{re.escape(name)}': (\d+)", log)
    assert len(found) <= 1, f"{name} printed {len(found)} times"
    return int(found[0]) if found else 0


def _two_workers(  # type: ignore[no-untyped-def]
    db_url: str,
    portal: Portal,
    serve,
    redis_url: str,
    prefix: str,
    *extra: str,
    starts: tuple[str, str] = ("/", "/"),
) -> list[tuple[str, str]]:
    """Crawl ``portal`` with two ``nianbao crawl`` workers sharing a frontier; their stdout
    and stderr.

    Both are one source (an ad-hoc source is named after the host), whatever their start.
    """
    gate = threading.Event()
    _hold_until(portal, gate)
    server = serve(portal)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("NIANBAO_DB", None)
    commands = [
        [
            *NIANBAO,
            "crawl",
            "--url",
            server.url(start),
            *FAST,
            *extra,
            "-s",
            f"USER_AGENT=worker{i}",
        ]
        for i, start in enumerate(starts)
    ]
    common = [
        "--redis",
        redis_url,
        "-s",
        f"NIANBAO_REDIS_PREFIX={prefix}",
        "--db",
        db_url,
    ]
    procs = [
        subprocess.Popen(
            [*command, *common], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for command in commands
    ]
    try:
        _wait_for_workers(redis_url, prefix, 2, procs)
        gate.set()
        outputs = [p.communicate(timeout=300) for p in procs]
    finally:
        gate.set()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, f"stdout:\n{out}\nstderr:\n{err}"
    return outputs


@pytest.mark.backend("sqlite", "postgresql")
def test_two_workers_share_one_frontier(db_url, seeds, serve, redis_frontier):
    redis_url, prefix = redis_frontier
    portal = _portal(seeds)
    pages = [p for p in portal.paths() if p != "/robots.txt"]
    _two_workers(db_url, portal, serve, redis_url, prefix)

    fetched = Counter(path for path, _status, _size in portal.log)
    assert fetched.pop("/robots.txt") in (1, 2)  # each worker that fetches obeys robots.txt
    twice = {path: n for path, n in fetched.items() if n > 1}
    assert twice == {}, f"fetched more than once: {twice}"
    assert set(pages) <= set(fetched), f"never fetched: {sorted(set(pages) - set(fetched))}"

    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == len(TOWNS)
        assert session.scalar(select(func.count()).select_from(Version)) == len(TOWNS)
        per_url = session.execute(
            select(Capture.url, func.count()).where(Capture.kind == "report").group_by(Capture.url)
        ).all()
        assert len(per_url) == len(TOWNS) and all(n == 1 for _url, n in per_url)
        # Each worker's run row says how it ended; a worker whose peer did it all is idle,
        # never "failed" (cron would page someone for nothing).
        statuses = session.scalars(select(CrawlRun.status)).all()
        assert len(statuses) == 2 and set(statuses) <= {"ok", "idle"}, statuses
    engine.dispose()

    import redis

    client = redis.Redis.from_url(redis_url)
    assert list(client.scan_iter(f"{prefix}:*")) == []  # the last worker out cleaned up
    client.close()


@pytest.mark.backend("sqlite")
def test_the_worker_that_met_a_503_fetches_the_page_itself(db_url, seeds, serve, redis_frontier):
    """A retry stays with the worker that took the request: handed back to the shared
    queue, a peer could fetch it and the worker that met the 503 would end with nothing
    received and no failure counted, a "failed" source (exit status 3). Here every report
    page answers 503 to its first request, so each worker meets some."""
    redis_url, prefix = redis_frontier
    portal = _portal(seeds)
    reports = [path for path in portal.paths() if path.startswith("/zwgk/ndbg/2")]
    assert len(reports) == len(TOWNS)
    pages = {path: portal.get(path) for path in reports}
    asked: list[tuple[str, str]] = []
    lock = threading.Lock()
    arrived = portal.arrived

    def recording(path: str, user_agent: str) -> None:
        with lock:
            asked.append((path, user_agent))
        arrived(path, user_agent)

    portal.arrived = recording  # type: ignore[method-assign]

    def once_unavailable(path: str) -> Page | None:
        with lock:
            first = sum(p == path for p, _ in asked) == 1
        if first:
            return Page(b"busy", "text/plain", status=503, headers={"Retry-After": "0"})
        return pages.get(path)

    for path in reports:
        portal.remove(path)
        portal.route(path, once_unavailable)
    outputs = _two_workers(db_url, portal, serve, redis_url, prefix, "-v")
    by_path: dict[str, list[str]] = {}
    for path, agent in asked:
        by_path.setdefault(path, []).append(agent)
    for path in reports:
        agents = by_path[path]
        assert len(agents) == 2 and agents[0] == agents[1], (path, agents)
    # Which worker takes which report is the workers' race: under load one can take them
    # all, and its retries would stay with it handed back or not. What each worker did
    # with its retries is its own count (Scrapy's stats, printed with -v): every one kept.
    kept = [_stat(err, "frontier/kept") for _out, err in outputs]
    assert sum(kept) == len(reports), kept


@pytest.mark.backend("sqlite")
def test_the_page_budget_is_shared_not_per_worker(db_url, seeds, serve, redis_frontier):
    redis_url, prefix = redis_frontier
    portal = _portal(seeds)
    # Different start pages: each worker's own start request is admitted and counted, so
    # per-worker budgets of 6 would add up to at least 7 pages.
    starts = ("/", "/zwgk/ndbg/index.html")
    budget = ("-s", "NIANBAO_MAX_PAGES=6")
    _two_workers(db_url, portal, serve, redis_url, prefix, *budget, starts=starts)
    fetched = Counter(path for path, _status, _size in portal.log if path != "/robots.txt")
    assert sum(fetched.values()) == 6, fetched
    assert max(fetched.values()) == 1


@pytest.mark.backend("sqlite")
def test_a_stopped_shared_crawl_resumes_where_it_left_off(db_url, seeds, serve, redis_frontier):
    """SIGINT to the last worker keeps the frontier in Redis; the next worker resumes it:
    nothing fetched twice, nothing lost, every report archived once."""
    import redis

    from tests.test_incremental import Gate, start_crawl

    redis_url, prefix = redis_frontier
    portal = _portal(seeds)
    gate = Gate(portal, "/zwgk/ndbg/index_1.html")  # the column's second page
    server = serve(portal)
    shared = ("--redis", redis_url, "-s", f"NIANBAO_REDIS_PREFIX={prefix}")
    proc = start_crawl(db_url, server.url("/"), *shared)
    try:
        assert gate.entered.wait(60), "the crawl never reached the gated page"
        proc.send_signal(signal.SIGINT)
    finally:
        gate.release.set()
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    client = redis.Redis.from_url(redis_url)
    try:
        assert list(client.scan_iter(f"{prefix}:*:paused")), "the frontier was not kept"
        first = Counter(path for path, _status, _size in portal.log)
        portal.clear_log()

        resumed = crawl(db_url, server.url("/"), *shared)
        assert "(resumed)" in resumed.stdout
        second = Counter(path for path, _status, _size in portal.log)
        assert list(client.scan_iter(f"{prefix}:*")) == []  # finished: the keys are gone
    finally:
        client.close()
    both = (set(first) & set(second)) - {"/robots.txt"}
    assert both == set(), f"fetched again after resuming: {sorted(both)}"
    pages = {p for p in portal.paths() if p != "/robots.txt"}
    assert pages <= set(first) | set(second), sorted(pages - set(first) - set(second))
    assert set(second) - {"/robots.txt"}, "the resumed worker had nothing left to do"
    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == len(TOWNS)
        assert session.scalar(select(func.count()).select_from(Version)) == len(TOWNS)
    engine.dispose()


@pytest.mark.backend("sqlite")
def test_a_shared_frontier_starts_from_the_spiders_async_start(
    db_url, seeds, serve, redis_frontier
):
    """scrapy-redis 0.9.1 only knows ``start_requests()``, which Scrapy 2.16+ no longer
    drives. The portal spider has only ``async start()``: with the Redis scheduler in
    place, its start URL (linked from nowhere) and what it leads to must still be crawled,
    with no deprecation warning about start requests, and what only that ``start()``
    yields (the archive's known report URLs) must be requested too."""
    redis_url, prefix = redis_frontier
    portal = _portal(seeds)
    portal.set("/entry.html", portal.get("/zwgk/index.html"))  # reachable only as a start
    server = serve(portal)
    shared = ("--redis", redis_url, "-s", f"NIANBAO_REDIS_PREFIX={prefix}")
    proc = crawl(db_url, server.url("/entry.html"), "-v", *shared, "-s", "ROBOTSTXT_OBEY=False")
    fetched = {path for path, _status, _size in portal.log}
    assert "/entry.html" in fetched
    assert "start_requests" not in proc.stderr
    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == len(TOWNS)
        reports = {urlsplit(u).path for u in session.scalars(select(Capture.url))}
        reports &= {p for p in portal.paths() if "/ndbg/" in p and "index" not in p}
    engine.dispose()
    assert len(reports) == len(TOWNS)

    # Scrapy's default start() would also fetch a start URL; only the spider's own
    # start() re-requests the reports the archive knows. Started from a page that links
    # nowhere, the second crawl must still ask for every one of them.
    portal.set("/empty.html", Page(b"<html><body><p>nothing here</p></body></html>"))
    portal.clear_log()
    crawl(db_url, server.url("/empty.html"), *shared)
    again = {path for path, _status, _size in portal.log}
    assert reports <= again, f"known reports not re-requested: {sorted(reports - again)}"


@pytest.mark.backend("sqlite")
def test_the_page_a_killed_worker_was_fetching_is_fetched_by_its_peer(
    db_url, seeds, serve, redis_frontier
):
    """A worker killed outright (SIGKILL: the OOM killer, a lost machine) while a report
    page is on its wire: the page is in the shared duplicate filter, so no peer would ask
    for it again, and the night ended without that report, every source "ok". Its peer
    now finds the silent worker's ledger, queues what it had taken, and archives it."""
    from tests.test_incremental import Gate, start_crawl

    redis_url, prefix = redis_frontier
    portal = _portal(seeds)
    held = "/zwgk/ndbg/201801/t20180113_2004.html"
    gate = Gate(portal, held)
    server = serve(portal)
    shared = (
        "--redis",
        redis_url,
        "-s",
        f"NIANBAO_REDIS_PREFIX={prefix}",
        "-s",
        "NIANBAO_REDIS_WORKER_TIMEOUT=5",
        "-s",
        "NIANBAO_REDIS_IDLE_POLL=0.2",
        # The victim dies holding the host's politeness leases (crawler/polite.py), which
        # its peer waits out: 30 + 15 s by default, 45 of this test's 52 s on a busy machine.
        "-s",
        "DOWNLOAD_TIMEOUT=10",
        "-s",
        "NIANBAO_POLITE_LEASE_MARGIN=1",
    )
    askers: list[str] = []  # the User-Agent of each request for the held page
    arrived = portal.arrived

    def note(path: str, user_agent: str) -> None:
        if path == held:
            askers.append(user_agent)
        arrived(path, user_agent)

    portal.arrived = note  # type: ignore[method-assign]
    procs = [
        start_crawl(db_url, server.url("/"), *shared, "-s", f"USER_AGENT=worker{i}")
        for i in range(2)
    ]
    try:
        _wait_for_workers(redis_url, prefix, 2, procs)
        assert gate.entered.wait(60), "no worker asked for the held page"
        victim = procs[int(askers[0].removeprefix("worker"))]
        victim.kill()
        victim.communicate(timeout=30)
    finally:
        gate.release.set()
    survivor = next(p for p in procs if p is not victim)
    out, err = survivor.communicate(timeout=180)
    assert survivor.returncode == 0, f"stdout:\n{out}\nstderr:\n{err}"
    assert askers[1:] == ["worker" + "01"[askers[0] == "worker0"]], askers  # asked again
    assert "fell silent" in err
    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as session:
        urls = set(session.scalars(select(Capture.url).where(Capture.kind == "report")))
        assert server.url(held) in urls, "the page the killed worker was fetching was lost"
        assert session.scalar(select(func.count()).select_from(Report)) == len(TOWNS)
    engine.dispose()
