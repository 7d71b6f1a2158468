"""The last stage: write captures, reports and versions to the archive.

Database work runs in the crawl's one writer process (:class:`models.writer.Writer`,
shared by every source crawled in the process) so it never blocks the reactor (Scrapy
keeps fetching while a version is written) and SQLite sees a single writer per process.
Items that queued up together are written in one transaction (group commit), an item that
fails rolled back alone; an item is acknowledged only after that commit. A failure is
logged with the URL and counted, and never takes already-archived data with it.

Pages that are not reports (``listing`` items, and candidates recognition turned down) are
kept as ``page`` captures whenever their bytes change, and their 304s as small rows
(:mod:`models.pagecache`), in batches of ``PAGE_BATCH``, so a portal of thousands of list
and article pages costs few transactions.

What is stored is the exchange as it crossed the network (:mod:`crawler.wire`): the body
before content decoding, the request and response heads byte for byte, the peer.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from scrapy import signals
from scrapy.exceptions import DropItem

from nianbao.crawler.items import CaptureItem
from nianbao.crawler.source import source_of
from nianbao.models import archive, jobs, pagecache, runs
from nianbao.models.db import ArchiveError, resolve_url, safe_url
from nianbao.models.writer import WriteFailed, Writer
from nianbao.pipelines.document import Document, Sealed

logger = logging.getLogger(__name__)

PAGE_BATCH = 200


class StorePipeline:
    def __init__(self, db_url: str, crawler: Any) -> None:
        self.db_url = db_url
        self.crawler = crawler
        self.stats = crawler.stats
        self.writer: Writer | None = None
        self.run_id: int | None = None
        self.source_id: int | None = None
        self.pages: list[archive.CaptureIn] = []

    @staticmethod
    def archive_url(db_setting: str | None) -> str:
        """The archive ``NIANBAO_DB`` names, as the crawl's shared writer is keyed: one
        expression for this pipeline and for ``nianbao.crawl``, which starts that writer
        before the crawlers exist (a different key would start a second writer)."""
        return resolve_url(db_setting or None)

    @classmethod
    def from_crawler(cls, crawler: Any) -> StorePipeline:
        pipeline = cls(crawler.settings.get("NIANBAO_DB") or "", crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    async def open_spider(self, spider: Any = None) -> None:
        """Open this source's crawl run row, awaited: a blocking wait held the reactor, so
        with many sources in one process their run rows were opened one transaction (and
        one commit) after another while nothing was fetched; awaited, the writer opens them
        all in one batch."""
        spider = spider or self.crawler.spider
        self.source = source_of(self.crawler)
        try:
            self.writer = Writer.acquire(self.archive_url(self.db_url))
        except ArchiveError as exc:
            logger.error("%s", exc)
            raise
        config = {"start_urls": spider.start_urls, "allowed_domains": spider.allowed_domains}
        if self.source.organ_type:  # sources.toml override, read by `nianbao compliance`
            config["organ_type"] = self.source.organ_type

        self.run_id, self.source_id = await asyncio.wrap_future(
            self.writer.submit_now(
                jobs.start_run, self.source.name, self.source.organ, config, os.getpid()
            )
        )
        self.stats.set_value("nianbao/run_id", self.run_id)  # the crawl's digest finds it
        logger.info("archiving to %s (crawl run %s)", safe_url(self.writer.url), self.run_id)

    async def _finish(self, reason: str) -> None:
        if self.run_id is None or self.writer is None:
            return
        stats = self.stats.get_stats()
        counts = {
            k.split("/", 1)[1]: v
            for k, v in stats.items()
            if k.startswith(("archive/", "portal/")) and isinstance(v, int)
        }
        counts.update(  # conditional_requests, conditional_not_modified, ...
            {
                k.replace("/", "_"): v
                for k, v in stats.items()
                if k.startswith("conditional/") and isinstance(v, int)
            }
        )
        counts["responses"] = stats.get("downloader/response_count", 0)
        counts["requests"] = stats.get("downloader/request_count", 0)
        summary = runs.summarize(stats, reason)
        summary.resumed = summary.resumed or self.crawler.settings.getbool("NIANBAO_RESUMED")
        counts["summary"] = summary.as_dict()
        # The errors the summary counts, by kind (their sum is summary.errors), and why a
        # failed run failed: the same numbers in the run row, `runs` and the crawl summary.
        errors: dict[str, Any] = dict(summary.error_kinds)
        status = summary.status
        if status == "failed":
            errors["failed"] = summary.reason
        await asyncio.wrap_future(
            self.writer.submit_now(runs.finish_run, self.run_id, status, counts, errors)
        )

    async def close_spider(self, spider: Any = None) -> None:
        """The last list-page batch, awaited: a blocking wait here held the reactor, so
        with many sources in one process every other source stopped while one closed."""
        if self.pages and self.writer is not None:
            await self._flush_pages(closing=True)

    async def spider_closed(self, spider: Any, reason: str) -> None:
        """Finish the run row with the reason Scrapy closed the crawl for (awaited, as
        :meth:`open_spider` is: sources that end together finish in one batch).

        Not in :meth:`close_spider`: pipelines are closed before Scrapy records
        ``finish_reason`` in the stats, so a Ctrl-C'd crawl (``shutdown``) was stored as
        ``ok`` while the CLI summary, reading the final stats, said ``shutdown``.
        """
        try:
            await self._finish(reason)
        finally:
            if self.writer is not None:
                self.writer.release()
                self.writer = None

    async def _store(self, item: CaptureItem) -> archive.Stored | None:
        """The item's job in the writer's next batch; retried once (in the batch after) if
        another process inserted the same row first.

        Two crawls of one source at once (or a PostgreSQL archive with many writers) can
        both decide a report or version is new; the loser's unique constraint fails, and
        the retry finds the winner's row and records an unchanged capture instead.
        """
        assert self.writer is not None
        args = self._job_args(item)
        if args is None:
            return None
        try:
            return await asyncio.wrap_future(self.writer.submit(jobs.store_capture, *args))
        except WriteFailed as exc:
            if exc.kind != "integrity":
                raise
            logger.info("concurrent write for %s (%s); retrying once", item.url, exc)
            self.stats.inc_value("archive/retried")
            return await asyncio.wrap_future(self.writer.submit(jobs.store_capture, *args))

    def _capture_in(self, item: CaptureItem) -> archive.CaptureIn:
        wire = item.wire
        line = wire.status_line() if wire is not None else None
        note = None
        if wire is not None and wire.decode_error:
            note = f"Content-Encoding not undone: {wire.decode_error}; stored as sent"
        return archive.CaptureIn(
            source=item.source,
            url=item.url,
            status=item.status,
            fetched_at=item.fetched_at,
            headers=item.headers,
            body=item.body if item.status != 304 else None,
            landing_url=item.landing_url,
            run_id=self.run_id,
            body_form="wire",
            protocol=line[0] if line else None,
            reason=line[2] if line else None,
            request_head=wire.request_head if wire is not None else None,
            response_head=wire.response_head if wire is not None else None,
            remote_ip=wire.peer[0] if wire is not None and wire.peer else None,
            remote_port=wire.peer[1] if wire is not None and wire.peer else None,
            cert_sha256=item.cert_sha256,
            note=note,
            context=item.context or None,
        )

    def _job_args(self, item: CaptureItem) -> tuple[Any, ...] | None:
        """What the writer needs for ``item`` (None: not a report, nothing to write)."""
        doc: Document | Sealed | None = item.doc
        if item.kind not in ("not_modified", "gone", "blocked"):
            assert doc is not None
            if "report" not in doc.flags:
                return None
            if not doc.readable:  # evidence only: see record_report
                self.stats.inc_value("archive/unreadable")
            for refusal in ("bomb", "timeout"):  # parsers refused it (pipelines/sandbox.py)
                if refusal in doc.flags:
                    self.stats.inc_value(f"parse/{refusal}")
            if isinstance(doc, Document):  # cleaned in this thread (no cleaning workers)
                doc = doc.slim()
        else:
            doc = None
        cap = self._capture_in(item)
        return item.kind, cap, doc, self.source.organ, item.landing_url

    def _take_pages(self) -> list[archive.CaptureIn]:
        batch, self.pages = self.pages, []
        return batch

    async def _flush_pages(self, closing: bool = False) -> None:
        """Hand the queued list-page captures to the writer and await them (never block
        the reactor: every source of the process shares it). ``closing``: the source's
        last batch, which its close waits for (:meth:`Writer.submit_now`)."""
        assert self.writer is not None
        batch = self._take_pages()
        submit = self.writer.submit_now if closing else self.writer.submit
        future = submit(pagecache.save, self.source_id, batch)
        try:
            await asyncio.wrap_future(future)
        except WriteFailed:
            pass  # said and counted by _saved_pages
        self._saved_pages(batch, future)

    def _saved_pages(self, batch: list[archive.CaptureIn], future: Any) -> None:
        """One job per batch. A failure loses only those rows: the pages are
        fetched whole next time and recorded then."""
        try:
            saved = future.result()
        except WriteFailed as exc:
            self.stats.inc_value("archive/error")
            logger.error("writing %d list-page captures failed (%s)", len(batch), exc)
            return
        self.stats.inc_value("archive/page_captures", saved.changed)
        self.stats.inc_value("archive/pages_unchanged", saved.unchanged)
        self.stats.inc_value("archive/page_not_modified", saved.not_modified)

    async def _cache_page(self, item: CaptureItem) -> None:
        """Queue a non-report page (or its 304) for the list-page captures."""
        if item.cached or item.status not in (200, 304):
            return  # rebuilt from the archive (nothing new), or not a page worth keeping
        self.pages.append(self._capture_in(item))
        if len(self.pages) >= PAGE_BATCH and self.writer is not None:
            await self._flush_pages()

    async def process_item(self, item: CaptureItem, spider: Any = None) -> CaptureItem:
        if item.kind == "listing":
            await self._cache_page(item)
            raise DropItem(f"not a report candidate: {item.url}", log_level="DEBUG")
        try:
            stored = await self._store(item)
        except WriteFailed as exc:
            self.stats.inc_value("archive/error")
            logger.error(
                "archive write failed for %s (%s); nothing already archived was lost",
                item.url,
                exc,
            )
            raise DropItem(f"archive write failed: {exc}") from exc
        if stored is None:
            self.stats.inc_value("archive/not_report")
            await self._cache_page(item)
            raise DropItem(f"not an annual report: {item.url}", log_level="DEBUG")
        self.stats.inc_value(f"archive/captures_{item.kind}")
        if stored.new_report:
            self.stats.inc_value("archive/new_reports")
        if stored.new_version:
            self.stats.inc_value("archive/new_versions")
            logger.info(
                "new version %s of report %s: %s", stored.version_n, stored.report_id, item.url
            )
        elif stored.report_id and item.kind == "page":
            self.stats.inc_value("archive/unchanged")
        return item
