"""At most ``NIANBAO_MAX_IN_FLIGHT`` downloads on the wire at once in one crawl process,
every source together.

Scrapy bounds concurrency per crawler, and a crawl runs one crawler a source: 1,000
sources × 2 requests each were 2,000 requests in flight in one process. When its CPU is the
limit (≈ 117 answers a second there), a request waited ≈ 2,000 / 117 ≈ 17 s on average for
the process to read its answer, many past ``DOWNLOAD_TIMEOUT`` (30 s): one ``nianbao
crawl`` gave up 557 pages at the download time limit and never archived 520 of 10,000
reports, every source "ok" (2026-12-01).

The download handler (:mod:`nianbao.crawler.wire`) takes a slot before it sends a request
and gives it back when the answer is in or the attempt failed, so the slot is held only
while a request is on the wire: not while it waits out ``DOWNLOAD_DELAY`` or AutoThrottle
in Scrapy's per-site queue, and not while a retry waits. ``DOWNLOAD_TIMEOUT`` starts once
the slot is taken. The answers in flight are read within ≈ cap ÷ throughput seconds.
512 never binds below 256 sources at 2 requests each, and leaves ≈ 170 requests/s on a web
answering in 3 s, about what one process's CPU handles anyway. 0: no cap.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred


@dataclass
class _Waiter:
    deferred: Deferred[None] = field(default_factory=Deferred)
    handed: bool = False  # a slot was handed to it


class Slots:
    """A counting semaphore on the reactor's thread, first come first served."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.waiting: deque[_Waiter] = deque()

    def take(self) -> _Waiter | None:
        """None: a slot is the caller's now; else a waiter whose deferred fires with one."""
        if self.held < self.limit:
            self.held += 1
            return None
        waiter = _Waiter()
        self.waiting.append(waiter)
        return waiter

    def give_back(self) -> None:
        while self.waiting:  # hand it over, skipping waiters that were cancelled
            waiter = self.waiting.popleft()
            if not waiter.deferred.called:
                waiter.handed = True
                waiter.deferred.callback(None)
                return
        self.held -= 1


_slots: Slots | None = None


def process_slots(limit: int) -> Slots:
    """This process's slots (one set for every crawler in it)."""
    global _slots  # noqa: PLW0603 - one per process, as the downloads it bounds
    if _slots is None or _slots.limit != limit:
        _slots = Slots(limit)
    return _slots


@asynccontextmanager
async def slot(limit: int) -> AsyncIterator[None]:
    """Hold one of the process's ``limit`` download slots for the ``with`` block."""
    if limit <= 0:
        yield
        return
    slots = process_slots(limit)
    waiter = slots.take()
    if waiter is not None:
        try:
            await maybe_deferred_to_future(waiter.deferred)
        except BaseException:  # cancelled (the crawler is closing): no slot kept
            if waiter.handed:
                slots.give_back()
            raise
    try:
        yield
    finally:
        slots.give_back()
