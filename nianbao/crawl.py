"""Running crawls in-process: one Scrapy crawler per source, one reactor for all.

Used by ``nianbao crawl`` and ``nianbao demo``. Scrapy's reactor starts once per
process, so a process runs one :func:`run` (the tests run the CLI in subprocesses).
"""

from __future__ import annotations

import collections
import gc
import json
import logging
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# First of Scrapy's modules, on purpose: importing its TLS modules runs Scrapy's
# create_deprecated_class three times, and each call runs inspect.stack(), which reads the
# source of every frame on the stack and looks each one's module up among all loaded
# ones. Here, before the rest, that costs 0.15-0.3 CPU-s less than from inside the import
# of the download handler, in every crawl process: `import nianbao.crawl` 1.05-1.14 ->
# 0.76-0.98 CPU-s (four runs each way, 2026-12-01).
import scrapy.core.downloader.contextfactory  # noqa: F401
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import BaseSettings, Settings
from scrapy.utils.conf import build_component_list
from scrapy.utils.misc import load_object

from nianbao.crawler import frontier
from nianbao.crawler.progress import crawl_line
from nianbao.crawler.store import StorePipeline
from nianbao.errors import UsageError
from nianbao.jobdir import JobDir, JobDirError, open_jobdir
from nianbao.models import incremental, runs
from nianbao.models.db import open_archive, sessionmaker_for
from nianbao.models.writer import Writer
from nianbao.pipelines import stage
from nianbao.sources import SourceConfig

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class SourceResult(runs.Summary):
    """One source's :class:`~nianbao.models.runs.Summary`, with its name and raw stats."""

    name: str
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def run_id(self) -> int | None:
        """The crawl run row this source's crawl wrote (None if it never opened one)."""
        value = self.stats.get("nianbao/run_id")
        return int(value) if value is not None else None


_BOOLS = {"true", "false", "1", "0"}


def crawl_settings(db_url: str, overrides: dict[str, str] | None = None) -> Settings:
    """The crawl's settings; an override that cannot be read as its setting's type is a
    :class:`UsageError` (``-s DOWNLOAD_DELAY=abc`` crashed inside Scrapy with a traceback)."""
    settings = Settings()
    settings.setmodule("nianbao.crawler.settings", priority="project")
    settings.set("NIANBAO_DB", db_url, priority="cmdline")
    check_overrides(overrides or {}, settings)
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


def check_overrides(overrides: dict[str, str], defaults: Settings | None = None) -> None:
    """Refuse ``-s NAME=VALUE`` overrides Scrapy could not read as their setting's type."""
    if defaults is None:
        defaults = Settings()
        defaults.setmodule("nianbao.crawler.settings", priority="project")
    for name, value in overrides.items():
        _check_override(name, value, defaults.get(name))


def _check_override(name: str, value: str, default: Any) -> None:
    """Refuse a string override that Scrapy could not read as ``default``'s type."""
    if not isinstance(value, str):
        return
    if isinstance(default, bool):
        ok, kind = value.strip().lower() in _BOOLS, "True or False"
    elif isinstance(default, int | float):
        # Scrapy reads some int-valued defaults as floats (DOWNLOAD_TIMEOUT = 30): any number
        kind = "a number"
        try:
            ok = float(value) == float(value)  # not NaN
        except ValueError:
            ok = False
    elif isinstance(default, list) and default and all(type(v) is int for v in default):
        kind = "integers separated by commas"  # RETRY_HTTP_CODES=500,503
        ok = all(v.strip().lstrip("-").isdigit() for v in value.split(","))
    elif isinstance(default, dict | BaseSettings):
        try:
            ok, kind = isinstance(json.loads(value), dict), "a JSON object"
        except ValueError:
            ok, kind = False, "a JSON object"
    else:
        return
    if not ok:
        raise UsageError(f"-s {name}={value}: {name} takes {kind}")


