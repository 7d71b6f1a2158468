"""Concurrent writers: many workers archiving the same captures at once never duplicate.

Each worker thread has its own connection and session, as crawler processes do; a barrier
releases them together so their transactions really overlap (on PostgreSQL they run in
parallel; on SQLite ``BEGIN IMMEDIATE`` queues them). Runs on every archive backend.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from nianbao.models import archive
from nianbao.models.db import open_archive, sessionmaker_for
from nianbao.models.tables import Blob, Capture, Report, ReportUrl, Source, Version
from nianbao.pipelines.derive import derive

WORKERS = 8
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
PAGE = "<html><head><title>{t}</title></head><body><div id='zoom'>{b}</div></body></html>"


def _page(title: str, lines: list[str]) -> bytes:
    return PAGE.format(t=title, b="".join(f"<p>{p}</p>" for p in lines)).encode("utf-8")


def _run_workers(db_url: str, work) -> list[BaseException]:  # type: ignore[no-untyped-def]
    """Run ``work(session, i)`` in WORKERS threads released together; return their errors."""
    engine = open_archive(db_url)
    Session = sessionmaker_for(engine)
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            work(Session, i)
        except BaseException as exc:  # collected and asserted on in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    engine.dispose()
    return errors


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model))


def test_same_captures_from_many_writers_make_one_report_one_version(db_url, seeds):
    reports = {
        "a": (_page(*seeds["000"]), "某镇", 2018),
        "b": (_page(*seeds["002"]), "某县", 2014),
    }
    docs = {k: derive(body, f"http://x.gov.cn/{k}.html") for k, (body, _, _) in reports.items()}

    def work(Session, i: int) -> None:  # type: ignore[no-untyped-def]
        for k, (body, organ, year) in reports.items():
            # Same report and text; every worker at its own time, some at a moved address.
            url = f"http://x.gov.cn/{k}.html" if i % 2 else f"http://x.gov.cn/moved/{k}.html"
            cap = archive.CaptureIn(
                source="x", url=url, status=200, fetched_at=T0 + timedelta(hours=i), body=body
            )
            with Session.begin() as session:
                archive.record_report(
                    session,
                    cap,
                    docs[k],
                    organ=organ,
                    year=year,
                    published=None,
                    cleaner_version="t",
                )

    assert _run_workers(db_url, work) == []

    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as session:
        assert _count(session, Source) == 1
        assert _count(session, Report) == 2
        assert _count(session, Version) == 2
        assert _count(session, Blob) == 2
        assert _count(session, Capture) == 2 * WORKERS  # every observation is evidence
        assert _count(session, ReportUrl) == 4
        last = T0 + timedelta(hours=WORKERS - 1)
        for version in session.scalars(select(Version)):
            assert version.n == 1
            assert version.last_seen == last  # no worker's later sighting was lost
        moved = max(i for i in range(WORKERS) if i % 2 == 0)
        here = max(i for i in range(WORKERS) if i % 2)
        for row in session.scalars(select(ReportUrl)):
            hours = moved if "/moved/" in row.url else here
            assert row.last_seen == T0 + timedelta(hours=hours)
    engine.dispose()


def test_changed_text_from_many_writers_numbers_versions_without_gaps(db_url, seeds):
    title, lines = seeds["002"]
    texts = [_page(title, lines), _page(title, lines[:-1])]
    url = "http://x.gov.cn/r.html"

    def work(Session, i: int) -> None:  # type: ignore[no-untyped-def]
        body = texts[i % 2]
        cap = archive.CaptureIn("x", url, 200, T0 + timedelta(minutes=i + 1), body=body)
        with Session.begin() as session:
            archive.record_report(
                session,
                cap,
                derive(body, url),
                organ="某县",
                year=2014,
                published=None,
                cleaner_version="t",
            )

    # The report exists already (text 0), so every worker races to add the next version.
    engine = open_archive(db_url)
    work(sessionmaker_for(engine), -1)
    engine.dispose()
    assert _run_workers(db_url, work) == []

    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as session:
        assert _count(session, Report) == 1
        versions = session.scalars(select(Version).order_by(Version.n)).all()
        ns = [v.n for v in versions]
        assert ns == list(range(1, len(ns) + 1))  # unique, contiguous
        # Consecutive versions always differ: a writer that lost the race saw the winner's
        # text and extended it instead of adding a copy.
        assert all(a.sha256 != b.sha256 for a, b in zip(versions, versions[1:], strict=False))
        assert {v.sha256 for v in versions} == {derive(t, url).sha256 for t in texts}
        assert _count(session, Capture) == WORKERS + 1
    engine.dispose()


def test_concurrent_not_modified_answers_keep_the_latest_sighting(db_url, seeds):
    title, lines = seeds["000"]
    body, url = _page(title, lines), "http://x.gov.cn/r.html"
    engine = open_archive(db_url)
    with sessionmaker_for(engine).begin() as session:
        archive.record_report(
            session,
            archive.CaptureIn("x", url, 200, T0, body=body),
            derive(body, url),
            organ="某镇",
            year=2018,
            published=None,
            cleaner_version="t",
        )
    engine.dispose()

    def work(Session, i: int) -> None:  # type: ignore[no-untyped-def]
        with Session.begin() as session:
            archive.record_not_modified(
                session, archive.CaptureIn("x", url, 304, T0 + timedelta(days=1, hours=i))
            )

    assert _run_workers(db_url, work) == []
    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as session:
        latest = T0 + timedelta(days=1, hours=WORKERS - 1)
        assert session.scalars(select(Version.last_seen)).one() == latest
        assert session.scalars(select(Report.last_seen)).one() == latest
        assert _count(session, Capture) == WORKERS + 1
    engine.dispose()
