"""Workers that split the sources (``nianbao crawl --shard K/N``): each source is crawled by
one worker from start to end, and with ``--redis`` the sources' shared hosts and IPs are
still one visitor's target.

A shared frontier has every worker build a crawler for every source of the list and pay
Redis round trips on every request (queue, duplicate filter, budget, liveness); split by
source, the per-source set-up is paid once and Redis keeps only the politeness leases
(crawler/polite.py). The crawl tests run real workers against real servers and Redis; the
servers' view of arrivals and concurrency is the one of tests/test_polite.py.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from nianbao import sources as sources_mod
from nianbao.sources import SourceConfig, in_shard, parse_shard, shard_of
from tests.conftest import FAST, NIANBAO, cli, cli_json
from tests.test_distributed import redis_frontier as redis_frontier  # the fixture
from tests.test_polite import DELAY, TOLERANCE, Meter, _small_portal
from tests.test_polite import gate as gate  # the fixture


def _names(n: int) -> list[str]:
    return [f"county-{i:04d}" for i in range(n)]


@pytest.mark.parametrize("shards", [1, 2, 3, 7, 10])
def test_shards_are_disjoint_cover_the_list_and_ignore_its_order(shards: int) -> None:
    srcs = [SourceConfig(name=n, start_urls=[f"http://{n}.gov.cn/"]) for n in _names(500)]
    parts = [{s.name for s in in_shard(srcs, k, shards)} for k in range(1, shards + 1)]
    assert sum(len(p) for p in parts) == len(srcs)
    assert set().union(*parts) == {s.name for s in srcs}
    shuffled = srcs[:]
    random.Random(7).shuffle(shuffled)
    assert [{s.name for s in in_shard(shuffled, k, shards)} for k in range(1, shards + 1)] == parts
    # no shard starved: 500 sources over at most 10 shards, each gets a fair share
    assert min(len(p) for p in parts) >= 500 / shards / 2


def test_a_source_keeps_its_shard_as_the_list_changes() -> None:
    before = {n: shard_of(n, 10) for n in _names(100)}
    after = {n: shard_of(n, 10) for n in _names(300)}  # 200 sources added
    assert all(after[n] == shard for n, shard in before.items())


@pytest.mark.parametrize(
    ("text", "message"),
    [("3", "K/N"), ("a/b", "K/N"), ("0/3", "between 1 and N"), ("4/3", "between 1 and N")],
)
def test_a_bad_shard_is_one_line_and_exit_1(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(sources_mod.SourcesError, match=message):
        parse_shard(text)
    proc = cli(
        f"sqlite:///{tmp_path / 'a.sqlite'}",
        "crawl",
        "--url",
        "http://x.gov.cn/",
        "--shard",
        text,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and message in proc.stderr


def test_an_empty_shard_says_so_and_exits_0(tmp_path: Path) -> None:
    url = "http://x.gov.cn/"
    name = sources_mod.from_url(url).name
    other = 1 if shard_of(name, 2) == 2 else 2
    proc = cli(
        f"sqlite:///{tmp_path / 'a.sqlite'}",
        "crawl",
        "--url",
        url,
        "--shard",
        f"{other}/2",
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"shard {other}/2: none of the 1 source(s)" in proc.stderr


def test_a_sharded_crawl_keeps_only_the_politeness_in_redis(redis_frontier) -> None:
    from nianbao.crawl import crawl_settings
    from nianbao.crawler.frontier import POLITE, RedisFrontier

    url, _prefix = redis_frontier
    shared = crawl_settings("sqlite:///x", {"NIANBAO_REDIS_URL": url})
    RedisFrontier().update_settings(shared)
    assert shared["SCHEDULER"].endswith("SharedScheduler")
    split = crawl_settings("sqlite:///x", {"NIANBAO_REDIS_URL": url, "NIANBAO_REDIS_FRONTIER": "0"})
    RedisFrontier().update_settings(split)
    assert split.getdict("DOWNLOAD_HANDLERS") == {"http": POLITE, "https": POLITE}
    assert not split["SCHEDULER"].endswith("SharedScheduler")
    assert not split.getbool("NIANBAO_SHARED_BUDGET")
    assert split.getbool("NIANBAO_LINKWATCH_ENABLED")  # one worker sees the whole source


def _named_sources(servers, path: Path, shards: int) -> list[str]:
    """A sources file naming each server's portal so that shard k of ``shards`` holds
    server k's source (names picked by their hash); returns the names in server order."""
    names = [
        next(n for n in (f"site-{k}-{i}" for i in range(1000)) if shard_of(n, shards) == k)
        for k in range(1, len(servers) + 1)
    ]
    url = [s.url("/") for s in servers]
    # one of them addressed as localhost: three host names, one IP (a 集约化 platform)
    url[0] = url[0].replace("127.0.0.1", "localhost")
    path.write_text(
        "".join(
            f'[[sources]]\nname = "{n}"\nstart_urls = ["{u}"]\n\n'
            for n, u in zip(names, url, strict=True)
        ),
        encoding="utf-8",
    )
    return names