def known_report_urls(
    db_url: str, source_names: list[str], schedule: incremental.Revisit | None = None
) -> tuple[dict[str, list[str]], dict[str, dict[str, datetime]]]:
    """Every URL a report of each source was seen at, and those of them not due to be
    asked again yet (see :mod:`models.incremental`): one engine and one session for all
    the sources (it was one engine per source)."""
    engine = open_archive(db_url)  # migrates, once per process
    schedule = schedule or incremental.Revisit(0, 0)
    try:
        with sessionmaker_for(engine)() as session:
            known = {name: incremental.known_report_urls(session, name) for name in source_names}
            waiting = {name: incremental.not_due(session, name, schedule) for name in source_names}
            return known, waiting
    finally:
        engine.dispose()


def _result(name: str, stats: dict[str, Any]) -> SourceResult:
    summary = runs.summarize(stats, str(stats.get("finish_reason", "finished")))
    return SourceResult(name=name, stats=stats, **vars(summary))


def _result_of(name: str, crawler: Crawler) -> SourceResult:
    return _result(name, crawler.stats.get_stats() if crawler.stats else {})


class QuietLog(logging.Filter):
    """Without ``-v``: no tracebacks, and no line per failed fetch.

    A fetch that failed after its retries is counted, and a source nothing could be
    fetched from says why in its summary line ("failed (every page failed: fetch error
    (connection refused) (1))"); Scrapy's own "Gave up retrying" and robots.txt download
    errors, with their tracebacks, told an operator the same thing in 79 lines. Warnings
    that say something new (binary bodies, undecodable encodings, resumed crawls) stay,
    as one line each.
    """

    _FETCH_LOGGERS = (
        "scrapy.downloadermiddlewares.retry",
        "scrapy.downloadermiddlewares.robotstxt",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in self._FETCH_LOGGERS and record.levelno >= logging.ERROR:
            return False
        if str(record.msg).startswith("fetching %s failed"):
            return False
        if record.exc_info:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


# Loggers whose records QuietLog sees: a filter on a logger (not on Scrapy's root handler,
# which every crawler replaces as it starts) applies to the records logged there.
_QUIET_LOGGERS = (
    *QuietLog._FETCH_LOGGERS,
    "portal",
    "scrapy.core.scraper",
    "scrapy.core.engine",
    "scrapy.downloadermiddlewares.robotstxt",
    "twisted",
)


def _quiet_logging() -> None:
    quiet = QuietLog()
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).addFilter(quiet)


# Objects allocated between two collections of the youngest generation (Python: 700). A crawl
# allocates a short-lived Request, Response, tree and item per page; at 700 it collected
# ~1,100 times and its middle generation ~100 times in a 30-portal crawl (2026-11-30).
GC_THRESHOLD = 10_000


def _collect_less() -> None:
    """Take this process's imports out of the cyclic garbage collector, and collect less often.

    A full collection walks every tracked object, and after the imports (Scrapy,
    SQLAlchemy, Twisted, the cleaners) that is ~50 ms each time, for objects that live as
    long as the process. Walking them also writes to every page that holds them, so in
    the forked helpers (and in this process after the fork) each such page is copied.
    ``gc.freeze()`` just before forking is the remedy Python's documentation gives for
    both; the helpers inherit the frozen heap and the threshold. Measured with
    ``gc.callbacks`` on 30 portals × 40 reports (2026-11-30): the collector's time over
    all four processes 3.8–4.0 → 1.2–1.5 s, bare Scrapy's 1.33 → 0.4–0.5 s; peak RSS of
    the bare crawl 172 → 185 MB (a threshold of 50,000 saved little more and took 255 MB).
    """
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 10, 10)


