"""Politeness across workers: one host's (or one IP's) concurrency and delay, in total.

Scrapy enforces ``CONCURRENT_REQUESTS_PER_DOMAIN``/``_PER_IP`` and ``DOWNLOAD_DELAY`` in each
crawler's own downloader, so N workers sharing a Redis frontier make N times the load on
a portal, and the sources of one 集约化 platform (many county sites on one IP) each get
their own allowance even inside one process. This module makes the limits hold for the
sum of every crawler on every worker pointed at the same Redis.

The scheme: each politeness key has its state in Redis, where every worker's fetch must
take a lease before it starts, in one atomic Lua script:

* ``<prefix>:polite:<key>:inflight`` — a sorted set of the leases held (one per request
  being fetched), scored by when each expires;
* ``<prefix>:polite:<key>:next`` — the earliest time (Redis's clock, ms) the next request
  may start.

A fetch may start when fewer than the key's concurrency leases are held and the next-
allowed time has passed; starting sets next-allowed to now + ``DOWNLOAD_DELAY``. The
lease is given back when the response (or the failure) arrives. A worker that dies with
leases held cannot block the key for long: each lease expires after the attempt's
download timeout plus ``NIANBAO_POLITE_LEASE_MARGIN`` seconds (no live worker holds one
longer, since ``DOWNLOAD_TIMEOUT`` cuts every attempt), and the next script run drops it.
Nothing else needs cleaning up: both keys expire by themselves once unused.

Why this rather than partitioning hosts between workers (Heritrix, Nutch and
StormCrawler give each host, or IP, one owner, whose local per-host queue then enforces
the delay — Nutch's FetchItemQueue keeps exactly "requests in progress" and "next
fetch time" per host): here a worker runs one Scrapy crawler per *source*, each with its
own downloader, and a source's queue is already one shared Redis queue. Ownership by
host would leave every non-owner of a source idle and still not bound the sources of one
IP inside the owning process (their downloaders do not know of each other). The same
per-host state as Nutch's queue, kept in Redis, bounds both, for requests of any source
to any host — the distributed throttle Scrapy Cluster keeps in Redis per domain (and
optionally per IP). It costs two Redis round trips per request (acquire, release).

Keys: ``host:<hostname>:<port>`` by default (the port too: two servers on one machine
are two sites; on the real web ports are the default ones, so this is the host name), or
``ip:<address>`` when ``CONCURRENT_REQUESTS_PER_IP`` is set, which is then the
concurrency (as in Scrapy: "the per-domain limit is ignored and this one used"); the
address is the host's resolved one (Scrapy's caching resolver). The delay is
``DOWNLOAD_DELAY``, or the worker's current AutoThrottle delay for that slot when larger,
without Scrapy's random jitter: gaps between request starts to one key, across all
workers, are at least ``DOWNLOAD_DELAY``. Workers should run with the same settings.

A request that cannot start yet waits in the download handler (holding its place in its
own worker's slot, so that worker never exceeds its local limits either), rechecking
when the delay has passed, or every ``NIANBAO_POLITE_POLL`` seconds while the key's
concurrency is taken.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Request, Response
from scrapy.utils.defer import maybe_deferred_to_future

from nianbao.crawler.middlewares import _sleep
from nianbao.crawler.wire import WireDownloadHandler

logger = logging.getLogger(__name__)

# KEYS: inflight, next. ARGV: token, concurrency, delay ms, lease ms, poll ms.
# Returns 0 when the lease was granted, else the milliseconds to wait before asking again.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local concurrency = tonumber(ARGV[2])
local delay = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt > now then
  return nxt - now
end
if redis.call('ZCARD', KEYS[1]) >= concurrency then
  return tonumber(ARGV[5])
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
if redis.call('PTTL', KEYS[1]) < lease then
  redis.call('PEXPIRE', KEYS[1], lease)
end
if delay > 0 then
  redis.call('SET', KEYS[2], now + delay, 'PX', delay)
end
return 0
"""

DOWNLOADER_AWARE = "scrapy.pqueues.DownloaderAwarePriorityQueue"
PLAIN_QUEUE = "scrapy.pqueues.ScrapyPriorityQueue"


