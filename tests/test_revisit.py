"""The revisit schedule: a report checked recently is not asked again; lists always are.

Real crawls of a local gzip portal (``nianbao crawl`` subprocesses) into a real SQLite
file; the schedule itself is read from the captures those crawls stored, at chosen "now"s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from nianbao.demo.server import Page, Portal
from nianbao.models import incremental
from nianbao.models.db import open_archive, sessionmaker_for
from nianbao.models.tables import Capture, Report
from tests.conftest import cli_json, crawl

DEFAULT = ("-s", "NIANBAO_REVISIT_MIN=20", "-s", "NIANBAO_REVISIT_MAX=168")
REPORT_PATHS = ("/art/", "/zwgk/ndbg/t", "/attach/", ".docx")


def record(portal: Portal) -> list[str]:
    """The paths the portal is asked for, in order."""
    asked: list[str] = []
    lock = threading.Lock()
    original: Callable[[str], Page | None] = portal.get

    def get(path: str) -> Page | None:
        with lock:
            asked.append(path)
        return original(path)

    portal.get = get  # type: ignore[method-assign]
    return asked


def report_paths(db: str) -> set[str]:
    """The paths of the report URLs the archive holds."""
    engine = open_archive(db)
    try:
        with sessionmaker_for(engine)() as session:
            urls = session.scalars(select(Report.url)).all()
    finally:
        engine.dispose()
    return {"/" + u.split("/", 3)[3] for u in urls}


def schedule_at(db: str, source: str, hours: float, schedule: incremental.Revisit) -> set[str]:
    engine = open_archive(db)
    try:
        with sessionmaker_for(engine)() as session:
            first = session.scalar(select(Capture.fetched_at).order_by(Capture.id.desc()))
            assert first is not None
            return set(
                incremental.not_due(
                    session, source, schedule, first + timedelta(hours=hours)
                ).keys()
            )
    finally:
        engine.dispose()


def test_wait_doubles_per_unchanged_check_up_to_the_maximum() -> None:
    r = incremental.Revisit(20, 168)
    assert [r.wait(k).total_seconds() / 3600 for k in range(5)] == [20, 40, 80, 160, 168]
    assert incremental.Revisit(0, 168).wait(3) == timedelta(0)
    assert incremental.Revisit(0, 168).history() == 0
    # past history() captures the wait is max whatever came before
    assert r.wait(r.history() - 1) == timedelta(hours=168)


def test_recent_reports_are_not_asked_again_lists_are(
    serve: Callable[[Portal], object], county: Portal, tmp_path
) -> None:
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    server = serve(county)
    url = server.url("/")  # type: ignore[attr-defined]
    crawl(db, url, *DEFAULT)
    reports = report_paths(db)
    assert len(reports) == 3

    asked = record(county)
    second = crawl(db, url, *DEFAULT)
    assert not reports & set(asked), "a report checked seconds ago was asked again"
    assert "/" in asked and any("ndbg" in p for p in asked), "the lists must still be asked"
    assert "3 not due (checked recently, not asked)" in second.stdout
    runs = cli_json(db, "runs")
    assert runs[0]["summary"]["not_due"] == 3
    # nothing was withdrawn for not being asked
    assert all(not r["withdrawn_at"] for r in cli_json(db, "reports"))

    asked.clear()
    third = crawl(db, url, *DEFAULT, "--recheck")
    assert reports <= set(asked), "--recheck asks every report"
    assert "not due" not in third.stdout


def test_schedule_read_from_the_captures(
    serve: Callable[[Portal], object], county: Portal, tmp_path
) -> None:
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    server = serve(county)
    url = server.url("/")  # type: ignore[attr-defined]
    source = crawl(db, url, *DEFAULT).stdout.split(":", 1)[0].strip()
    r = incremental.Revisit(20, 168)
    urls = schedule_at(db, source, 0, r)
    assert len(urls) == 3  # fetched once: due after 20 h
    assert schedule_at(db, source, 19.5, r) == urls
    assert schedule_at(db, source, 20.5, r) == set()
    # a second check that found them unchanged (304): the wait doubles
    crawl(db, url, "--recheck")
    assert schedule_at(db, source, 39, r) == urls
    assert schedule_at(db, source, 41, r) == set()
    # a change (a new version) starts again from the minimum; the others keep their wait
    path = next(p for p in sorted(report_paths(db)) if p.endswith(".html"))
    page = county.get(path)
    assert page is not None
    # the pages are UTF-8 or GBK (a Hanweb portal); the marker in whichever the page is
    marker = next(m for m in ("依申请公开".encode(c) for c in ("utf-8", "gbk")) if m in page.body)
    county.set(path, replace(page, body=page.body.replace(marker, marker * 2, 1), mtime=1.8e9))
    crawl(db, url, "--recheck")
    changed = {u for u in urls if u.endswith(path)}
    assert len(changed) == 1
    assert schedule_at(db, source, 21, r) == urls - changed
