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

RECEIVED = "portal/pages_received"


def run_status(stats: dict[str, Any], reason: str = "finished") -> str:
    """How a crawl of one source ended, from its Scrapy stats (the CLI and the run row agree).

    ``failed``: no page of the source was received whole (:data:`RECEIVED`, counted by the
    spider: not robots.txt, not a body the binary guard or the size limit stopped, not a
    4xx/5xx, not an anti-bot challenge), even if the server answered something; ``idle``: a
    shared-frontier worker whose peers fetched everything (not a failure); ``ok``; else
    Scrapy's finish reason (``shutdown`` after Ctrl-C, ``closespider_…``).
    """
    if int(stats.get(RECEIVED, 0)) == 0:
        if stats.get("frontier/dequeued") == 0 and reason == "finished":
            return "idle"
        return "failed"
    return "ok" if reason == "finished" else reason


# portal/skipped/<reason> and other stats → (what happened to the page, why), for the
# reason a failed run gives. Deliberate refusals are "skipped", cut-off downloads
# "stopped", answers that were errors "failed".
_WHY = {
    "portal/skipped/binary_as_text": ("stopped", "binary body served as text/html"),
    "portal/skipped/too_large": ("stopped", "larger than the size limit"),
    "portal/skipped/robots": ("skipped", "forbidden by robots.txt"),
    "portal/skipped/budget": ("skipped", "page budget spent"),
    "portal/skipped/queue_full": ("skipped", "request queue full"),
    "portal/skipped/redirect_loop": ("skipped", "redirect loop"),
    "portal/skipped/depth": ("skipped", "too deep"),
    "portal/skipped/cold": ("skipped", "too far from anything promising"),
    "portal/blocked": ("blocked", "anti-bot challenge (412/521/verification page)"),
    "portal/skipped/error": ("failed", "fetch error"),
}


def failure_reason(stats: dict[str, Any]) -> str:
    """Why no page of a failed source was received, for the summary and ``runs``.

    E.g. "every page was stopped: binary body served as text/html (3)": an operator
    paged by exit status 3 should not have to rerun the crawl with ``-v`` to learn why.
    """
    found: list[tuple[int, str, str]] = []
    for key, (verb, why) in _WHY.items():
        if n := int(stats.get(key, 0) or 0):
            if key == "portal/skipped/error":
                kinds = sorted(
                    k.rsplit("/", 1)[-1].rsplit(".", 1)[-1]
                    for k in stats
                    if k.startswith("downloader/exception_type_count/")
                )
                why += f" ({', '.join(kinds)})" if kinds else ""
            found.append((n, verb, why))
    for key, value in stats.items():
        if key.startswith("portal/skipped/http_") and value:
            found.append((int(value), "failed", f"HTTP {key.rsplit('_', 1)[-1]}"))
        elif key.startswith("portal/trap/") and value:
            found.append((int(value), "skipped", f"trap ({key.rsplit('/', 1)[-1]})"))
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
