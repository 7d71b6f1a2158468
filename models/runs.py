"""Crawl runs: one row per source per crawl, so an operator sees coverage over time.

``nianbao runs`` reads them (:func:`models.queries.list_runs`); the store pipeline opens
and closes them. A run records its host and process id, so a later run of the same
source can tell a crawl that died (SIGKILL, OOM, power cut) from one still going.
"""

from __future__ import annotations

import os
import socket
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nianbao.models.archive import get_or_create_source
from nianbao.models.tables import CrawlRun
from nianbao.models.types import utcnow

RECEIVED = "portal/pages_received"
# A shared-frontier worker: the pages of the source every worker received, as it left
SOURCE_RECEIVED = "frontier/source_received"


def run_status(stats: dict[str, Any], reason: str = "finished") -> str:
    """How a crawl of one source ended, from its Scrapy stats (the CLI and the run row agree).

    ``failed``: no page of the source was received whole (:data:`RECEIVED`, counted by the
    spider: not robots.txt, not a body the binary guard or the size limit stopped, not a
    4xx/5xx, not an anti-bot challenge), even if the server answered something; ``idle``: a
    shared-frontier worker that received nothing itself while the source did not fail:
    it had nothing fail (its peers fetched everything, or what it took redirected to a
    page a peer had), or its peers received the source's pages (:data:`SOURCE_RECEIVED`)
    and what it took was, say, the portal's missing ``sitemap.xml`` and a dead link (two
    404s were a "failed source", exit status 3, for one of two workers on a healthy
    portal, 2026-12-01). Not a failure, and cron must not be paged for it; its own
    failures stay counted and are said (:func:`idle_reason`). ``ok``; else Scrapy's
    finish reason (``shutdown`` after Ctrl-C, ``closespider_…``).
    """
    if int(stats.get(RECEIVED, 0)) == 0:
        shared = "frontier/dequeued" in stats
        peers_received = int(stats.get(SOURCE_RECEIVED, 0) or 0) > 0
        if shared and reason == "finished" and (peers_received or not _failures(stats)):
            return "idle"
        return "failed"
    return "ok" if reason == "finished" else reason


# portal/skipped/<reason> and other stats → (what happened to the page, why), for the
# reason a failed run gives. Deliberate refusals are "skipped", cut-off downloads
# "stopped", answers that were errors "failed".
_WHY = {
    "portal/skipped/binary_as_text": ("stopped", "binary body served as text/html"),
    "portal/skipped/too_large": ("stopped", "larger than the size limit"),
    "portal/skipped/timeout": ("stopped", "over the download time limit"),
    "portal/skipped/robots": ("skipped", "forbidden by robots.txt"),
    "portal/skipped/robots_unavailable": (
        "skipped",
        "robots.txt answered a server error, read as disallow all",
    ),
    "portal/skipped/budget": ("skipped", "page budget spent"),
    "portal/skipped/queue_full": ("skipped", "request queue full"),
    "portal/skipped/redirect_loop": ("skipped", "redirect loop"),
    "portal/skipped/depth": ("skipped", "too deep"),
    "portal/skipped/cold": ("skipped", "too far from anything promising"),
    "portal/blocked": ("blocked", "anti-bot challenge (412/521/verification page)"),
    "portal/skipped/error": ("failed", "fetch error"),
}


def _failures(stats: dict[str, Any]) -> list[tuple[int, str, str]]:
    """(count, verb, why) for each kind of refusal or failure the stats counted."""
    found: list[tuple[int, str, str]] = []
    for key, (verb, why) in _WHY.items():
        if n := int(stats.get(key, 0) or 0):
            if key == "portal/skipped/error" and (words := _exception_words(stats)):
                why += f" ({words})"
            found.append((n, verb, why))
    for key, value in stats.items():
        if key.startswith("portal/skipped/http_") and value:
            found.append((int(value), "failed", f"HTTP {key.rsplit('_', 1)[-1]}"))
        elif key.startswith("portal/trap/") and value:
            found.append((int(value), "skipped", f"trap ({key.rsplit('/', 1)[-1]})"))
    return found


