"""A request one worker took off the shared frontier is seen through by that worker.

Its retry, redirect or meta refresh (which Scrapy's middlewares make as copies of it) stays
in the worker's own queue. Handed back to the shared queue, a peer could fetch it, leaving
the worker that took it with nothing received and no failure counted: a "failed" source
and exit status 3 when nothing failed (seen in CI, 2026-12-01, in the shared-budget test).
The schedulers here are the real ones on a real Redis; the retry and redirect are made by
Scrapy's own middleware code.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response

from nianbao.crawler.shared_scheduler import SeenThrough, SharedScheduler
from tests.test_distributed import redis_frontier as redis_frontier  # the fixture
from tests.test_frontier_leave import _scheduler

SITE = "http://example.gov.cn"


def _worker(url: str, prefix: str) -> SharedScheduler:
    scheduler = _scheduler(url, prefix)
    scheduler.crawler.spider.crawler = scheduler.crawler  # get_retry_request reads settings there
    scheduler.open(scheduler.crawler.spider)
    # next_request asks the engine how many downloads are running: none here
    scheduler.crawler.engine = SimpleNamespace(downloader=SimpleNamespace(active=set()))
    return scheduler


def _redirect(scheduler: SharedScheduler, request: Request, to: str) -> Request:
    middleware = RedirectMiddleware.from_crawler(scheduler.crawler)
    answer = Response(request.url, status=302, headers={"Location": to}, request=request)
    redirected = middleware.process_response(request, answer)
    assert isinstance(redirected, Request)
    return redirected


def test_a_taken_requests_retry_and_redirect_stay_with_the_worker_that_took_it(redis_frontier):
    url, prefix = redis_frontier
    a, b = _worker(url, prefix), _worker(url, prefix)
    a.enqueue_request(Request(f"{SITE}/1.html"))
    taken = a.next_request()
    assert taken.url == f"{SITE}/1.html" and b.next_request() is None

    retry = get_retry_request(taken, spider=a.crawler.spider, reason="503 Service Unavailable")
    assert retry is not None and a.enqueue_request(retry)
    assert b.next_request() is None  # not the peer's
    assert a.next_request() is retry

    moved = _redirect(a, taken, f"{SITE}/2.html")  # a retry's redirect skips the filter
    assert a.enqueue_request(moved)
    assert b.next_request() is None
    assert a.next_request() is moved
    # a redirect to an address already seen is filtered, as any new address is
    assert not a.enqueue_request(_redirect(a, taken, f"{SITE}/2.html"))

    # what a fetched page links to is for every worker
    assert a.enqueue_request(Request(f"{SITE}/3.html"))
    assert b.next_request().url == f"{SITE}/3.html"
    assert a.stats.get_value("frontier/kept") == 2

    # stopped while a kept request waits: back to the shared queue, for a peer or a resume
    again = get_retry_request(moved, spider=a.crawler.spider, reason="connection lost")
    assert again is not None and a.enqueue_request(again)
    a.close("shutdown")
    resumed = b.next_request()
    assert resumed is not None and resumed.url == f"{SITE}/2.html"
    assert resumed.meta["retry_times"] == 1  # its attempts so far go with it
    b.close("finished")


def test_a_worker_that_received_nothing_learns_what_its_peers_received(redis_frontier):
    """Whether a source failed is for all its workers to say: a worker whose share was the
    portal's missing sitemap.xml and a dead link (two 404s, nothing received) ended
    "failed", exit status 3, on a healthy portal (benchmarks.night, 2026-12-01)."""
    from nianbao.models.runs import RECEIVED, SOURCE_RECEIVED, run_status

    url, prefix = redis_frontier
    a, b = _worker(url, prefix), _worker(url, prefix)
    a.stats.inc_value(RECEIVED, 7)
    b.stats.inc_value("portal/skipped/http_404", 2)
    for worker in (a, b):  # each goes idle (and tells) before the crawl can end
        try:
            worker.spider_idle()
        except DontCloseSpider:  # while a peer is busy
            pass
    a.stats.inc_value(RECEIVED, 1)  # told at close too
    a.close("finished")
    b.close("finished")
    assert a.stats.get_value(SOURCE_RECEIVED) == 8 == b.stats.get_value(SOURCE_RECEIVED)
    assert run_status(b.stats.get_stats()) == "idle"
    # the last worker out deleted the count with the source's other keys
    assert not list(a.server.scan_iter(f"{prefix}:*"))


def test_workers_that_all_received_nothing_report_the_source_failed(redis_frontier):
    from nianbao.models.runs import SOURCE_RECEIVED, run_status

    url, prefix = redis_frontier
    a, b = _worker(url, prefix), _worker(url, prefix)
    for worker in (a, b):
        worker.stats.inc_value("portal/skipped/http_404", 1)
    a.close("finished")
    b.close("finished")
    assert b.stats.get_value(SOURCE_RECEIVED) == 0
    assert run_status(a.stats.get_stats()) == run_status(b.stats.get_stats()) == "failed"


def _fall_silent(worker: SharedScheduler) -> None:
    """As if ``worker`` were killed: it says nothing more, and its last word is old."""
    long_ago = time.time() - worker.worker_timeout - 1
    for name in ("workers", "busy"):
        if worker.server.zscore(worker.keys[name], worker.worker) is not None:
            worker.server.zadd(worker.keys[name], {worker.worker: long_ago})


def _answered(worker: SharedScheduler, request: Request) -> None:
    """The worker's callback output for ``request`` is read to the end, through the real
    middleware and signal."""
    middleware = SeenThrough.from_crawler(worker.crawler)

    async def links():  # type: ignore[no-untyped-def]
        yield Request(f"{request.url}#no-link")

    async def read() -> None:
        async for _out in middleware.process_spider_output(
            Response(request.url, request=request), links()
        ):
            pass

    asyncio.run(read())


def test_what_a_killed_worker_had_taken_is_queued_again_for_its_peers(redis_frontier):
    """A worker killed outright (SIGKILL, OOM) took its requests in flight with it, and
    the shared duplicate filter kept every peer from asking for them again: pages never
    fetched that night, every source "ok". Its ledger in Redis hands them back."""
    url, prefix = redis_frontier
    a, b = _worker(url, prefix), _worker(url, prefix)
    for n in (1, 2, 3):
        a.enqueue_request(Request(f"{SITE}/{n}.html"))
    first, second, third = a.next_request(), a.next_request(), a.next_request()
    assert {r.url for r in (first, second, third)} == {f"{SITE}/{n}.html" for n in (1, 2, 3)}
    _answered(a, first)  # its answer read: nothing to hand back for it
    retry = get_retry_request(second, spider=a.crawler.spider, reason="connection lost")
    assert retry is not None and a.enqueue_request(retry)  # kept by a, still in its ledger
    assert b.next_request() is None

    _fall_silent(a)  # killed: it will never close
    with pytest.raises(DontCloseSpider):  # what a had taken is work: b must not close
        b.spider_idle()  # b's queue is dry: it looks at its peers, and finds a silent
    handed = [b.next_request(), b.next_request(), b.next_request()]
    assert sorted(r.url for r in handed if r is not None) == [f"{SITE}/2.html", f"{SITE}/3.html"]
    assert b.stats.get_value("frontier/handed_back") == 2
    # past the duplicate filter, and so are their redirects: the target may be unfetched
    assert all(r.dont_filter for r in handed if r is not None)
    assert not a.server.exists(a.ledger), "the ledger was handed back once, then deleted"
    # the second of two peers noticing the same silence finds nothing left to hand back
    c = _worker(url, prefix)
    c._hand_back(a.worker)
    assert c.next_request() is None and c.stats.get_value("frontier/handed_back") is None

    for request in handed:
        if request is not None:
            _answered(b, request)
    b.close("finished")
    c.close("finished")
    assert not list(a.server.scan_iter(f"{prefix}:*")), "the last worker out left keys behind"


def test_a_worker_that_leaves_alive_leaves_no_ledger_and_is_never_handed_back(redis_frontier):
    url, prefix = redis_frontier
    a, b = _worker(url, prefix), _worker(url, prefix)
    a.enqueue_request(Request(f"{SITE}/1.html"))
    taken = a.next_request()
    assert a.server.hlen(a.ledger) == 1
    # a download that failed for good: no callback, the entry stays while a is alive ...
    a.close("finished")  # ... and goes when it leaves
    assert not a.server.exists(a.ledger)
    b._hand_back(a.worker)
    assert b.next_request() is None
    b._hand_back(b.worker)  # never its own: alive, at most slow to say so
    assert taken is not None
    b.close("finished")
    assert not list(b.server.scan_iter(f"{prefix}:*"))
