"""Politeness across workers: three ``nianbao crawl`` processes on one Redis are one visitor.

Each portal records, as the server sees them, every request's arrival time and how many
requests to the same host (or the same IP: a 集约化 platform) are being answered at that
moment; every answer is slowed down so that workers that ignored each other would
overlap. The server's view is stricter than the crawler's: a request is "in flight" at
the server from its arrival to the end of its answer, which lies inside the time the
crawler holds its lease, so the concurrency bound needs no tolerance. The gap between
two arrivals can be shorter than the delay between the two leases by the difference in
their connection latencies and by how late each worker's reactor, sharing two cores with
the other workers, the server and the rest of the suite, sends a request after taking its
lease, so gaps are checked against ``DELAY - TOLERANCE``. Workers that ignored each other
would meet gaps near zero.

Each worker sends its own User-Agent, so the tests can tell who fetched what.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from nianbao.demo.portalgen import Report as PortalReport
from nianbao.demo.portalgen import county_portal
from nianbao.demo.server import Portal
from tests.conftest import FAST, NIANBAO, cli_json, crawl
from tests.test_distributed import _portal, _wait_for_workers
from tests.test_distributed import redis_frontier as redis_frontier  # the fixture

DELAY = 0.3  # DOWNLOAD_DELAY, s
# s: arrival gaps may fall short of DELAY by the jitter between a lease and its request's
# arrival (the module docstring). 0.1 until a CI run of the whole suite on two cores met a
# gap of 0.181 s, 0.119 short (2026-12-03).
TOLERANCE = 0.15
ANSWER = 0.4  # s each answer takes: longer than DELAY, so unbounded workers would overlap


@dataclass
class Meter:
    """Arrivals and in-flight counts of a group of portals (a host, or an IP)."""

    answer: float = ANSWER
    inflight: int = 0
    peak: int = 0
    arrivals: list[tuple[float, str, str]] = field(default_factory=list)  # (t, path, UA)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, portal: Portal, gate: threading.Event) -> None:
        """Count ``portal``'s requests here; each waits for ``gate``, then ``answer`` s."""
        arrived, record, get = portal.arrived, portal.record, portal.get

        def on_arrival(path: str, user_agent: str) -> None:
            with self.lock:
                self.inflight += 1
                self.peak = max(self.peak, self.inflight)
                self.arrivals.append((time.monotonic(), path, user_agent))
            arrived(path, user_agent)

        def on_answered(path: str, status: int, size: int) -> None:
            record(path, status, size)
            with self.lock:
                self.inflight -= 1

        def slow_get(path: str):  # type: ignore[no-untyped-def]
            gate.wait(timeout=120)
            time.sleep(self.answer)
            return get(path)

        portal.arrived = on_arrival  # type: ignore[method-assign]
        portal.record = on_answered  # type: ignore[method-assign]
        portal.get = slow_get  # type: ignore[method-assign]

    def gaps(self) -> list[float]:
        times = sorted(t for t, _path, _ua in self.arrivals)
        return [b - a for a, b in zip(times, times[1:], strict=False)]

    def agents(self) -> set[str]:
        return {ua for _t, _path, ua in self.arrivals}


