"""The fallback crawl: links with nothing promising about them wait here.

The spider queues promising links (report column, disclosure sections, their pagination)
at once and holds the rest back; when the promising frontier is exhausted, the best of
the held-back links are released in batches. A site-wide crawl thus never competes with
the report column for the page budget.

"Exhausted" is about requests, not items: nothing scheduled, downloading, waiting for its
callback or yielded by one and not yet scheduled. Scrapy's ``spider_idle`` also waits for
every item to leave the pipelines, and a report item waits for the cleaning workers and
the archive writer; from the source's last promising response to its idle signal went
the whole backlog of a busy crawl, and then up to Scrapy's 5-second heartbeat (30 portals
× 40 reports, 2026-12-01: the 60 held-back pages were asked for 1.2–1.9 s after the last
report page, at the crawl's very end). :class:`FrontierWatch`
releases a batch as soon as the requests are done; ``spider_idle`` still releases one
whenever it comes first (a last response that failed, a request the duplicate filter
dropped).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import AsyncIterator
from typing import Any

from scrapy import Request, signals


class Fallback:
    def __init__(self, batch: int) -> None:
        self.batch = batch
        self._heap: list[tuple[int, int, Request]] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, request: Request | None) -> None:
        if request is not None:
            heapq.heappush(self._heap, (-request.priority, next(self._order), request))

    def release(self) -> list[Request]:
        """The next batch, highest priority first (first come first among equals)."""
        return [heapq.heappop(self._heap)[2] for _ in range(min(self.batch, len(self._heap)))]

    def clear(self) -> int:
        dropped = len(self._heap)
        self._heap.clear()
        return dropped


class FrontierWatch:
    """Spider middleware (outermost, next to the engine): ask the spider to release its next
    fallback batch once a callback's output is read to the end and no request of the source
    is pending anywhere (see the module docstring).

    What it counts itself: callbacks whose output is still being read, and requests that
    output yielded and Scrapy has not yet scheduled (the scraper queues up to
    ``2 × CONCURRENT_ITEMS`` outputs behind items still in the pipelines; ``request_scheduled``
    is the first thing ``engine.crawl`` does). What it asks Scrapy: the downloader's active
    requests, the scraper's queue of downloaded responses, the scheduler's pending requests
    and whether the start requests are all read. The last two are the engine's private
    state (Scrapy 2.13–2.19): if it is not where expected, nothing is released early and
    ``spider_idle`` releases as before.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.reading = 0  # callbacks whose output is being read
        self.unscheduled: set[int] = set()  # ids of requests yielded, not yet scheduled
        # Requests whose callback's output has been read to the end (their items may still
        # be in the pipelines); forgotten once the engine is done with them.
        self.read: set[Request] = set()
        crawler.signals.connect(self._scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(self._dropped, signal=signals.request_dropped)

    @classmethod
    def from_crawler(cls, crawler: Any) -> FrontierWatch:
        return cls(crawler)

    async def process_spider_output(
        self, response: Any, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        self.reading += 1
        try:
            async for out in result:
                if isinstance(out, Request):
                    self.unscheduled.add(id(out))
                yield out
        finally:
            self.reading -= 1
            if response.request is not None:
                self.read.add(response.request)
        self._check()

    def _scheduled(self, request: Request, spider: Any = None) -> None:
        self.unscheduled.discard(id(request))

    def _dropped(self, request: Request, spider: Any = None) -> None:
        """A duplicate (or refused) request: it brings no response to check after."""
        self._check()

    def _check(self) -> None:
        # Every time, not only when the fallback is looked at: a request holds its
        # response's wire capture (the body as received), and a busy source, or one with
        # no fallback, would otherwise keep every page it fetched until its end.
        forget_done(self.crawler.engine, self.read)
        spider = self.crawler.spider
        if self.reading or self.unscheduled or not getattr(spider, "fallback", None):
            return
        if exhausted(self.crawler.engine, self.read):
            spider.release_fallback()


def exhausted(engine: Any, read: set[Request]) -> bool:
    """No request of this crawl is scheduled, downloading or waiting for its callback, and
    its start requests are all read (False when the engine is not as Scrapy 2.13–2.19 has
    it, or closing). ``read``: the requests whose callback's output has been read to the
    end; those the engine is done with are dropped from it here.

    Every request the engine has in progress must be one of those. Downloading, queued
    for the scraper and scraped are not enough to look at: a response that has left the
    downloader reaches the scraper's queue a callback or two later, and one the scraper
    has taken reaches its callback after the spider middlewares' input side, so in
    between it is in neither place (the fallback batch went out while the report
    column's page was on its way to its callback: a county portal's 新闻 and 互动交流
    pages took the page budget before the column's second and third pages,
    ``tests/test_discovery.py``, one run in two on a slow machine, 2026-12-01)."""
    slot = getattr(engine, "_slot", None)
    scraper_slot = getattr(getattr(engine, "scraper", None), "slot", None)
    if slot is None or scraper_slot is None or getattr(slot, "closing", True):
        return False
    if getattr(engine, "_start", True) is not None:
        return False
    if engine.downloader.active or scraper_slot.queue:
        return False
    inprogress = forget_done(engine, read)
    if inprogress is None:
        return False
    if len(read) < len(inprogress):
        return False  # on its way to its callback
    return not slot.scheduler.has_pending_requests()


def forget_done(engine: Any, read: set[Request]) -> set[Request] | None:
    """Drop from ``read`` the requests the engine is done with; the engine's in-progress
    requests (None when the engine is not as Scrapy 2.13–2.19 has it)."""
    inprogress = getattr(getattr(engine, "_slot", None), "inprogress", None)
    if inprogress is not None:
        read.intersection_update(inprogress)
    return inprogress
