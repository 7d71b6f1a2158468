"""Running crawls in-process: one Scrapy crawler per source, one reactor for all.

Used by ``nianbao crawl`` and ``nianbao demo``. Scrapy's reactor starts once per
process, so a process runs one :func:`run` (the tests run the CLI in subprocesses).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings

from nianbao.crawler import frontier
from nianbao.jobdir import JobDir, open_jobdir
from nianbao.models import incremental, runs
from nianbao.models.db import open_archive, sessionmaker_for
from nianbao.sources import SourceConfig

logger = logging.getLogger(__name__)


@dataclass
class SourceResult:
    name: str
    status: str  # ok / failed / idle (shared frontier: peers did it all) / <finish reason>
    pages: int = 0  # pages received whole (or confirmed by a 304): not robots.txt, 404s, stops
    reason: str = ""  # why a failed source failed
    reports: int = 0
    new_reports: int = 0
    new_versions: int = 0
    unchanged: int = 0
    not_modified: int = 0
    cached_pages: int = 0  # other pages that answered 304: their links came from the page cache
    downloaded: int = 0  # response body bytes
    errors: int = 0
    skipped: int = 0  # deliberate: robots.txt, budget, traps, too large, 404 …
    resumed: bool = False
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def crawl_settings(db_url: str, overrides: dict[str, str] | None = None) -> Settings:
    settings = Settings()
    settings.setmodule("nianbao.crawler.settings", priority="project")
    settings.set("NIANBAO_DB", db_url, priority="cmdline")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


def known_report_urls(db_url: str, source_name: str) -> list[str]:
    """Every URL a report of this source was seen at (see :mod:`models.incremental`)."""
    engine = open_archive(db_url)
    try:
        with sessionmaker_for(engine)() as session:
            return incremental.known_report_urls(session, source_name)
    finally:
        engine.dispose()


def _result(name: str, stats: dict[str, Any]) -> SourceResult:
    status = runs.run_status(stats, str(stats.get("finish_reason", "finished")))
    # Errors are failures an operator should look at: fetches that failed (timeouts,
    # refused connections, after retries), archive writes, spider bugs. Deliberate skips
    # (robots.txt, the page budget, traps, oversized or binary answers, HTTP 404 on a
    # stale link) are counted apart, under ``portal/skipped/<reason>``.
    errors = sum(
        v
        for k, v in stats.items()
        if k in ("portal/skipped/error", "archive/error") or k.startswith("spider_exceptions/")
    )
    skipped = sum(
        v
        for k, v in stats.items()
        if k.startswith("portal/skipped/") and k != "portal/skipped/error"
    )
    return SourceResult(
        name=name,
        status=status,
        pages=int(stats.get(runs.RECEIVED, 0)),
        reason=runs.failure_reason(stats) if status == "failed" else "",
        reports=int(stats.get("archive/captures_page", 0)),
        new_reports=int(stats.get("archive/new_reports", 0)),
        new_versions=int(stats.get("archive/new_versions", 0)),
        unchanged=int(stats.get("archive/unchanged", 0)),
        not_modified=int(stats.get("archive/captures_not_modified", 0)),
        cached_pages=int(stats.get("conditional/replayed", 0)),
        downloaded=int(stats.get("downloader/response_bytes", 0)),
        errors=int(errors),
        skipped=int(skipped),
        resumed=bool(stats.get("frontier/resumed")),  # a shared (Redis) crawl picked up again
        stats=stats,
    )


def run(
    sources: list[SourceConfig],
    db_url: str,
    overrides: dict[str, str] | None = None,
    before_start: Any = None,
    jobdir: Path | None = None,
) -> list[SourceResult]:
    """Crawl every source concurrently into the archive at ``db_url``; block until done.

    With ``jobdir``, each source keeps its Scrapy state in ``jobdir/<source>/`` and a
    gracefully interrupted crawl resumes from it (see :mod:`nianbao.jobdir`).
    """
    settings = crawl_settings(db_url, overrides)
    if settings.get("NIANBAO_REDIS_URL"):  # say now, not from inside Scrapy, if it is down
        frontier.check(settings["NIANBAO_REDIS_URL"])
    open_archive(db_url).dispose()  # migrate once, before many writers start
    process = CrawlerProcess(settings)
    spidercls = process.spider_loader.load("portal")
    crawlers: list[tuple[str, Crawler]] = []
    jobs: dict[str, JobDir] = {}
    for src in sources:
        own = settings.copy()
        # What this crawler crawls: settings every component reads (crawler/source.py).
        own.set("NIANBAO_SOURCE", src.name, priority="cmdline")
        own.set("NIANBAO_SOURCE_ORGAN", src.organ or "", priority="cmdline")
        own.set("NIANBAO_SOURCE_ORGAN_TYPE", src.organ_type or "", priority="cmdline")
        if src.max_pages:
            own.set("NIANBAO_MAX_PAGES", src.max_pages, priority="cmdline")
        if jobdir is not None:
            job = open_jobdir(jobdir, src.name)
            jobs[src.name] = job
            own.set("JOBDIR", str(job.path), priority="cmdline")
            if job.resumed:
                # Only the rest of the portal will be seen: no "unlinked" judgement.
                own.set("NIANBAO_LINKWATCH_ENABLED", False, priority="cmdline")
                own.set("NIANBAO_RESUMED", True, priority="cmdline")
                logger.warning("resuming the interrupted crawl of %s from %s", src.name, job.path)
        # Per-crawler settings (JOBDIR) need our own Crawler; the first installs the reactor,
        # as CrawlerProcess.create_crawler would.
        crawler = Crawler(spidercls, own, init_reactor=not crawlers)
        crawlers.append((src.name, crawler))
        process.crawl(
            crawler,
            source=src.name,
            start_urls=src.start_urls,
            allowed_domains=src.domains(),
            organ=src.organ,
            known_urls=known_report_urls(db_url, src.name),
        )
    if before_start:
        before_start()
    process.start()
    results = []
    for name, crawler in crawlers:
        result = _result(name, crawler.stats.get_stats() if crawler.stats else {})
        if name in jobs:
            result.resumed = result.resumed or jobs[name].resumed
            jobs[name].finish(str(result.stats.get("finish_reason", "shutdown")))
        results.append(result)
    return results