def _workers(
    urls: list[str],
    db_url: str,
    redis_url: str,
    prefix: str,
    settings: dict[str, str],
    n: int = 3,
) -> list[subprocess.Popen[str]]:
    """Start ``n`` ``nianbao crawl`` workers on one Redis; worker i sends User-Agent wi."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("NIANBAO_DB", None)
    common = [*FAST, "--redis", redis_url, "--db", db_url, "-s", f"NIANBAO_REDIS_PREFIX={prefix}"]
    for name, value in settings.items():
        common += ["-s", f"{name}={value}"]
    return [
        subprocess.Popen(
            [*NIANBAO, "crawl", *(a for u in urls for a in ("--url", u)), *common]
            + ["-s", f"USER_AGENT=w{i}"]
            + (["-v"] if os.environ.get("DBG_T") else []),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,  # a worker is killed with its cleaning processes
        )
        for i in range(n)
    ]


def _finish(procs: list[subprocess.Popen[str]], killed: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    """Wait for every worker; each not killed on purpose must exit 0."""
    try:
        for i, p in enumerate(procs):
            try:
                out, err = p.communicate(timeout=int(os.environ.get("DBG_T", "300")))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                out, err = p.communicate()
                raise AssertionError(f"worker {i} never finished:\n{err[-6000:]}") from None
            if i not in killed:
                assert p.returncode == 0, f"worker {i}:\nstdout:\n{out}\nstderr:\n{err}"
    finally:
        _kill_all(procs)


def _kill_all(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()


def _small_portal(seeds: dict[str, tuple[str, list[str]]], county: str) -> Portal:
    _title, lines = seeds["000"]
    reports = [
        PortalReport(
            f"{3001 + i}", f"{county}{town}镇2020年政府信息公开工作年度报告", lines, "2021-01-15"
        )
        for i, town in enumerate(["东", "西", "南"])
    ]
    return county_portal(reports, county, per_page=4)


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # never leave a server thread waiting


def _run(
    portals: list[Portal],
    urls: Callable[[], list[str]],
    db_url: str,
    redis: tuple[str, str],
    gate: threading.Event,
    settings: dict[str, str],
) -> None:
    redis_url, prefix = redis
    procs = _workers(urls(), db_url, redis_url, prefix, settings)
    try:
        # Hold every answer until all three have joined: no worker crawls a portal alone.
        _wait_for_workers(redis_url, prefix, 3 * len(portals), procs)
    except BaseException:
        _kill_all(procs)
        raise
    finally:
        gate.set()
    _finish(procs)


@pytest.mark.backend("sqlite")
def test_three_workers_are_one_visitor_to_a_host(db_url, seeds, serve, redis_frontier, gate):
    portal = _portal(seeds)
    meter = Meter()
    meter.watch(portal, gate)
    server = serve(portal)
    settings = {
        "CONCURRENT_REQUESTS": "2",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "2",
        "DOWNLOAD_DELAY": str(DELAY),
    }
    _run([portal], lambda: [server.url("/")], db_url, redis_frontier, gate, settings)

    pages = {p for p in portal.paths() if p != "/robots.txt"}
    fetched = {path for _t, path, _ua in meter.arrivals}
    assert pages <= fetched, sorted(pages - fetched)
    assert len(meter.agents()) >= 2, "one worker did everything: nothing was shared"
    assert meter.peak <= 2, f"{meter.peak} requests in flight to one host (limit 2)"
    short = [round(g, 3) for g in meter.gaps() if g < DELAY - TOLERANCE]
    assert short == [], f"requests {DELAY} s apart at least, but: {short}"


@pytest.mark.backend("sqlite")
def test_hosts_on_one_ip_share_its_allowance(db_url, seeds, serve, redis_frontier, gate):
    """A shared platform: three sites on one IP. They are three servers on three ports of
    127.0.0.1, one of them addressed as ``localhost`` (resolved, as a platform's host names
    are); with ``CONCURRENT_REQUESTS_PER_IP`` the three count as one visitor's target."""
    meter = Meter()
    portals = [_small_portal(seeds, county) for county in ("甲县", "乙县", "丙县")]
    for portal in portals:
        meter.watch(portal, gate)
    servers = [serve(p) for p in portals]

    def urls() -> list[str]:
        first, *rest = (s.url("/") for s in servers)
        return [first.replace("127.0.0.1", "localhost"), *rest]

    settings = {
        "CONCURRENT_REQUESTS": "2",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "2",
        "CONCURRENT_REQUESTS_PER_IP": "2",
        "DOWNLOAD_DELAY": str(DELAY),
    }
    _run(portals, urls, db_url, redis_frontier, gate, settings)

    for portal in portals:
        pages = {p for p in portal.paths() if p != "/robots.txt"}
        fetched = {path for path, _status, _size in portal.log}
        assert pages <= fetched, sorted(pages - fetched)
    assert len(meter.agents()) >= 2, "one worker did everything: nothing was shared"
    assert meter.peak <= 2, f"{meter.peak} requests in flight to one IP (limit 2)"
    short = [round(g, 3) for g in meter.gaps() if g < DELAY - TOLERANCE]
    assert short == [], f"requests to one IP {DELAY} s apart at least, but: {short}"


