"""Running crawls in-process: one Scrapy crawler per source, one reactor for all.

Used by ``nianbao crawl`` and ``nianbao demo``. Scrapy's reactor starts once per
process, so a process runs one :func:`run` (the tests run the CLI in subprocesses).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from sqlalchemy import select

from crawler import frontier
from models.db import open_archive, sessionmaker_for
from models.tables import Report, ReportUrl, Source
from nianbao.sources import SourceConfig

logger = logging.getLogger(__name__)


@dataclass
class SourceResult:
    name: str
    status: str  # ok / failed / idle (shared frontier: peers did it all) / <finish reason>
    pages: int = 0
    reports: int = 0
    new_reports: int = 0
    new_versions: int = 0
    unchanged: int = 0
    not_modified: int = 0
    errors: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def crawl_settings(db_url: str, overrides: dict[str, str] | None = None) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("NIANBAO_DB", db_url, priority="cmdline")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


def known_report_urls(db_url: str, source_name: str) -> list[str]:
    """The latest URL of every report of this source that is not withdrawn."""
    engine = open_archive(db_url)
    try:
        with sessionmaker_for(engine)() as session:
            rows = session.scalars(
                select(Report.url)
                .join(Source)
                .where(Source.name == source_name, Report.withdrawn_at.is_(None))
            ).all()
            moved = session.scalars(
                select(ReportUrl.url)
                .join(Report)
                .join(Source)
                .where(Source.name == source_name, Report.withdrawn_at.is_(None))
            ).all()
    finally:
        engine.dispose()
    return sorted(set(rows) | set(moved))


def _result(name: str, stats: dict[str, Any]) -> SourceResult:
    responses = int(stats.get("downloader/response_count", 0))
    reason = str(stats.get("finish_reason", "finished"))
    status = "failed" if responses == 0 else ("ok" if reason == "finished" else reason)
    if responses == 0 and stats.get("frontier/dequeued") == 0 and reason == "finished":
        status = "idle"  # a shared-frontier worker whose peers fetched everything
    errors = sum(
        v
        for k, v in stats.items()
        if k.startswith("downloader/exception_type_count/")
        or k == "archive/error"
        or k.startswith("spider_exceptions/")
    )
    return SourceResult(
        name=name,
        status=status,
        pages=responses,
        reports=int(stats.get("archive/captures_page", 0)),
        new_reports=int(stats.get("archive/new_reports", 0)),
        new_versions=int(stats.get("archive/new_versions", 0)),
        unchanged=int(stats.get("archive/unchanged", 0)),
        not_modified=int(stats.get("archive/captures_not_modified", 0)),
        errors=int(errors),
        stats=stats,
    )


def run(
    sources: list[SourceConfig],
    db_url: str,
    overrides: dict[str, str] | None = None,
    before_start: Any = None,
) -> list[SourceResult]:
    """Crawl every source concurrently into the archive at ``db_url``; block until done."""
    settings = crawl_settings(db_url, overrides)
    if settings.get("NIANBAO_REDIS_URL"):  # say now, not from inside Scrapy, if it is down
        frontier.check(settings["NIANBAO_REDIS_URL"])
    open_archive(db_url).dispose()  # migrate once, before many writers start
    process = CrawlerProcess(settings)
    crawlers = []
    for src in sources:
        crawler = process.create_crawler("portal")
        crawlers.append((src.name, crawler))
        process.crawl(
            crawler,
            source=src.name,
            start_urls=src.start_urls,
            allowed_domains=src.domains(),
            organ=src.organ,
            max_pages=src.max_pages,
            known_urls=known_report_urls(db_url, src.name),
        )
    if before_start:
        before_start()
    process.start()
    return [
        _result(name, crawler.stats.get_stats() if crawler.stats else {})
        for name, crawler in crawlers
    ]