def idle_reason(stats: dict[str, Any]) -> str:
    """What an idle shared-frontier worker met itself, if anything failed ("" if not)."""
    if not _failures(stats):
        return ""
    peers = int(stats.get(SOURCE_RECEIVED, 0) or 0)
    return f"{peers} pages received by other workers; of this one's, {failure_reason(stats)}"


def failure_reason(stats: dict[str, Any]) -> str:
    """Why no page of a failed source was received, for the summary and ``runs``.

    E.g. "every page was stopped: binary body served as text/html (3)": an operator
    paged by exit status 3 should not have to rerun the crawl with ``-v`` to learn why.
    """
    found = _failures(stats)
    if not found:
        return "no page could be fetched"
    found.sort(key=lambda f: -f[0])
    verbs = list(dict.fromkeys(verb for _, verb, _ in found))
    if verbs == ["failed"]:
        said = "every page failed"
    else:
        said = "every page was " + (
            verbs[0] if len(verbs) == 1 else ", ".join(verbs[:-1]) + " or " + verbs[-1]
        )
    return f"{said}: " + "; ".join(f"{why} ({n})" for n, _, why in found)


# Fetch failures by exception class, in words an operator reads without -v.
_EXCEPTION_WORDS = {
    "ConnectionRefusedError": "connection refused",
    "DownloadConnectionRefusedError": "connection refused",
    "DNSLookupError": "host name not found",
    "TimeoutError": "timed out",
    "TCPTimedOutError": "timed out",
    "DownloadTimeoutError": "timed out",
    "ConnectionLost": "connection lost",
    "ResponseNeverReceived": "no response",
    "ResponseFailed": "response broken off",
}


def _exception_words(stats: dict[str, Any]) -> str:
    names = sorted(
        k.rsplit("/", 1)[-1].rsplit(".", 1)[-1]
        for k in stats
        if k.startswith("downloader/exception_type_count/")
    )
    words = dict.fromkeys(_EXCEPTION_WORDS.get(n, n) for n in names)
    return ", ".join(words)


