"""Crawl runs: one row per source per crawl, so an operator sees coverage over time.

``nianbao runs`` reads them (:func:`models.queries.list_runs`); the store pipeline opens
and closes them. A run records its host and process id, so a later run of the same
source can tell a crawl that died (SIGKILL, OOM, power cut) from one still going.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nianbao.models.archive import get_or_create_source
from nianbao.models.tables import CrawlRun
from nianbao.models.types import utcnow


def run_status(stats: dict[str, Any], reason: str = "finished") -> str:
    """How a crawl of one source ended, from its Scrapy stats (the CLI and the run row agree).

    ``failed``: no page of the source could be fetched; ``idle``: a shared-frontier worker
    whose peers fetched everything (not a failure); ``ok``; else Scrapy's finish reason
    (``shutdown`` after Ctrl-C, ``closespider_…``).
    """
    responses = int(stats.get("downloader/response_count", 0))
    if responses == 0:
        if stats.get("frontier/dequeued") == 0 and reason == "finished":
            return "idle"
        return "failed"
    return "ok" if reason == "finished" else reason


def start_run(
    session: Session,
    source_name: str,
    organ: str | None = None,
    config: dict[str, Any] | None = None,
) -> CrawlRun:
    source = get_or_create_source(session, source_name, organ, config)
    session.flush()
    host, pid = socket.gethostname(), os.getpid()
    mark_crashed_runs(session, source.id, host)
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


def mark_crashed_runs(session: Session, source_id: int, host: str) -> list[int]:
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
        if run.pid is not None and run.pid != os.getpid() and not _alive(run.pid):
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
