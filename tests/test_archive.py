"""The archive's write rules, called directly (no crawl)."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from models import archive, queries
from models.db import open_archive, sessionmaker_for
from models.tables import Blob, Capture, Version
from pipelines.derive import derive

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
PAGE = "<html><head><title>{t}</title></head><body><div id='zoom'>{b}</div></body></html>"


def _page(title: str, paras: list[str]) -> bytes:
    return PAGE.format(t=title, b="".join(f"<p>{p}</p>" for p in paras)).encode("utf-8")


@pytest.fixture
def session(db_url):
    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as s:
        yield s
    engine.dispose()


def _store(session, body: bytes, when: datetime, url: str = "http://a.gov.cn/r.html"):
    doc = derive(body, url)
    cap = archive.CaptureIn(source="a", url=url, status=200, fetched_at=when, body=body)
    stored = archive.record_report(
        session, cap, doc, organ="某镇", year=2018, published=None, cleaner_version="t"
    )
    session.commit()
    return stored


def test_same_text_extends_last_seen_changed_text_adds_version(session, seeds):
    title, lines = seeds["002"]
    first = _store(session, _page(title, lines), T0)
    assert first.new_report and first.new_version and first.version_n == 1
    again = _store(session, _page(title, lines), T0 + timedelta(days=1))
    assert not again.new_version and again.version_n == 1
    changed = [lines[0] + "补充说明。", *lines[1:]]
    third = _store(session, _page(title, changed), T0 + timedelta(days=2))
    assert third.new_version and third.version_n == 2
    versions = queries.list_versions(session, first.report_id)
    assert [v["n"] for v in versions] == [1, 2]
    assert versions[0]["last_seen"] == (T0 + timedelta(days=1)).isoformat()
    as_of = queries.get_version(session, first.report_id, as_of=T0 + timedelta(hours=36))
    assert as_of.n == 1
    assert session.scalar(select(func.count()).select_from(Capture)) == 3


def test_raw_bodies_are_stored_once_and_compressed(session, seeds):
    title, lines = seeds["000"]
    body = _page(title, lines)
    _store(session, body, T0)
    _store(session, body, T0 + timedelta(hours=1))
    blobs = session.scalars(select(Blob)).all()
    assert len(blobs) == 1
    assert blobs[0].compression == "zlib" and zlib.decompress(blobs[0].data) == body
    assert archive.read_blob(blobs[0]) == body


def test_reverting_text_is_a_new_version_not_a_rewind(session, seeds):
    title, lines = seeds["000"]
    a, b = _page(title, lines), _page(title, lines[:-1])
    for i, body in enumerate([a, b, a]):
        _store(session, body, T0 + timedelta(days=i))
    ns = session.scalars(select(Version.n).order_by(Version.n)).all()
    assert ns == [1, 2, 3]


def test_not_modified_and_gone(session, seeds):
    title, lines = seeds["000"]
    stored = _store(session, _page(title, lines), T0)
    url = "http://a.gov.cn/r.html"
    archive.record_not_modified(session, archive.CaptureIn("a", url, 304, T0 + timedelta(days=1)))
    session.commit()
    assert (
        queries.list_versions(session, stored.report_id)[0]["last_seen"]
        == (T0 + timedelta(days=1)).isoformat()
    )
    archive.record_gone(
        session, archive.CaptureIn("a", url, 404, T0 + timedelta(days=2), body=b"gone")
    )
    session.commit()
    [report] = queries.list_reports(session)
    assert report["withdrawn_at"] == (T0 + timedelta(days=2)).isoformat()
    assert queries.get_version(session, stored.report_id).n == 1  # still retrievable


def test_naive_datetimes_are_refused(session):
    cap = archive.CaptureIn("a", "http://a.gov.cn/x", 412, datetime(2024, 1, 1), body=b"x")
    with pytest.raises(Exception, match="naive datetime"):
        archive.record_other(session, cap, "blocked")
        session.flush()
