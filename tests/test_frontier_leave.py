"""The last worker out of a shared frontier and a worker joining never interleave.

Leaving is "remove myself; if no worker is left, delete the source's keys". Were those two
steps apart, a worker joining in between would find nobody, register and queue its start
requests, and then lose them all to the leaver's delete. Both run under the source's
join lock (crawler/shared_scheduler.py). The schedulers here are the real ones on a real Redis;
the test forces the interleaving: the moment the leaver has found no one left, it starts
the joiner and lets it run as far as it can.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import scrapy
from scrapy.utils.test import get_crawler

from nianbao.crawler.shared_scheduler import SharedScheduler
from tests.test_distributed import redis_frontier as redis_frontier  # the fixture


def _scheduler(url: str, prefix: str) -> SharedScheduler:
    settings = {
        "REDIS_URL": url,
        "NIANBAO_REDIS_PREFIX": prefix,
        "NIANBAO_SOURCE": "leave",
        "SCHEDULER_SERIALIZER": "nianbao.crawler.serializer",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
    }
    crawler = get_crawler(scrapy.Spider, settings)
    crawler.spider = scrapy.Spider(name="portal")
    return SharedScheduler.from_crawler(crawler)


@pytest.mark.parametrize("reason", ["finished", "shutdown"])
def test_a_worker_joining_while_the_last_one_leaves_keeps_its_frontier(redis_frontier, reason):
    url, prefix = redis_frontier
    leaver, joiner = _scheduler(url, prefix), _scheduler(url, prefix)
    leaver.open(leaver.crawler.spider)
    joined = threading.Event()
    at_lock = threading.Event()
    errors: list[BaseException] = []

    def join() -> None:
        try:
            joiner.open(joiner.crawler.spider)
            joiner.enqueue_request(scrapy.Request("http://example.gov.cn/", dont_filter=True))
            joined.set()
        except BaseException as exc:  # asserted on in the test thread
            errors.append(exc)

    lock = joiner.server.lock

    def noting_lock(*args: Any, **kwargs: Any) -> Any:
        at_lock.set()  # the joiner is about to take the join lock
        return lock(*args, **kwargs)

    joiner.server.lock = noting_lock  # type: ignore[method-assign]
    count = leaver._count
    thread = threading.Thread(target=join)

    def counting(name: str) -> int:
        n = count(name)
        if name == "workers" and n == 0 and not thread.is_alive():
            # The leaver has just found no one left: now a worker joins. If the leaver
            # does not hold the join lock, nothing holds the joiner back: let it join
            # completely; if it does, the joiner waits at the lock (no sleep needed).
            leaver_holds_lock = leaver.server.exists(leaver.join_lock)
            thread.start()
            assert at_lock.wait(30)
            if not leaver_holds_lock:
                thread.join(30)
        return n

    leaver._count = counting  # type: ignore[method-assign]
    leaver.close(reason)
    thread.join(60)
    assert not thread.is_alive() and errors == [] and joined.is_set()

    server = joiner.server
    assert server.zscore(joiner.keys["workers"], joiner.worker) is not None, "joiner lost"
    assert len(joiner.queue) == 1, "the joiner's start request was deleted"
    assert not server.exists(joiner.keys["paused"]), "a fresh crawl is marked as resumable"
    joiner.close("finished")
    assert not server.exists(*joiner.keys.values())
