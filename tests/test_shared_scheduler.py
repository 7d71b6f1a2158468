"""A request one worker took off the shared frontier is seen through by that worker.

Its retry, redirect or meta refresh (which Scrapy's middlewares make as copies of it) stays
in the worker's own queue. Handed back to the shared queue, a peer could fetch it, leaving
the worker that took it with nothing received and no failure counted: a "failed" source
and exit status 3 when nothing failed (seen in CI, 2026-12-01, in the shared-budget test).
The schedulers here are the real ones on a real Redis; the retry and redirect are made by
Scrapy's own middleware code.
"""

from __future__ import annotations

from types import SimpleNamespace

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.http import Response

from nianbao.crawler.shared_scheduler import SharedScheduler
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