class PerIpQueue:
    """Scrapy add-on: with ``CONCURRENT_REQUESTS_PER_IP`` set, the scheduler's plain priority
    queue instead of Scrapy's default, ``DownloaderAwarePriorityQueue``, which refuses
    that setting when the spider opens (a ValueError: every source of a crawl "failed",
    exit status 3, whenever an operator keyed politeness by IP without Redis or with
    ``--shard``). The downloader-aware queue spreads one crawler's requests over its
    download slots; a crawler here is one source, whose requests go to one or a few
    hosts, so the plain queue orders them the same. A queue set explicitly is left alone.
    """

    def update_settings(self, settings: Any) -> None:
        if settings.getint("CONCURRENT_REQUESTS_PER_IP") and (
            settings.get("SCHEDULER_PRIORITY_QUEUE") == DOWNLOADER_AWARE
            and settings.getpriority("SCHEDULER_PRIORITY_QUEUE") == 0  # Scrapy's default
        ):
            settings.set("SCHEDULER_PRIORITY_QUEUE", PLAIN_QUEUE, "addon")


_clients: dict[str, Any] = {}


def client_for(url: str) -> Any:
    """One Redis client (and connection pool) per process and URL, shared by its crawlers."""
    if url not in _clients:
        import redis

        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=5)
    return _clients[url]


class SharedLimits:
    """The Redis side: take and give back leases on politeness keys."""

    def __init__(self, server: Any, prefix: str, poll: float, margin: float) -> None:
        self.server = server
        self.prefix = prefix
        self.poll_ms = max(1, int(poll * 1000))
        self.margin = margin
        self._acquire = server.register_script(ACQUIRE)

    def keys(self, key: str) -> list[str]:
        base = f"{self.prefix}:polite:{key}"
        return [f"{base}:inflight", f"{base}:next"]

    def try_acquire(
        self, key: str, token: str, concurrency: int, delay: float, timeout: float
    ) -> float:
        """0 if ``token`` now holds a lease on ``key``; else seconds to wait and ask again."""
        lease_ms = int((timeout + self.margin) * 1000)
        wait = self._acquire(
            keys=self.keys(key),
            args=[token, max(1, concurrency), int(delay * 1000), lease_ms, self.poll_ms],
        )
        return int(wait) / 1000

    def release(self, key: str, token: str) -> None:
        self.server.zrem(self.keys(key)[0], token)


def _host_key(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or "", port


class PoliteDownloadHandler(WireDownloadHandler):  # type: ignore[misc,valid-type]
    """The recording HTTP handler, starting each fetch only under a shared lease."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        url = settings.get("NIANBAO_REDIS_URL")
        self.limits = SharedLimits(
            client_for(url),
            settings.get("NIANBAO_REDIS_PREFIX") or "nianbao",
            settings.getfloat("NIANBAO_POLITE_POLL", 0.1),
            settings.getfloat("NIANBAO_POLITE_LEASE_MARGIN", 15.0),
        )
        self.per_ip = settings.getint("CONCURRENT_REQUESTS_PER_IP")
        self.concurrency = self.per_ip or settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        self.delay = settings.getfloat("DOWNLOAD_DELAY")
        self.timeout = settings.getfloat("DOWNLOAD_TIMEOUT")
        self.stats = crawler.stats

    async def key_for(self, request: Request) -> str:
        host, port = _host_key(request.url)
        if not self.per_ip:
            return f"host:{host}:{port}"
        from twisted.internet import reactor

        address = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[attr-defined,arg-type]
        return f"ip:{address}"

    def _delay(self, request: Request) -> float:
        """DOWNLOAD_DELAY, or this worker's slot delay when AutoThrottle raised it."""
        downloader = getattr(self._crawler.engine, "downloader", None)
        slot = downloader.slots.get(request.meta.get("download_slot")) if downloader else None
        return max(self.delay, slot.delay if slot is not None else 0.0)

    async def download_request(self, request: Request) -> Response:
        key = await self.key_for(request)
        token = uuid.uuid4().hex
        timeout = max(self.timeout, float(request.meta.get("download_timeout") or 0))
        waited = 0.0
        while True:
            wait = self.limits.try_acquire(
                key, token, self.concurrency, self._delay(request), timeout
            )
            if not wait:
                break
            waited += wait
            await _sleep(wait)
        if waited:
            self.stats.inc_value("polite/waited_ms", int(waited * 1000))
        self.stats.inc_value("polite/leases")
        try:
            return await super().download_request(request)
        finally:
            self.limits.release(key, token)
