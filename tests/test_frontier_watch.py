"""The fallback crawl starts when a source's requests are done, not when its items are.

Links with nothing promising about them wait in the spider's fallback queue until the
promising frontier is exhausted (crawler/fallback.py). Scrapy's ``spider_idle`` also waits
for every item to leave the pipelines, which in a busy crawl means the cleaning workers'
and the writer's backlog, and then up to its 5-second heartbeat. Here a pipeline after the
archive holds each report item for seconds; the held-back pages must be asked for while it
does.
"""

from __future__ import annotations

import json
from pathlib import Path

from nianbao.crawler import settings as crawl_settings
from nianbao.demo.portalgen import Report, county_portal
from tests.conftest import crawl

HOLD = 2.5  # seconds each report item spends in the slow pipeline
FALLBACK = ("/xwzx/index.html", "/hdjl/index.html")  # the county portal's other columns


def _portal(seeds):
    t0, l0 = seeds["000"]
    return county_portal([Report("1001", t0, l0, "2015-01-20", "trs")], "方正县")


def _crawl(db_url: str, url: str, log: Path, *extra: str):
    pipelines = dict(crawl_settings.ITEM_PIPELINES) | {"tests.slowitems.SlowItems": 950}
    return crawl(
        db_url,
        url,
        "-s",
        f"ITEM_PIPELINES={json.dumps(pipelines)}",
        "-s",
        f"NIANBAO_TEST_SLOW_SECONDS={HOLD}",
        "-s",
        f"NIANBAO_TEST_SLOW_LOG={log}",
        *extra,
    )


def _times(portal, log: Path) -> tuple[dict[str, float], list[float]]:
    asked = {}
    for when, path in portal.times:
        asked.setdefault(path, when)
    done = [float(line.split()[0]) for line in log.read_text().splitlines()]
    return asked, done


def test_held_back_pages_are_asked_for_while_report_items_are_still_in_the_pipelines(
    db_url, seeds, serve, tmp_path
) -> None:
    portal = _portal(seeds)
    server = serve(portal)
    log = tmp_path / "slow.log"
    _crawl(db_url, server.url("/"), log)
    asked, done = _times(portal, log)
    assert done, "no report item reached the slow pipeline"
    assert all(path in asked for path in FALLBACK), sorted(asked)
    # Every held-back page was asked for before the report item left the pipelines: the
    # fallback did not wait for the archive (with spider_idle alone, it came after).
    last_item = max(done)
    late = {p: round(asked[p] - last_item, 2) for p in FALLBACK if asked[p] >= last_item}
    assert not late, f"held-back pages asked for only after the items were done: {late}"


def test_without_the_watch_the_fallback_waits_for_the_items(db_url, seeds, serve, tmp_path):
    """The control: Scrapy's idle signal alone releases the fallback after the items."""
    portal = _portal(seeds)
    server = serve(portal)
    log = tmp_path / "slow.log"
    _crawl(db_url, server.url("/"), log, "-s", "SPIDER_MIDDLEWARES={}")
    asked, done = _times(portal, log)
    assert done and all(path in asked for path in FALLBACK), sorted(asked)
    assert all(asked[p] >= max(done) for p in FALLBACK)


def test_a_response_on_its_way_to_its_callback_is_not_done():
    """Between the downloader and the callback a response is in neither (a callback or two
    to the scraper's queue, then the spider middlewares' input side): only the engine's
    in-progress set holds its request. Released then, the fallback took a county portal's
    page budget before the report column's next pages (tests/test_discovery.py failed one
    run in two on a slow machine). The engine here is Scrapy's shape (2.13–2.19), bare."""
    from types import SimpleNamespace

    from scrapy import Request

    from nianbao.crawler.fallback import exhausted

    column, news = Request("http://example.gov.cn/zwgk/"), Request("http://example.gov.cn/news/")
    scheduler = SimpleNamespace(has_pending_requests=lambda: False)
    engine = SimpleNamespace(
        _start=None,
        _slot=SimpleNamespace(closing=None, inprogress={column, news}, scheduler=scheduler),
        downloader=SimpleNamespace(active=set()),
        scraper=SimpleNamespace(slot=SimpleNamespace(queue=[], active={column, news})),
    )
    read = {news}
    assert not exhausted(engine, read)  # the column's page has not reached its callback
    read.add(column)  # its output read: its items may stay in the pipelines
    assert exhausted(engine, read)
    engine._slot.inprogress = {column}  # the engine is done with the news page
    assert exhausted(engine, read) and read == {column}  # and it is forgotten