def _early_helpers(settings: Settings) -> Writer | None:
    """The archive's writer process and the cleaning pool, started before the crawlers
    are built, when the pipelines will want them.

    * Started now, the writer opens the archive on the other core while the crawlers are
      built, instead of the first source's ``open_spider`` waiting for it.
    * Started before the reactor and any thread, both are forked, not spawned
      (:func:`~nianbao.pipelines.background.start_method`): they begin with this process's
      imports done (a one-portal crawl: 6.8–7.9 → 5.3–5.5 CPU-s, 2026-11-30). The writer
      starts no thread in this process (its socket is served by the reactor's loop), so the
      pool still forks.

    The pipelines' own ``Writer.acquire`` and ``stage.pool`` find them running; :func:`run`
    releases this hold on the writer at the end."""
    pipelines = [
        load_object(path) for path in build_component_list(settings.getwithbase("ITEM_PIPELINES"))
    ]
    _collect_less()
    writer = None
    if any(issubclass(cls, StorePipeline) for cls in pipelines):
        writer = Writer.acquire(StorePipeline.archive_url(settings.get("NIANBAO_DB")))
    workers = settings.getint("NIANBAO_CLEAN_WORKERS")
    if workers > 0 and any(issubclass(cls, stage.CleanPipeline) for cls in pipelines):
        stage.start(workers)
    return writer


# A crawl of more sources than this speaks of them together: one progress line for the
# whole crawl (:func:`~nianbao.crawler.progress.crawl_line`) instead of one a source every
# interval and one at each one's end, and the command's summary names only the sources
# that need a look. A night of 50,000 portals printed 50,000 summary lines and as many
# progress lines, 25 a second while 250 sources ran at once.
SOURCE_LINES = 50