@dataclass
class Summary:
    """What one crawl of one source did: the numbers every face shows.

    The progress line, the crawl summary, the run row and ``nianbao runs`` (text and
    JSON) all show these, computed once by :func:`summarize`, so one run never shows
    three different error counts. ``errors`` is ``sum(error_kinds.values())``: fetches
    that failed after their retries (``fetch``; a retried attempt that later succeeded is
    not an error), archive writes that failed (``archive``), spider bugs
    (``spider/<exception>``). Deliberate skips (robots.txt, budget, traps, size, HTTP
    4xx) are ``skipped``, never errors.
    """

    status: str = "running"  # ok / failed / idle / running / <finish reason>
    reason: str = ""  # why a failed source failed
    pages: int = 0  # pages received whole (or confirmed by a 304)
    candidates: int = 0
    reports: int = 0  # report captures
    new_reports: int = 0
    new_versions: int = 0
    unchanged: int = 0
    not_modified: int = 0
    cached_pages: int = 0  # other pages that answered 304: links from the page cache
    not_due: int = 0  # report URLs not asked: checked recently (models.incremental.Revisit)
    downloaded: int = 0  # response body bytes
    errors: int = 0
    skipped: int = 0
    resumed: bool = False
    error_kinds: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Summary:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def summarize(stats: dict[str, Any], reason: str | None = None) -> Summary:
    """The :class:`Summary` of a crawl from its Scrapy stats (running or finished).

    ``reason`` is Scrapy's finish reason; ``None`` while the crawl runs (the progress
    line), else the stats' own ``finish_reason`` when there is one.
    """
    kinds: dict[str, int] = {}
    if n := int(stats.get("portal/skipped/error", 0) or 0):
        kinds["fetch"] = n
    if n := int(stats.get("archive/error", 0) or 0):
        kinds["archive"] = n
    for key, value in stats.items():
        if key.startswith("spider_exceptions/") and key != "spider_exceptions/count" and value:
            kinds["spider/" + key.split("/", 1)[1]] = int(value)
    skipped = sum(
        int(v)
        for k, v in stats.items()
        if k.startswith("portal/skipped/") and k != "portal/skipped/error"
    )
    finished = reason or stats.get("finish_reason")
    status = run_status(stats, str(finished)) if finished else "running"

    def get(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    return Summary(
        status=status,
        reason=(
            failure_reason(stats)
            if status == "failed"
            else idle_reason(stats)
            if status == "idle"
            else ""
        ),
        pages=get(RECEIVED),
        candidates=get("portal/candidates"),
        reports=get("archive/captures_page"),
        new_reports=get("archive/new_reports"),
        new_versions=get("archive/new_versions"),
        unchanged=get("archive/unchanged"),
        not_modified=get("archive/captures_not_modified"),
        cached_pages=get("conditional/replayed"),
        not_due=get("revisit/not_due"),
        downloaded=get("downloader/response_bytes"),
        errors=sum(kinds.values()),
        skipped=skipped,
        resumed=bool(stats.get("frontier/resumed")),
        error_kinds=kinds,
    )


def run_summary(counts: dict[str, Any] | None, errors: dict[str, Any] | None) -> Summary:
    """The :class:`Summary` a run row stored (``counts["summary"]``), for ``nianbao runs``.

    Rows written before summaries were stored are summarised from their counts (the
    stats without their ``archive/``/``portal/`` prefix), as :func:`summarize` would.
    """
    counts, errors = counts or {}, errors or {}
    if isinstance(counts.get("summary"), dict):
        return Summary.from_dict(counts["summary"])
    stats: dict[str, Any] = {}
    for key, value in counts.items():
        if key.startswith("conditional_"):
            stats["conditional/" + key.removeprefix("conditional_")] = value
        elif key.split("/", 1)[0] in ("pages_received", "candidates", "skipped", "trap", "blocked"):
            stats["portal/" + key] = value
        else:
            stats["archive/" + key] = value
    summary = summarize(stats, "finished")
    summary.status, summary.reason = "", str(errors.get("failed", ""))
    return summary


def start_run(
    session: Session,
    source_name: str,
    organ: str | None = None,
    config: dict[str, Any] | None = None,
    pid: int | None = None,
) -> CrawlRun:
    """A new run row; ``pid``: the crawl's process (default this one; the archive writer
    runs in a process of its own, :mod:`models.writer`)."""
    source = get_or_create_source(session, source_name, organ, config)
    session.flush()
    host, pid = socket.gethostname(), pid or os.getpid()
    mark_crashed_runs(session, source.id, host, pid)
    run = CrawlRun(
        source_id=source.id,
        started_at=utcnow(),
        status="running",
        counts={},
        errors={},
        host=host,
        pid=pid,
    )
    session.add(run)
    session.flush()
    return run


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def mark_crashed_runs(
    session: Session, source_id: int, host: str, pid: int | None = None
) -> list[int]:
    """Runs of this source on this host still "running" whose process is gone: "crashed".

    A crawl killed by SIGKILL, OOM or a power cut never reaches ``finish_run``; without this
    its run would say "running" forever in ``nianbao runs``. Runs on other hosts are left
    alone (we cannot see their processes).
    """
    stale = session.scalars(
        select(CrawlRun).where(
            CrawlRun.source_id == source_id,
            CrawlRun.status == "running",
            CrawlRun.host == host,
        )
    ).all()
    crashed = []
    for run in stale:
        if run.pid is not None and run.pid != (pid or os.getpid()) and not _alive(run.pid):
            run.status = "crashed"
            run.errors = {
                **(run.errors or {}),
                "crashed": f"process {run.pid} on {host} ended without finishing the run",
            }
            crashed.append(run.id)
    return crashed


def finish_run(
    session: Session, run_id: int, status: str, counts: dict[str, Any], errors: dict[str, Any]
) -> None:
    run = session.get(CrawlRun, run_id)
    if run is None:
        return
    run.finished_at, run.status, run.counts, run.errors = utcnow(), status, counts, errors