@pytest.mark.backend("sqlite")
def test_a_killed_workers_lease_expires_and_the_others_carry_on(
    db_url, seeds, serve, redis_frontier, gate
):
    """One request at a time per host. The worker that takes a held report page is killed
    (SIGKILL: no goodbye) while holding the host's only lease; the other two wait for
    the lease to expire (download timeout + margin), then crawl the rest of the portal."""
    portal = _portal(seeds)
    meter = Meter(answer=0.05)
    meter.watch(portal, gate)
    held = "/zwgk/ndbg/"  # a report page under the column: the first one asked for is held
    taken = threading.Event()
    release = threading.Event()
    get = portal.get

    def holding_get(path: str):  # type: ignore[no-untyped-def]
        if path.startswith(held) and "index" not in path and not taken.is_set():
            taken.set()
            release.wait(timeout=120)
        return get(path)

    portal.get = holding_get  # type: ignore[method-assign]
    server = serve(portal)
    lease = 4.0  # DOWNLOAD_TIMEOUT 3 + margin 1
    settings = {
        "CONCURRENT_REQUESTS": "1",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "1",
        "DOWNLOAD_TIMEOUT": "3",
        "NIANBAO_POLITE_LEASE_MARGIN": "1",
        "NIANBAO_REDIS_WORKER_TIMEOUT": "10",  # the dead worker is forgotten after this
        "RETRY_ENABLED": "False",
    }
    redis_url, prefix = redis_frontier
    procs = _workers([server.url("/")], db_url, redis_url, prefix, settings)
    killed: set[int] = set()
    try:
        _wait_for_workers(redis_url, prefix, 3, procs)
        gate.set()
        assert taken.wait(120), "no worker asked for a report page"
        with meter.lock:
            t_held, path_held, agent = next(
                (t, p, ua) for t, p, ua in reversed(meter.arrivals) if p.startswith(held)
            )
        victim = int(agent.removeprefix("w"))
        # The whole worker dies at once, cleaning pool included, as when its machine does.
        os.killpg(procs[victim].pid, signal.SIGKILL)
        procs[victim].wait()
        killed.add(victim)
    except BaseException:
        _kill_all(procs)
        raise
    finally:
        release.set()
        gate.set()
    _finish(procs, killed)

    after = sorted((t - t_held, p, ua) for t, p, ua in meter.arrivals if t > t_held)
    assert after, "nobody carried on after the killed worker"
    first = after[0][0]
    assert first >= lease - TOLERANCE, (
        f"the host was asked again {first:.2f} s after, lease {lease}"
    )
    assert first < lease + 5, f"the lease was not taken over in time ({first:.2f} s)"
    assert {ua for _t, _p, ua in after} <= {f"w{i}" for i in range(3)} - {agent}
    # The killed worker's one request in flight is lost with it (scrapy-redis pops a
    # request for good); everything else on the portal is fetched by the survivors.
    pages = {p for p in portal.paths() if p != "/robots.txt"} - {path_held}
    fetched = {path for _t, path, _ua in meter.arrivals}
    assert pages <= fetched, sorted(pages - fetched)


def test_the_add_on_swaps_in_the_polite_handler_only_over_nianbaos_own(redis_frontier):
    from nianbao.crawl import crawl_settings
    from nianbao.crawler.frontier import POLITE, RedisFrontier

    url, _prefix = redis_frontier
    on = crawl_settings("sqlite:///x", {"NIANBAO_REDIS_URL": url})
    RedisFrontier().update_settings(on)
    assert on.getdict("DOWNLOAD_HANDLERS") == {"http": POLITE, "https": POLITE}
    off = crawl_settings("sqlite:///x", {"NIANBAO_REDIS_URL": url, "NIANBAO_POLITE_SHARED": "0"})
    RedisFrontier().update_settings(off)
    assert POLITE not in off.getdict("DOWNLOAD_HANDLERS").values()
    custom = '{"http": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"}'
    theirs = crawl_settings("sqlite:///x", {"NIANBAO_REDIS_URL": url, "DOWNLOAD_HANDLERS": custom})
    RedisFrontier().update_settings(theirs)
    assert POLITE not in theirs.getdict("DOWNLOAD_HANDLERS").values()


def test_a_per_ip_limit_works_without_redis_too(db_url, county, serve) -> None:
    """Scrapy's default scheduler queue (DownloaderAwarePriorityQueue) refuses
    CONCURRENT_REQUESTS_PER_IP when the spider opens: every source failed, exit status 3,
    for a one-process crawl told to key politeness by IP. The PerIpQueue add-on swaps in
    the plain priority queue."""
    server = serve(county)
    proc = crawl(db_url, server.url("/"), "-s", "CONCURRENT_REQUESTS_PER_IP=1")
    assert "failed" not in proc.stdout.splitlines()[-1].replace("0 failed", ""), proc.stdout
    assert len(cli_json(db_url, "reports")) == 3