def run(
    sources: list[SourceConfig],
    db_url: str,
    overrides: dict[str, str] | None = None,
    before_start: Any = None,
    jobdir: Path | None = None,
    quiet: bool = False,
) -> list[SourceResult]:
    """Crawl every source concurrently into the archive at ``db_url``; block until done.

    At most ``NIANBAO_MAX_SOURCES_AT_ONCE`` sources are crawled at once (each is a Scrapy
    crawler: ≈ 0.6 MB and its share of the process's CPU), the next starting as one ends;
    a stop (Ctrl-C, SIGTERM) starts no more, and those left are "not started".

    ``quiet`` (the CLI without ``-v``) installs :class:`QuietLog`. With ``jobdir``, each source keeps its Scrapy state in ``jobdir/<source>/`` and a
    gracefully interrupted crawl resumes from it (see :mod:`nianbao.jobdir`).
    """
    settings = crawl_settings(db_url, overrides)
    interval = settings.getfloat("NIANBAO_PROGRESS_INTERVAL")
    together = len(sources) > SOURCE_LINES
    if together:  # one line for the crawl, none a source (SOURCE_LINES)
        settings.set("NIANBAO_PROGRESS_INTERVAL", 0, priority="cmdline")
    if settings.get("NIANBAO_REDIS_URL"):  # say now, not from inside Scrapy, if it is down
        frontier.check(settings["NIANBAO_REDIS_URL"], settings.getbool("NIANBAO_REDIS_FRONTIER"))
    schedule = incremental.Revisit(
        settings.getfloat("NIANBAO_REVISIT_MIN"), settings.getfloat("NIANBAO_REVISIT_MAX")
    )
    # migrates, once
    known, waiting = known_report_urls(db_url, [src.name for src in sources], schedule)
    writer = _early_helpers(settings)
    process = CrawlerProcess(settings)  # configures logging
    if quiet:
        _quiet_logging()
    spidercls = process.spider_loader.load("portal")
    # Every job directory is taken now: a locked or unusable one is said before anything
    # starts, not from inside the reactor when that source's turn comes.
    jobs: dict[str, JobDir] = {}
    try:
        for src in sources:
            if jobdir is not None:
                jobs[src.name] = open_jobdir(jobdir, src.name)
    except JobDirError:
        for job in jobs.values():
            job.leave_as_found()
        raise
    results: dict[str, SourceResult] = {}
    running: dict[str, Crawler] = {}  # started, not yet finished
    waiting_sources = collections.deque(sources)
    at_once = settings.getint("NIANBAO_MAX_SOURCES_AT_ONCE") or len(sources)
    stopping = False
    started = 0

    def start_one(src: SourceConfig) -> None:
        nonlocal started
        # Per-crawler settings (JOBDIR) need our own Crawler; the first installs the reactor,
        # as CrawlerProcess.create_crawler would. A Crawler takes a copy of the settings
        # (a deep copy, ≈ 3 ms) and applies it only in ``crawl``: what this crawler crawls
        # is set on that copy, not on a copy of our own made first (one deep copy a source
        # fewer: 0.1 s of a 30-portal crawl's start-up, 3 s of a 1,000-portal one).
        crawler = Crawler(spidercls, settings, init_reactor=not started)
        started += 1
        own = crawler.settings
        # What this crawler crawls: settings every component reads (crawler/source.py).
        own.set("NIANBAO_SOURCE", src.name, priority="cmdline")
        own.set("NIANBAO_SOURCE_ORGAN", src.organ or "", priority="cmdline")
        own.set("NIANBAO_SOURCE_ORGAN_TYPE", src.organ_type or "", priority="cmdline")
        if src.max_pages:
            own.set("NIANBAO_MAX_PAGES", src.max_pages, priority="cmdline")
        if src.name in jobs:
            job = jobs[src.name]
            own.set("JOBDIR", str(job.path), priority="cmdline")
            if job.resumed:
                # Only the rest of the portal will be seen: no "unlinked" judgement.
                own.set("NIANBAO_LINKWATCH_ENABLED", False, priority="cmdline")
                own.set("NIANBAO_RESUMED", True, priority="cmdline")
                logger.warning("resuming the interrupted crawl of %s from %s", src.name, job.path)
        done = process.crawl(
            crawler,
            source=src.name,
            start_urls=src.start_urls,
            allowed_domains=src.domains(),
            organ=src.organ,
            known_urls=known[src.name],
            not_due=waiting[src.name],
        )
        running[src.name] = crawler
        done.addBoth(finished, src.name, crawler)

    def finished(outcome: Any, name: str, crawler: Crawler) -> Any:
        """A source's crawl ended: keep its result (not its crawler: a thousand sources'
        engines would stay in memory) and start the next source waiting, unless the
        crawl is being stopped (Ctrl-C, SIGTERM: the crawlers end with "shutdown")."""
        nonlocal stopping
        running.pop(name, None)
        results[name] = result = _result_of(name, crawler)
        stopping = stopping or result.stats.get("finish_reason") == "shutdown"
        if waiting_sources and not stopping:
            start_one(waiting_sources.popleft())
        return outcome

    def progress() -> None:
        live = [runs.summarize(c.stats.get_stats()) for c in running.values() if c.stats]
        print(crawl_line(len(sources), list(results.values()), live), file=sys.stderr, flush=True)

    while waiting_sources and started < at_once:
        start_one(waiting_sources.popleft())
    loop = None
    if together and interval > 0:
        from twisted.internet import task  # the reactor is installed: the first crawler did it

        loop = task.LoopingCall(progress)
        loop.start(interval, now=False)
    if before_start:
        before_start()
    try:
        process.start()
    finally:
        if writer is not None:
            writer.release()
        if loop is not None:
            if loop.running:
                loop.stop()
            progress()
    pool = stage.running_pool()
    if pool is not None and (deaths := pool.account()):
        logger.warning("%s", deaths)
    ordered = []
    for src in sources:
        name = src.name
        if name in results:
            result = results[name]
        elif name in running:  # the reactor was stopped under it (a second Ctrl-C)
            result = _result_of(name, running[name])
        else:
            result = _not_started(name)
        if name in jobs:
            job = jobs[name]
            result.resumed = result.resumed or job.resumed
            if result.status == "not started":
                job.leave_as_found()
            else:
                job.finish(str(result.stats.get("finish_reason", "shutdown")))
        ordered.append(result)
    return ordered


def _not_started(name: str) -> SourceResult:
    """A source still waiting for its turn (``NIANBAO_MAX_SOURCES_AT_ONCE``) when the crawl
    was stopped: not crawled, not failed; the next crawl takes it."""
    fields = vars(runs.summarize({}))  # nothing counted
    fields |= {"status": "not started", "reason": "the crawl was stopped before its turn"}
    return SourceResult(name=name, stats={}, **fields)
