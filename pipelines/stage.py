"""The Scrapy side of cleaning: one item pipeline runs the cleaning stages on the item's
document, :data:`pipelines.derive.STAGES` in their order (the same chain ``reprocess`` runs
on stored bodies, :func:`pipelines.derive.finish`), so the order has one home.

Stats go under ``clean/``: ``clean/removed_blocks`` and ``clean/removed/<rule>`` count what
the stages took out, ``clean/flag/<flag>`` the documents flagged (spun_text, …), so a
crawl's summary shows at a glance whether a cleaning rule suddenly fires everywhere;
``clean/cpu_ms/<stage>`` is the CPU time each stage took. They are added up in the
pipeline and written to the crawl's stats every :data:`STATS_EVERY` documents and when the
source closes: one stats call per page for each removed block, flag and stage (≈ 27 a county
report) cost 51 µs a page on the reactor's thread, the crawl's serial stage, against 6 for
adding them up here (2026-12-02).

Cleaning is pure CPU work, and Scrapy's reactor runs on one core. With
``NIANBAO_CLEAN_WORKERS`` > 0 the pipeline hands the document to a pool of that many
processes (:mod:`pipelines.workers`; one pool per crawl process, shared by all its
sources), which runs every stage; 0 runs them in the reactor thread. A crawl with a pool
reads its pages there too (:mod:`crawler.reading`), and a report candidate is cleaned in the
same job: its item arrives here cleaned, and this pipeline only counts. (Until 2026-12-01
each stage was a pipeline of its own; with the pool the first ran them all and the other
five passed the item on, through Scrapy's pipeline machinery, for nothing.)
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from nianbao.pipelines import background
from nianbao.pipelines.document import Document, Sealed
from nianbao.pipelines.workers import Pool

logger = logging.getLogger(__name__)

STATS_EVERY = 64  # documents between two writes of the clean/ counts to the stats

_pool: Pool | None = None
_pool_lock = threading.Lock()


def _warm() -> None:
    """A worker as it starts: its priority, and the stages' first-use costs (OpenCC's
    dictionaries, the long label patterns, ≈ 0.2 s) paid now, on its own core while the
    crawl builds its sources, not on its first page."""
    background.detach(background.NICE_CLEANERS)
    from nianbao.pipelines import derive

    try:
        derive.warm()
    except Exception:  # noqa: BLE001 - a bug to report; the first real page pays instead
        logger.exception("warming up the cleaning worker failed")


def pool(size: int) -> Pool:
    """The process's cleaning pool: forked if it is created before the crawl has a thread
    (:func:`start`), spawned otherwise (:func:`~nianbao.pipelines.background.start_method`)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = Pool(size, initializer=_warm)
        return _pool


def running_pool() -> Pool | None:
    """The process's cleaning pool if it has one (no pool is started)."""
    return _pool


def start(size: int) -> None:
    """Start the pool's workers now, before the reactor and any thread: forked."""
    pool(size)


def finish_sealed(doc: Document) -> tuple[Sealed, dict[str, float]]:
    """In a worker: every remaining stage. Not a report's near-duplicate signature: a busy
    writer queues it unsigned (signing was a tenth of a saturated crawl's CPU, and its
    shingle keys doubled what came back), an idle one signs it (``models.neardup``)."""
    from nianbao.pipelines.derive import finish

    doc, spent = finish(doc)
    # Nothing after the cleaning reads the markup, the page's lines or the entity (the
    # store keeps the wire body of the item): not sent back. The rest is sealed for the
    # writer (Sealed): the crawl process passes it on without unpickling it.
    return Sealed.seal(doc.slim()), spent


class CleanPipeline:
    """Every cleaning stage the item's document has not been through, in order."""

    def __init__(self, stats: Any = None, workers: int = 0) -> None:
        self.stats = stats
        self.workers = workers
        self.counts: dict[str, float] = {}  # not yet in the stats
        self.documents = 0  # documents counted since the last write to stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> CleanPipeline:
        return cls(crawler.stats, crawler.settings.getint("NIANBAO_CLEAN_WORKERS", 0))

    def process_item(self, item: Any) -> Any:
        """The item, cleaned in this thread; with workers, a coroutine that Scrapy awaits
        while the pool cleans it."""
        doc = getattr(item, "doc", None)
        if doc is None:
            return item
        spent = getattr(item, "cleaned", None)
        if spent is not None and isinstance(doc, Sealed):  # cleaned where it was read
            self._account(doc.removed_rules, doc.flags, set(), spent)
            return item
        if self.workers > 0:
            return self._pooled(item, doc)
        from nianbao.pipelines.derive import finish

        removed, flags = len(doc.removed), set(doc.flags)
        item.doc, spent = finish(doc)
        rules = [r.rule for r in item.doc.removed[removed:]]
        self._account(rules, item.doc.flags, flags, spent)
        return item

    async def _pooled(self, item: Any, doc: Document) -> Any:
        removed, flags = len(doc.removed), set(doc.flags)
        sealed, spent = await pool(self.workers).submit(finish_sealed, doc)
        item.doc = sealed
        self._account(sealed.removed_rules[removed:], sealed.flags, flags, spent)
        return item

    def close_spider(self, spider: Any = None) -> None:
        """The counts not yet written (Scrapy closes the pipelines before the stats)."""
        self.flush_stats()

    def flush_stats(self) -> None:
        """Write the counts added up so far to the crawl's stats."""
        if self.stats is not None:
            for key, value in self.counts.items():
                self.stats.inc_value(key, round(value, 3) if isinstance(value, float) else value)
        self.counts.clear()
        self.documents = 0

    def _account(
        self, rules: list[str], after_flags: list[str], flags: set, spent: dict[str, float]
    ) -> None:
        """Count the removals (``rules``: the new ones), the flags the cleaning added and
        the CPU-ms of each stage."""
        counts = self.counts
        if rules:
            counts["clean/removed_blocks"] = counts.get("clean/removed_blocks", 0) + len(rules)
            for rule in rules:
                key = "clean/removed/" + rule
                counts[key] = counts.get(key, 0) + 1
        for flag in set(after_flags) - flags:
            key = "clean/flag/" + flag
            counts[key] = counts.get(key, 0) + 1
        for name, ms in spent.items():
            key = "clean/cpu_ms/" + name
            counts[key] = counts.get(key, 0.0) + ms
        self.documents += 1
        if self.documents >= STATS_EVERY:
            self.flush_stats()
