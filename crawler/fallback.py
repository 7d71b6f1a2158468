"""The fallback crawl: links with nothing promising about them wait here.

The spider queues promising links (report column, disclosure sections, their pagination)
at once and holds the rest back; when the promising frontier is exhausted (Scrapy's
``spider_idle``), the best of the held-back links are released in batches. A site-wide
crawl thus never competes with the report column for the page budget.
"""

from __future__ import annotations

import heapq
import itertools

from scrapy import Request


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
