"""The fallback crawl's queue: best first, in batches."""

from __future__ import annotations

from scrapy import Request

from nianbao.crawler.fallback import Fallback


def test_released_best_first_then_in_arrival_order() -> None:
    queue = Fallback(batch=3)
    for n, priority in enumerate([0, -5, 5, 0, 5]):
        queue.push(Request(f"http://x.cn/{n}", priority=priority))
    queue.push(None)  # a refused link: nothing queued
    assert len(queue) == 5
    first = [r.url for r in queue.release()]
    assert first == ["http://x.cn/2", "http://x.cn/4", "http://x.cn/0"]
    assert [r.url for r in queue.release()] == ["http://x.cn/3", "http://x.cn/1"]
    assert queue.release() == [] and not queue


def test_clear_says_how_many_were_dropped() -> None:
    queue = Fallback(batch=10)
    for n in range(4):
        queue.push(Request(f"http://x.cn/{n}"))
    assert queue.clear() == 4 and len(queue) == 0
