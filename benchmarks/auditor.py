"""Auditor queries at scale: ``show --as-of`` and ``versions`` with 100,000 reports.

Synthetic rows (one source, N reports, 1–3 versions each, short texts) are bulk-inserted
with SQLAlchemy Core ``executemany`` into a freshly migrated archive; then the same query
functions the CLI calls (:mod:`models.queries`) are timed on random reports, each in a
fresh session so nothing is served from the identity map.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, text

from nianbao.models import archive, queries
from nianbao.models.db import sessionmaker_for
from nianbao.models.tables import Report, ReportUrl, Source, Version

T0 = datetime(2015, 1, 1, tzinfo=UTC)
CHUNK = 10_000


def populate(engine: Engine, n_reports: int) -> int:
    """Insert ``n_reports`` reports and their versions; return the number of versions."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Source),
            [{"id": 1, "name": "bench", "organ": None, "config": {}, "created_at": now}],
        )
    n_versions = 0
    for start in range(0, n_reports, CHUNK):
        reports: list[dict[str, Any]] = []
        versions: list[dict[str, Any]] = []
        for rid in range(start + 1, min(start + CHUNK, n_reports) + 1):
            first = T0 + timedelta(hours=rid % 50_000)
            reports.append(
                {
                    "id": rid,
                    "source_id": 1,
                    "key": f"机关{rid}|{2014 + rid % 10}",
                    "organ": f"机关{rid}",
                    "year": 2014 + rid % 10,
                    "title": f"机关{rid}{2014 + rid % 10}年政府信息公开工作年度报告",
                    "url": f"http://bench.gov.cn/{rid}.html",
                    "first_seen": first,
                    "last_seen": first + timedelta(days=400),
                    "withdrawn_at": None,
                }
            )
            for n in range(1, rng.choice((1, 1, 2, 3)) + 1):
                body = f"机关{rid}第{n}版。主动公开政府信息情况。依申请公开情况。" * 2
                versions.append(
                    {
                        "report_id": rid,
                        "n": n,
                        "sha256": f"{rid:032x}{n:032x}",
                        "title": reports[-1]["title"],
                        "organ": reports[-1]["organ"],
                        "year": reports[-1]["year"],
                        "published": None,
                        "text": body,
                        "norm_text": body,
                        "url": reports[-1]["url"],
                        "first_seen": first + timedelta(days=100 * (n - 1)),
                        "last_seen": first + timedelta(days=100 * n),
                        "cleaner_version": "bench",
                        "meta": {},
                        "removed": {"items": []},
                        "flags": {"items": []},
                    }
                )
        urls = [
            {
                "report_id": r["id"],
                "url": r["url"],
                "first_seen": r["first_seen"],
                "last_seen": r["last_seen"],
            }
            for r in reports
        ]
        with engine.begin() as conn:
            conn.execute(insert(Report), reports)
            conn.execute(insert(Version), versions)
            conn.execute(insert(ReportUrl), urls)
        n_versions += len(versions)
    # Planner statistics, as a long-lived archive has them (PostgreSQL's autovacuum would
    # gather them soon after a bulk load; SQLite only ever on request).
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return n_versions


def _ms(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "median_ms": statistics.median(samples) * 1000,
        "p95_ms": samples[int(len(samples) * 0.95) - 1] * 1000,
    }


def measure(engine: Engine, n_reports: int, lookups: int = 300) -> dict[str, dict[str, float]]:
    """Latency of ``get_version(as_of=…)`` and ``list_versions`` on random reports."""
    Session = sessionmaker_for(engine)
    rng = random.Random(11)
    ids = rng.sample(range(1, n_reports + 1), lookups)
    with Session() as warm:  # connect and prepare once, as a long-running reader would
        queries.list_versions(warm, ids[0])
    as_of: list[float] = []
    versions: list[float] = []
    by_url: list[float] = []
    for rid in ids:
        moment = T0 + timedelta(hours=rid % 50_000, days=150)
        with Session() as session:
            t = time.perf_counter()
            queries.version_dict(queries.get_version(session, rid, as_of=moment))
            as_of.append(time.perf_counter() - t)
        with Session() as session:
            t = time.perf_counter()
            queries.list_versions(session, rid)
            versions.append(time.perf_counter() - t)
        with Session() as session:  # what a 304 or a 404 looks up before it is archived
            t = time.perf_counter()
            archive._report_at(session, 1, f"http://bench.gov.cn/{rid}.html")
            by_url.append(time.perf_counter() - t)
    return {"show --as-of": _ms(as_of), "versions": _ms(versions), "report by URL": _ms(by_url)}
