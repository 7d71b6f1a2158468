"""One crawl process never has more than NIANBAO_MAX_IN_FLIGHT downloads out, all sources
together (crawler/inflight.py, taken by the download handler).

Scrapy's limits are per crawler, one crawler a source: 1,000 sources at 2 each put 2,000
requests in flight in one process, which answered ≈ 117 a second, so requests waited past
their timeout and 520 reports were never archived, every source "ok". Four portals here,
each allowed 4 requests at once, served by real servers that count how many requests
they are answering at the same moment, across all four.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from nianbao.demo.portalgen import Report as PortalReport
from nianbao.demo.portalgen import county_portal
from nianbao.demo.server import Portal
from nianbao.models.db import open_archive, sessionmaker_for
from nianbao.models.tables import Version
from tests.conftest import FAST, cli

TOWNS = ["苏家店", "王家山", "宝兴", "德善", "会发"]
WIDE = ["-s", "CONCURRENT_REQUESTS=4", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4"]


class Gauge:
    """Requests being answered at once, across every portal it watches; the most seen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def watch(self, portal: Portal) -> None:
        get = portal.get

        def counted(path: str):  # type: ignore[no-untyped-def]
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            try:
                time.sleep(0.1)  # long enough for requests to overlap, even on a loaded machine
                return get(path)
            finally:
                with self.lock:
                    self.now -= 1

        portal.get = counted  # type: ignore[method-assign]


def _portals(seeds: dict[str, tuple[str, list[str]]]) -> list[Portal]:
    _title, lines = seeds["002"]
    return [
        county_portal(
            [
                PortalReport(
                    f"{k}{i}",
                    f"第{k}县{town}镇{2015 + i}年政府信息公开工作年度报告",
                    [f"第{k}县{town}镇。", *(ln.replace("2014", str(2015 + i)) for ln in lines)],
                    f"{2016 + i}-01-{10 + i:02d}",
                )
                for i, town in enumerate(TOWNS)
            ],
            f"第{k}县",
            per_page=2,
        )
        for k in range(4)
    ]


def _crawl(tmp_path, seeds, serve, *extra: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(most requests answered at once, versions archived) for one crawl of four portals."""
    gauge = Gauge()
    urls = []
    for portal in _portals(seeds):
        gauge.watch(portal)
        urls += ["--url", serve(portal).url("/")]
    db = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    cli(db, "crawl", *urls, *FAST, *WIDE, *extra)  # a subprocess; fails the test unless exit 0
    engine = open_archive(db)
    with sessionmaker_for(engine)() as session:
        versions = session.scalar(select(func.count()).select_from(Version))
    engine.dispose()
    return gauge.most, int(versions or 0)


def test_the_process_keeps_to_its_download_cap_across_sources(tmp_path, seeds, serve):
    most, versions = _crawl(tmp_path, seeds, serve, "-s", "NIANBAO_MAX_IN_FLIGHT=2")
    assert most <= 2 and versions == 4 * len(TOWNS)


def test_without_the_cap_the_sources_together_go_past_it(tmp_path, seeds, serve):
    """The control: the same crawl uncapped has more than 2 requests out at once, so the
    test above would see a cap that did not hold."""
    most, versions = _crawl(tmp_path, seeds, serve, "-s", "NIANBAO_MAX_IN_FLIGHT=0")
    assert most > 2 and versions == 4 * len(TOWNS)


def test_a_cancelled_waiter_is_skipped_and_slots_go_first_come_first_served():
    """The slots' own bookkeeping (no reactor needed: Deferreds fire synchronously)."""
    from nianbao.crawler.inflight import Slots

    slots = Slots(1)
    assert slots.take() is None and slots.held == 1
    gone, second, third = slots.take(), slots.take(), slots.take()
    assert gone is not None and second is not None and third is not None
    gone.deferred.addErrback(lambda _f: None)
    gone.deferred.cancel()  # a crawler closing while its request waited
    fired: list[str] = []
    second.deferred.addCallback(lambda _: fired.append("second"))
    third.deferred.addCallback(lambda _: fired.append("third"))
    slots.give_back()
    assert fired == ["second"] and second.handed and not gone.handed and slots.held == 1
    slots.give_back()
    assert fired == ["second", "third"] and slots.held == 1
    slots.give_back()
    assert slots.held == 0 and not slots.waiting
