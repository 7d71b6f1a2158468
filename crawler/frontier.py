"""The shared frontier: one Redis-held request queue and duplicate filter for many workers.

When ``NIANBAO_REDIS_URL`` (or ``$NIANBAO_REDIS``) is set, the :class:`RedisFrontier`
add-on switches the crawl to scrapy-redis's scheduler and duplicate filter, so any number
of crawler processes on any number of machines work through one queue per source and
never fetch a URL another worker has already queued. Without it, Scrapy's in-process
scheduler is used and nothing here runs.

:class:`~nianbao.crawler.shared_scheduler.SharedScheduler` is scrapy-redis's ``Scheduler``
(0.9.1, checked against Scrapy 2.13–2.19) with four changes a batch crawl of many sources
needs:

* keys are per source, ``<NIANBAO_REDIS_PREFIX>:<source>:requests|dupefilter|budget|…``
  (scrapy-redis keys by spider name, and every source runs the same ``portal`` spider);
* the source's page budget is counted in Redis, once per URL the shared duplicate filter
  admits, so N workers together fetch at most ``max_pages`` pages of a source (the
  spider's own per-process budget is lifted while the shared one is in force);
* a worker whose queue runs dry stays open while another worker is still busy (its pages
  may add more requests) and leaves when all are idle; the last worker out deletes the
  source's keys, so the next crawl starts afresh (joining and leaving both run under
  the source's join lock, so a worker joining as the last one leaves keeps what it queued). Workers announce themselves in two
  sorted sets (``workers``: present; ``busy``: not idle) scored by when they were last
  heard from; one silent for
  ``NIANBAO_REDIS_WORKER_TIMEOUT`` seconds is presumed dead, so a crashed worker can
  neither keep the others waiting forever nor make the next crawl inherit a stale
  duplicate filter (a worker that finds no live worker starts the source afresh);
* a worker takes from the shared queue only as many requests as it may fetch at once
  (``CONCURRENT_REQUESTS_PER_DOMAIN``), so work spreads over the workers instead of
  being prefetched into one of them;
* an idle worker waiting for its peers polls the shared queue every
  ``NIANBAO_REDIS_IDLE_POLL`` seconds and claims what they queued (Scrapy's own idle
  re-check runs only every 5 s);
* a request a worker took is seen through by that worker: its retries, redirects and
  meta refreshes stay in the worker's own queue instead of going back to the shared one,
  so the worker that met a 503 or a reset connection is the one that fetches the page
  (a peer fetching it would leave the worker with nothing received and no failure,
  which reads as a failed source);
* what a worker takes off the shared queue is written into a ledger of its own in Redis
  until its answer's links are queued and its items archived; when a worker falls silent
  (killed outright, its machine lost), the peer that notices queues its ledger again, so
  the pages it was fetching or archiving are not lost behind the duplicate filter (a page
  may then be fetched twice, never not at all);
* a crawl whose last worker was stopped (Ctrl-C, SIGTERM) keeps its frontier, and the
  next worker started resumes it; Scrapy's ``JOBDIR`` has no queue to keep in this mode;
* unlink detection (``crawler/linkwatch.py``) is switched off: no single worker sees the
  portal's whole link graph;
* stats are written without the ``spider`` argument Scrapy 2.14+ deprecates.

The add-on also swaps in :class:`~nianbao.crawler.polite.PoliteDownloadHandler`, so each
host's (or IP's) concurrency and delay hold for all workers together. Only scrapy-redis's
scheduler and duplicate filter are used, never its ``RedisSpider`` (whose
``start_requests()`` Scrapy 2.16+ no longer drives): the spider's own ``async start()``
yields the start requests, and Scrapy's engine enqueues them here like any other.

The scheduler lives in its own module, imported only by a crawl that shares a frontier:
scrapy-redis and the Redis client took 65–130 ms of every crawl's start-up (2026-12-01),
on the one core a crawl starts on, for the few that use them.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from typing import Any

from scrapy.exceptions import NotConfigured

from nianbao.errors import NianbaoError

logger = logging.getLogger(__name__)
WIRE = "nianbao.crawler.wire.WireDownloadHandler"
POLITE = "nianbao.crawler.polite.PoliteDownloadHandler"
SEEN_THROUGH = "nianbao.crawler.shared_scheduler.SeenThrough"


class FrontierError(NianbaoError):
    """The shared frontier was asked for but cannot be used (extra missing, Redis down)."""


def check(url: str, shared_frontier: bool = True) -> None:
    """Fail early, with the URL, if a package it needs is missing or Redis does not answer.
    ``shared_frontier`` false (``--shard``): Redis keeps only the politeness leases, which
    need the ``redis`` client and not scrapy-redis."""
    needed = ("scrapy_redis", "redis") if shared_frontier else ("redis",)
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        what = "a Redis frontier" if shared_frontier else "Redis (for politeness across workers)"
        raise FrontierError(
            f"{what} was requested but {' and '.join(m.replace('_', '-') for m in missing)} "
            "is not installed: pip install -e '.[redis]'"
        )
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except (redis.exceptions.RedisError, ValueError) as exc:
        raise FrontierError(f"cannot reach the Redis frontier at {url}: {exc}") from exc


class RedisFrontier:
    """Scrapy add-on: use the shared frontier when ``NIANBAO_REDIS_URL`` is set."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedisFrontier:
        return cls()

    def update_settings(self, settings: Any) -> None:
        url = settings.get("NIANBAO_REDIS_URL") or os.environ.get("NIANBAO_REDIS", "")
        if not url:
            raise NotConfigured  # no Redis: Scrapy's in-process scheduler
        shared = settings.getbool("NIANBAO_REDIS_FRONTIER", True)
        check(url, shared)
        if shared:
            self._share_frontier(settings, url)
        # Politeness for the sum of all workers (crawler/polite.py): the recording handler,
        # starting each fetch under a lease on its host (or IP) held in this Redis.
        if settings.getbool("NIANBAO_POLITE_SHARED", True):
            handlers = settings.getdict("DOWNLOAD_HANDLERS")
            if all(handlers.get(s) == WIRE for s in ("http", "https")):
                polite = dict(handlers, http=POLITE, https=POLITE)
                _override(settings, "DOWNLOAD_HANDLERS", polite)
            else:
                logger.warning("DOWNLOAD_HANDLERS is not nianbao's: politeness is per worker only")

    @staticmethod
    def _share_frontier(settings: Any, url: str) -> None:
        """The source's queue, duplicate filter and budget in Redis, for every worker
        (``NIANBAO_REDIS_FRONTIER``; off when each worker crawls a shard of the sources
        of its own, ``nianbao crawl --shard``, and Redis only keeps the politeness)."""
        settings.set("SCHEDULER", "nianbao.crawler.shared_scheduler.SharedScheduler", "addon")
        settings.set("NIANBAO_SHARED_BUDGET", True, "addon")
        settings.set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", "addon")
        settings.set("REDIS_URL", url, "addon")
        # JSON, not scrapy-redis's default pickle: a shared Redis must never run code here.
        settings.set("SCHEDULER_SERIALIZER", "nianbao.crawler.serializer", "addon")
        # Outermost (next to the engine): a taken request leaves its worker's ledger once
        # its answer's links are queued and its items archived (crawler/shared_scheduler.py).
        middlewares = dict(settings.getdict("SPIDER_MIDDLEWARES"))
        middlewares[SEEN_THROUGH] = 5
        _override(settings, "SPIDER_MIDDLEWARES", middlewares)
        # Each worker sees only the pages it fetched, not the portal's whole link graph, so
        # "no page links to this report any more" cannot be judged by one of them.
        _override(settings, "NIANBAO_LINKWATCH_ENABLED", False)


def _override(settings: Any, name: str, value: Any) -> None:
    """Set ``name`` over the project's settings (an add-on's own priority is below them),
    at the priority it was given with if higher (a ``-s`` on the command line: the values
    set here were made from it)."""
    settings.set(name, value, max(settings.getpriority(name) or 0, 20))