def _start(
    db_url: str, sources: Path, tmp_path: Path, extra: list[str]
) -> list[tuple[subprocess.Popen, Path]]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("NIANBAO_DB", None)
    settings = {
        "CONCURRENT_REQUESTS": "2",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "2",
        "CONCURRENT_REQUESTS_PER_IP": "2",
        "DOWNLOAD_DELAY": str(DELAY),
    }
    common = [*FAST, "--db", db_url, *extra]
    for name, value in settings.items():
        common += ["-s", f"{name}={value}"]
    procs = []
    for k in range(1, 4):
        err = tmp_path / f"w{k}.err"
        with err.open("w") as sink:  # the child has its own copy of the descriptor
            proc = subprocess.Popen(
                [*NIANBAO, "crawl", "--sources", str(sources), "--shard", f"{k}/3", *common]
                + ["-s", f"USER_AGENT=w{k}"],
                stdout=subprocess.DEVNULL,
                stderr=sink,
                env=env,
                start_new_session=True,  # killed with its cleaning processes
            )
        procs.append((proc, err))
    return procs


def _crawl_sharded(db_url, seeds, serve, gate, tmp_path, extra: list[str]):
    meter = Meter()
    portals = [_small_portal(seeds, county) for county in ("甲县", "乙县", "丙县")]
    for portal in portals:
        meter.watch(portal, gate)
    servers = [serve(p) for p in portals]
    sources = tmp_path / "sources.toml"
    names = _named_sources(servers, sources, 3)
    procs = _start(db_url, sources, tmp_path, extra)
    try:
        # Answers wait until every worker has begun its crawl (two requests are then held
        # at the platform and the third worker's first one is due): they run together.
        deadline = time.monotonic() + 120
        while not all("crawling 1 of 3" in err.read_text() for _p, err in procs):
            assert time.monotonic() < deadline, "the workers did not start"
            dead = [err.read_text() for p, err in procs if p.poll() is not None]
            assert not dead, f"a worker exited before crawling: {dead[0]}"
            time.sleep(0.05)  # polling a condition
        time.sleep(1.0)  # their crawlers built and asking
    finally:
        gate.set()
    try:
        for p, err in procs:
            assert p.wait(timeout=300) == 0, err.read_text()
    finally:
        for p, _err in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    return meter, portals, names


@pytest.mark.backend("sqlite")
def test_sharded_workers_crawl_each_source_once_and_are_one_visitor_to_a_platform(
    db_url, seeds, serve, redis_frontier, gate, tmp_path
) -> None:
    url, prefix = redis_frontier
    meter, portals, names = _crawl_sharded(
        db_url,
        seeds,
        serve,
        gate,
        tmp_path,
        ["--redis", url, "-s", f"NIANBAO_REDIS_PREFIX={prefix}"],
    )
    for k, portal in enumerate(portals, start=1):
        pages = {p for p in portal.paths() if p != "/robots.txt"}
        fetched = [path for path, _status, _size in portal.log]
        assert pages <= set(fetched), sorted(pages - set(fetched))
        # one worker, its shard's, crawled this source, and no page twice
        assert portal.user_agents == {f"w{k}"}, (k, portal.user_agents)
        assert len(fetched) == len(set(fetched)), sorted(fetched)
    # the three overlapped in time, and still: 2 in flight to the IP, DELAY apart
    spans = {ua: [t for t, _p, a in meter.arrivals if a == ua] for ua in meter.agents()}
    assert max(min(ts) for ts in spans.values()) < min(max(ts) for ts in spans.values())
    assert meter.peak <= 2, f"{meter.peak} requests in flight to one IP (limit 2)"
    short = [round(g, 3) for g in meter.gaps() if g < DELAY - TOLERANCE]
    assert short == [], f"requests to one IP {DELAY} s apart at least, but: {short}"
    assert len(cli_json(db_url, "reports")) == 9  # three reports on each of the portals


@pytest.mark.backend("sqlite")
def test_without_redis_sharded_workers_each_take_the_whole_allowance(
    db_url, seeds, serve, gate, tmp_path
) -> None:
    """The control: the same workers without Redis keep their limits each to themselves,
    and together exceed the platform's."""
    meter, _portals, _names = _crawl_sharded(db_url, seeds, serve, gate, tmp_path, [])
    assert meter.peak > 2
