"""At most ``NIANBAO_MAX_SOURCES_AT_ONCE`` sources are crawled at once by one process.

Each source is a Scrapy crawler with its own engine, queue and downloader; a worker given a
shard of a 50,000-portal night would otherwise build thousands at once (1,000 took 734 MB).
The next source starts as one ends; a stop (SIGINT) starts no more, and those left say
"not started". Real servers, each answer slowed a little so that sources overlap; the
servers' arrival times say which sources were being crawled at the same moment.
"""

from __future__ import annotations

import signal
import time

import pytest

from nianbao.demo.portalgen import Report, county_portal
from nianbao.jobdir import STATE
from tests.conftest import cli_json, crawl
from tests.test_incremental import Gate, start_crawl

ANSWER = 0.05  # s each page takes at the server


def _portals(seeds, n: int):
    _title, lines = seeds["000"]
    portals = []
    for i in range(n):
        county = f"第{i}县"
        reports = [
            Report(
                f"{4001 + i}", f"{county}东镇2020年政府信息公开工作年度报告", lines, "2021-01-15"
            )
        ]
        portal = county_portal(reports, county)
        get = portal.get

        def slow(path: str, get=get):  # type: ignore[no-untyped-def]
            time.sleep(ANSWER)
            return get(path)

        portal.get = slow  # type: ignore[method-assign]
        portals.append(portal)
    return portals


def _most_at_once(portals) -> int:
    """The most portals being crawled at one moment: each from its first request's
    arrival to its last's."""
    spans = [(min(t for t, _ in p.times), max(t for t, _ in p.times)) for p in portals]
    return max(sum(1 for a, b in spans if a <= start <= b) for start, _end in spans)


def _urls(servers) -> list[str]:
    return [a for s in servers for a in ("--url", s.url("/"))]


def test_no_more_sources_than_allowed_are_crawled_at_once(db_url, seeds, serve) -> None:
    portals = _portals(seeds, 5)
    servers = [serve(p) for p in portals]
    out = crawl(db_url, *_urls(servers)[1:], "-s", "NIANBAO_MAX_SOURCES_AT_ONCE=2").stdout
    assert _most_at_once(portals) <= 2
    assert out.count(": ok;") == 5, out
    assert len(cli_json(db_url, "reports")) == 5


def test_without_the_limit_they_overlap(db_url, seeds, serve) -> None:
    """The control: the same five portals, all sources at once (0: no limit)."""
    portals = _portals(seeds, 5)
    servers = [serve(p) for p in portals]
    crawl(db_url, *_urls(servers)[1:], "-s", "NIANBAO_MAX_SOURCES_AT_ONCE=0")
    assert _most_at_once(portals) > 2


@pytest.mark.backend("sqlite")
def test_a_stopped_crawl_starts_no_more_sources_and_says_which_were_not_started(
    db_url, seeds, serve, tmp_path
) -> None:
    portals = _portals(seeds, 4)
    # the first two sources' home pages wait to be released
    gates = [Gate(portal, "/") for portal in portals[:2]]
    servers = [serve(p) for p in portals]
    first, *rest = _urls(servers)[1::2]
    more = [a for u in rest for a in ("--url", u)]
    proc = start_crawl(
        db_url,
        first,
        *more,
        "-s",
        "NIANBAO_MAX_SOURCES_AT_ONCE=2",
        "--jobdir",
        str(tmp_path / "jobs"),
    )
    try:
        assert gates[0].entered.wait(60), "the crawl never asked for a held page"
        proc.send_signal(signal.SIGINT)
    finally:
        for gate in gates:
            gate.release.set()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    lines = [ln for ln in out.splitlines() if ln.startswith("127.0.0.1-")]
    assert len(lines) == 4, out
    waiting = [s.url("/").split("//")[1].rstrip("/").replace(":", "-") for s in servers[2:]]
    for name in waiting:
        assert f"{name}: not started (the crawl was stopped before its turn)" in out, out
    assert not portals[2].times and not portals[3].times  # never asked for anything
    # --jobdir: the two stopped sources resume next time; the two never started start
    # fresh (their directories hold no state, so the next crawl does not "resume" them)
    states = {
        d.name: (d / STATE).read_text() if (d / STATE).exists() else ""
        for d in (tmp_path / "jobs").iterdir()
    }
    assert sorted('"interrupted"' in v for v in states.values()) == [False, False, True, True]
    for name in waiting:
        assert states[name] == "", states
