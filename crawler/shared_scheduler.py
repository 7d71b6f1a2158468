"""The shared frontier's scheduler: scrapy-redis's, with per-source keys, a shared budget,
a shared finish, idle polling and a ledger of what each worker took (what and why:
:mod:`nianbao.crawler.frontier`, whose add-on names this class as ``SCHEDULER`` when a crawl
shares a frontier; it is imported only then, with scrapy-redis, an optional extra:
``pip install -e '.[redis]'``).

The ledger: a request popped off the shared queue exists only in the worker that popped
it until its answer has been read, so a worker killed outright (SIGKILL, the OOM killer, a
machine lost) took its requests in flight with it, and as they were in the shared
duplicate filter already, no peer ever asked for those pages again: reports missing from
the night with every source "ok". Each worker now writes what it takes into a hash of its
own in Redis (``<source>:taken:<worker>``): the pop off the shared queue and the ledger
entry are one Redis script (the entry is the queue's own bytes, keyed by their SHA-1,
which the request carries in ``meta`` to its retries and redirects), and the entry goes
once the callback's output for the answer has been read and every item of it has left
the pipelines, archived or dropped (:class:`SeenThrough`). When a worker
falls silent for ``NIANBAO_REDIS_WORKER_TIMEOUT`` seconds, the peer that notices takes
its ledger (one ``RENAME``: a ledger is handed back once) and queues every entry again.
A request handed back is asked for past the duplicate filter, and so are its redirects
(the dead worker may have been on the way to the target). An entry whose request ended
without a callback (the download failed for good) stays until its worker leaves: handed
back, it is tried once more. A worker that was only slow, not dead, may fetch a page a
peer fetches again: a page twice rather than a page never.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall

from nianbao.crawler.source import source_of
from nianbao.models.runs import RECEIVED, SOURCE_RECEIVED

logger = logging.getLogger(__name__)
CLAIMED = "nianbao_frontier_claimed"  # meta flag: popped by an idle worker's poll
# meta: the worker that took the request off the shared queue. Scrapy copies a request's
# meta into its retry, redirect and refresh, so they carry the mark back to enqueue_request.
TAKEN = "nianbao_frontier_taken"
# meta: the request's entry in the ledger of the worker that took it (copied, as TAKEN is,
# into its retries and redirects, which are seen through for it)
LEDGER = "nianbao_frontier_ledger"
# A signal: the answer to ``request`` is seen through (see SeenThrough).
SEEN_THROUGH = object()
# Pop the first request of the shared queue (scrapy-redis's PriorityQueue: a sorted set)
# and write it into the worker's ledger, in one step: a worker killed between the two
# would lose it. KEYS: queue, ledger, takers; ARGV: the worker.
_POP = """
local got = redis.call('ZRANGE', KEYS[1], 0, 0)
if #got == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
redis.call('HSET', KEYS[2], redis.sha1hex(got[1]), got[1])
redis.call('SADD', KEYS[3], ARGV[1])
return got[1]
"""


def _key_part(value: str) -> str:
    # scrapy-redis %-formats its keys with the spider name; a stray % must not reach it.
    return value.replace("%", "_")


class SharedScheduler(Scheduler):  # type: ignore[misc,valid-type]
    """scrapy-redis's scheduler with per-source keys, a shared budget and a shared finish."""

    poll: LoopingCall | None = None  # runs while idle and waiting for peers
    told: int = 0  # pages this worker received, as added to the source's shared count

    @classmethod
    def from_crawler(cls, crawler: Any) -> SharedScheduler:
        instance = cls.from_settings(crawler.settings)
        instance.stats = crawler.stats
        instance.crawler = crawler
        instance.prefix = crawler.settings.get("NIANBAO_REDIS_PREFIX") or "nianbao"
        instance.worker = f"{socket.gethostname()}:{os.getpid()}:{id(instance)}"
        instance.worker_timeout = crawler.settings.getfloat("NIANBAO_REDIS_WORKER_TIMEOUT", 600)
        instance.prefetch = max(1, crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))
        instance.idle_poll = crawler.settings.getfloat("NIANBAO_REDIS_IDLE_POLL", 0.5)
        # Requests this worker took and will fetch: claimed by its poll, or the retry,
        # redirect or refresh of one it fetched (never handed back to the shared queue).
        instance.claimed = deque()
        crawler.signals.connect(instance.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(instance._seen_through, signal=SEEN_THROUGH)
        return instance

    def open(self, spider: Any) -> None:
        source = source_of(self.crawler)
        base = f"{_key_part(self.prefix)}:{_key_part(source.name)}"
        self.keys = {
            name: f"{base}:{name}"
            for name in (
                "requests",
                "dupefilter",
                "budget",
                "workers",
                "busy",
                "paused",
                "received",
                "takers",  # workers that may have a ledger
            )
        }
        self.base = base
        self.ledger = self._ledger_of(self.worker)
        self.pop_script = self.server.register_script(_POP)
        self.queue_key = self.keys["requests"]
        self.df = RFPDupeFilter(
            self.server,
            key=self.keys["dupefilter"],
            debug=self.crawler.settings.getbool("DUPEFILTER_DEBUG"),
        )
        # The shared budget replaces the spider's per-process one, which would count URLs
        # another worker had already queued and stop discovery early.
        # (The add-on set NIANBAO_SHARED_BUDGET, so PageBudgetMiddleware stands aside.)
        self.max_pages = source.max_pages
        # Joining is one step under a lock: two workers starting together must not both
        # find no peer, so that the second clears the frontier the first just joined.
        self.join_lock = f"{base}:join"
        with self.server.lock(self.join_lock, timeout=30, blocking_timeout=60):
            if not self._count("workers"):
                if self.server.delete(self.keys["paused"]):
                    # The last worker of an interrupted crawl left its frontier: resume it.
                    logger.warning("resuming the interrupted shared crawl of %s", base)
                    self.stats.set_value("frontier/resumed", 1)
                else:
                    # Nobody is crawling this source: whatever is left is from a finished or
                    # crashed crawl, and inheriting its duplicate filter would fetch nothing.
                    self._delete_all()
            self._announce()
        workers = self._count("workers")
        super().open(spider)
        self.stats.set_value("frontier/dequeued", 0)  # 0 at the end: peers did all the work
        seen = self.server.scard(self.keys["dupefilter"])
        logger.info(
            "shared frontier %s: worker %s of %s, %s URL(s) seen, %s queued",
            base,
            self.worker,
            workers,
            seen,
            len(self.queue),
        )

    def _announce(self, busy: bool = True) -> None:
        """Say we are here (``workers``) and, unless idle, working (``busy``)."""
        now = time.time()
        self.server.zadd(self.keys["workers"], {self.worker: now})
        if busy:
            self.server.zadd(self.keys["busy"], {self.worker: now})

    def _idle(self) -> None:
        self.server.zrem(self.keys["busy"], self.worker)

    def _count(self, name: str) -> int:
        """Workers in ``workers``/``busy`` heard from within the timeout. The rest are
        forgotten, and what each had taken and not seen through is queued again."""
        key = self.keys[name]
        cutoff = time.time() - self.worker_timeout
        silent = self.server.zrangebyscore(key, "-inf", cutoff)
        if silent:
            self.server.zremrangebyscore(key, "-inf", cutoff)
            for worker in silent:
                self._hand_back(worker.decode() if isinstance(worker, bytes) else worker)
        return int(self.server.zcard(key))

    def _ledger_of(self, worker: str) -> str:
        return f"{self.base}:taken:{worker}"

    def _hold(self, request: Any) -> None:
        """Write ``request`` into this worker's ledger (a queue other than scrapy-redis's
        priority queue, popped apart from the ledger)."""
        entry = self._entry(request)
        request.meta[LEDGER] = hashlib.sha1(entry).hexdigest()
        pipe = self.server.pipeline(transaction=False)
        pipe.hset(self.ledger, request.meta[LEDGER], entry)
        pipe.sadd(self.keys["takers"], self.worker)
        pipe.execute()

    def _entry(self, request: Any) -> bytes:
        """``request`` as the shared queue holds one. What a download put in its ``meta``
        (the wire capture of a redirect's first hop) is not the queue's JSON: such values
        are left out, as a request asked for afresh does not have them."""
        try:
            return self.queue._encode_request(request)
        except (TypeError, ValueError):
            dumps = self.queue.serializer.dumps
            kept = {}
            for key, value in request.meta.items():
                try:
                    dumps({key: value})
                except (TypeError, ValueError):
                    continue
                kept[key] = value
            return self.queue._encode_request(request.replace(meta=kept))

    def _seen_through(self, request: Any, spider: Any = None) -> None:
        entry = request.meta.get(LEDGER)
        if entry and request.meta.get(TAKEN) == self.worker:
            self.server.hdel(self.ledger, entry)

    def _hand_back(self, worker: str) -> None:
        """Queue again what a silent ``worker`` took and did not see through."""
        if worker == self.worker:
            return  # this worker is alive; it was only slow to say so
        ledger = self._ledger_of(worker)
        mine = f"{ledger}:handing:{self.worker}"
        try:
            self.server.rename(ledger, mine)  # one taker only, if two peers notice at once
        except ResponseError:  # no such key: nothing in flight, or a peer took it first
            return
        queued = 0
        for data in self.server.hvals(mine):
            try:
                request = self.queue._decode_request(data)
            except (ValueError, TypeError, KeyError) as exc:
                self._refused(exc, "a ledger entry")
                continue
            request.meta.pop(TAKEN, None)
            request.meta.pop(LEDGER, None)
            # Past the duplicate filter, which has seen it, and so are its redirects: the
            # dead worker may have been on the way to the target.
            request.dont_filter = True
            self.queue.push(request)
            queued += 1
        self.server.delete(mine)
        self.server.srem(self.keys["takers"], worker)
        if queued:
            self.stats.inc_value("frontier/handed_back", queued)
            logger.warning(
                "shared frontier %s: worker %s fell silent for %ss; %d request(s) it had "
                "taken are queued again",
                self.base,
                worker,
                int(self.worker_timeout),
                queued,
            )

    def _delete_all(self) -> None:
        """Every key of the source: its frontier and the workers' ledgers."""
        ledgers = [self._ledger_of(w.decode()) for w in self.server.smembers(self.keys["takers"])]
        self.server.delete(*self.keys.values(), *ledgers)

    def __len__(self) -> int:
        return len(self.queue) + len(self.claimed)

    def enqueue_request(self, request: Any) -> bool:
        """Queue ``request`` for every worker, or keep it here if it continues one of ours.

        A retry, redirect or meta refresh of a request this worker took stays with this
        worker (after the duplicate filter and the budget, for a new address): handed back
        to the shared queue, a peer could fetch it, and this worker would end with nothing
        received and no failure counted, reported as a failed source (exit status 3) when
        nothing had failed. It also keeps a retry's attempts and waits in one worker's
        count, as without a shared frontier.
        """
        if request.meta.pop(CLAIMED, False):  # already taken off the shared queue by _claim
            self.claimed.append(request)
            return True
        if not request.dont_filter:
            if self.df.request_seen(request):
                self.df.log(request, self.spider)
                self.stats.inc_value("frontier/filtered")
                return False
            if self.max_pages and self.server.incr(self.keys["budget"]) > self.max_pages:
                self.stats.inc_value("frontier/budget_exhausted")
                return False
        if request.meta.get(TAKEN) == self.worker:  # its ledger entry is the original's
            self.claimed.append(request)
            self.stats.inc_value("frontier/kept")
            return True
        self.queue.push(request)
        self.stats.inc_value("frontier/enqueued")
        return True

    def next_request(self) -> Any:
        if self.claimed:
            return self.claimed.popleft()
        # Take only what this worker can start fetching now: Scrapy would otherwise pull up
        # to CONCURRENT_REQUESTS into its per-site queue, hoarding work an idle peer could do.
        if len(self.crawler.engine.downloader.active) >= self.prefetch:
            return None
        # Announce before popping: between the pop and the fetch, a peer must not take us
        # for idle and tear the frontier down.
        self._announce()
        request = self._pop(self.idle_before_close)
        if request is not None:
            self._took(request)
        return request

    def _took(self, request: Any) -> None:
        request.meta[TAKEN] = self.worker
        self.stats.inc_value("frontier/dequeued")

    def _pop(self, timeout: int = 0) -> Any:
        """The next queued request, written into this worker's ledger as it leaves the
        queue; an entry that is not our JSON is dropped and counted."""
        if not isinstance(self.queue, PriorityQueue):
            try:
                request = self.queue.pop(timeout)
            except (ValueError, TypeError, KeyError) as exc:
                return self._refused(exc)
            if request is not None:
                self._hold(request)
            return request
        data = self.pop_script(
            keys=[self.queue_key, self.ledger, self.keys["takers"]], args=[self.worker]
        )
        if data is None:
            return None
        entry = hashlib.sha1(data).hexdigest()
        try:
            request = self.queue._decode_request(data)
        except (ValueError, TypeError, KeyError) as exc:  # never unpickled, never run
            self.server.hdel(self.ledger, entry)
            return self._refused(exc)
        request.meta[LEDGER] = entry
        return request

    def _refused(self, exc: Exception, what: str = "a queued request") -> None:
        logger.error("shared frontier: refused %s that is not ours: %s", what, exc)
        self.stats.inc_value("frontier/refused")

    def _tell_received(self) -> None:
        """Add the pages this worker received since it last said so to the source's count
        (``received``): whether the *source* failed is for all its workers to say."""
        own = int(self.stats.get_value(RECEIVED, 0) or 0)
        if own > self.told:
            self.server.incrby(self.keys["received"], own - self.told)
            self.told = own

    def spider_idle(self, spider: Any = None) -> None:
        """Stay open while another worker is busy: its pages may queue more work. What it
        received is told before it counts as idle, so that the last worker out knows the
        source's total."""
        self._tell_received()
        if len(self.queue):  # queued after our engine last asked: claim it now
            self._watch()
            raise DontCloseSpider
        self._idle()
        # counting the busy may hand back a silent peer's requests: queued, they are work
        if self._count("busy") or len(self.queue):
            self._watch()
            raise DontCloseSpider

    def _watch(self) -> None:
        """Poll the shared queue while idle (Scrapy itself re-checks only every 5 s)."""
        if self.poll is None or not self.poll.running:
            self.poll = LoopingCall(self._claim)
            self.poll.start(self.idle_poll, now=False).addErrback(
                lambda f: logger.error("shared frontier poll failed: %s", f.value)
            )

    def _claim(self) -> None:
        """Take a request a busy peer queued and hand it to our engine; or finish with them."""
        if not len(self.queue):
            self._announce(busy=False)  # still here, still idle
            # every peer is idle too, and none fell silent holding requests: it is over
            if not self._count("busy") and not len(self.queue):
                if self.poll is not None:
                    self.poll.stop()
                deferred_from_coro(self.crawler.engine.close_spider_async(reason="finished"))
            return
        self._announce()
        request = self._pop()
        if request is None:  # a peer was quicker (or the entry was refused)
            self._idle()
            return
        if self.poll is not None:
            self.poll.stop()
        self._took(request)
        request.meta[CLAIMED] = True
        self.crawler.engine.crawl(request)

    def close(self, reason: str) -> None:
        if self.poll is not None and self.poll.running:
            self.poll.stop()
        # Leaving is one step under the join lock, as joining is. Without it: this worker
        # leaves and finds no one left; a worker joining now also finds no one, clears,
        # registers and queues its start requests; then this one's delete wipes them all
        # (or its "paused" mark makes the newcomer's next start resume a fresh crawl).
        with self.server.lock(self.join_lock, timeout=30, blocking_timeout=60):
            # Requests kept for this worker and not fetched (a stop between a retry's wait
            # and its fetch): back to the shared queue, for a peer or the next start.
            while self.claimed:
                request = self.claimed.popleft()
                request.meta.pop(TAKEN, None)
                request.meta.pop(LEDGER, None)
                # as JSON the queue takes (a retry carries its first attempt's wire capture)
                self.queue.push(self.queue._decode_request(self._entry(request)))
            # The source's pages received by every worker so far (all of them, when the
            # crawl is over: each told before going idle): a worker that received none
            # itself is not a failed source if its peers did (models.runs.run_status).
            self._tell_received()
            self.stats.set_value(SOURCE_RECEIVED, int(self.server.get(self.keys["received"]) or 0))
            # Leaving alive: what is left in the ledger ended without a callback.
            self.server.delete(self.ledger)
            self.server.srem(self.keys["takers"], self.worker)
            self._leave(reason)

    def _leave(self, reason: str) -> None:
        self._idle()
        self.server.zrem(self.keys["workers"], self.worker)
        if self._count("workers"):
            return
        if reason == "finished":
            self._delete_all()
            logger.info("last worker out: deleted the shared frontier's keys")
        else:  # stopped (Ctrl-C, SIGTERM, a CloseSpider): the next start resumes
            self.server.set(self.keys["paused"], reason)
            logger.info(
                "last worker out (%s): kept the shared frontier, %s request(s) queued",
                reason,
                len(self.queue),
            )


@dataclass
class _Output:
    """One ledgered response's callback output, as :class:`SeenThrough` follows it."""

    response: Any  # held, so that its id names no other response until it is settled
    in_pipelines: int = 0  # items of the output not yet through the pipelines
    read: bool = False  # the output read to the end (its links queued)


class SeenThrough:
    """Spider middleware (outermost, with the shared frontier): a request leaves its
    worker's ledger once the callback's output for its answer is read to the end (the
    links it found are queued) and every item of that output has left the pipelines
    (archived, or dropped): a report still being cleaned or written is lost with a killed
    worker as surely as one still on the wire (see the module docstring)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.open: dict[int, _Output] = {}  # by id(response)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self._item_done, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Any) -> SeenThrough:
        return cls(crawler)

    async def process_spider_output(self, response: Any, result: Any) -> Any:
        request = getattr(response, "request", None)
        if request is None or not request.meta.get(LEDGER):
            async for out in result:
                yield out
            return
        output = self.open.setdefault(id(response), _Output(response))
        try:
            async for out in result:
                if not isinstance(out, Request):
                    output.in_pipelines += 1
                yield out
        finally:
            output.read = True
            self._settle(id(response), output)

    def _item_done(self, item: Any = None, response: Any = None, **_: Any) -> None:
        output = self.open.get(id(response))
        if output is not None:
            output.in_pipelines -= 1
            self._settle(id(response), output)

    def _settle(self, key: int, output: _Output) -> None:
        if output.read and output.in_pipelines <= 0:
            del self.open[key]
            self.crawler.signals.send_catch_log(SEEN_THROUGH, request=output.response.request)
