"""The archive's write rules, called directly (no crawl)."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from nianbao.models import archive, incremental, queries
from nianbao.models.tables import Blob, Capture, Version
from nianbao.pipelines.derive import derive

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
PAGE = "<html><head><title>{t}</title></head><body><div id='zoom'>{b}</div></body></html>"


def _page(title: str, paras: list[str]) -> bytes:
    return PAGE.format(t=title, b="".join(f"<p>{p}</p>" for p in paras)).encode("utf-8")


def _store(
    session, body: bytes, when: datetime, url: str = "http://a.gov.cn/r.html", wire: bytes = b""
):
    """``body`` captured (``wire``: the bytes as the server sent them, if not ``body``)."""
    doc = derive(body, url)
    cap = archive.CaptureIn(source="a", url=url, status=200, fetched_at=when, body=wire or body)
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


def test_a_report_another_writer_inserted_first_is_extended(session, seeds, monkeypatch):
    """Between this writer's look-up (nothing) and its INSERT, another writer inserted the
    same report and committed: the INSERT does nothing, and the capture is written as a
    sighting of that report (its version 2), not a second report nor an error."""
    title, lines = seeds["002"]
    first = _store(session, _page(title, lines), T0)
    monkeypatch.setattr(archive, "_find_report", lambda *a: None)  # the look-up came first
    changed = [lines[0] + "补充说明。", *lines[1:]]
    second = _store(session, _page(title, changed), T0 + timedelta(days=1))
    assert not second.new_report and second.report_id == first.report_id
    assert second.new_version and second.version_n == 2
    report = session.get(archive.Report, first.report_id)
    assert report.last_seen == T0 + timedelta(days=1)
    assert session.scalar(select(func.count()).select_from(archive.Report)) == 1


def test_raw_bodies_are_stored_once_and_compressed(session, seeds):
    title, lines = seeds["000"]
    body = _page(title, lines)
    _store(session, body, T0)
    _store(session, body, T0 + timedelta(hours=1))
    blobs = session.scalars(select(Blob)).all()
    assert len(blobs) == 1
    assert blobs[0].compression == "zlib" and zlib.decompress(blobs[0].data) == body
    assert archive.read_blob(blobs[0]) == body


def test_a_gzip_wire_body_is_stored_once_as_sent(session, seeds):
    """A portal's gzip body does not shrink under zlib: kept byte for byte, and a second
    capture of the same bytes (inserted without a look first) adds no second blob."""
    import gzip

    title, lines = seeds["001"]
    page = _page(title, lines)
    wire = gzip.compress(page, mtime=0)
    for hours in (0, 1):
        _store(session, page, T0 + timedelta(hours=hours), "http://a.gov.cn/g.html", wire)
    blobs = session.scalars(select(Blob)).all()
    assert len(blobs) == 1 and blobs[0].compression == "none"
    assert bytes(blobs[0].data) == wire and blobs[0].size == len(wire)
    shas = session.scalars(select(Capture.body_sha256)).all()
    assert shas == [blobs[0].sha256] * 2


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


def test_gone_then_answering_again_clears_withdrawal(session, seeds):
    title, lines = seeds["000"]
    _store(session, _page(title, lines), T0)
    url = "http://a.gov.cn/r.html"
    archive.record_gone(session, archive.CaptureIn("a", url, 410, T0 + timedelta(days=1)))
    session.commit()
    assert queries.list_reports(session)[0]["withdrawn_reason"] == "gone"
    _store(session, _page(title, lines), T0 + timedelta(days=2))
    assert queries.list_reports(session)[0]["withdrawn_at"] is None


def test_blocked_answers_are_filed_under_the_report_but_never_withdraw_it(session, seeds):
    title, lines = seeds["000"]
    stored = _store(session, _page(title, lines), T0)
    cap = archive.CaptureIn("a", "http://a.gov.cn/r.html", 412, T0 + timedelta(days=1), body=b"x")
    archive.record_other(session, cap, "blocked", "anti-bot gateway")
    session.commit()
    assert queries.list_reports(session)[0]["withdrawn_at"] is None
    caps = queries.list_captures(session, stored.report_id)
    assert [(c["status"], c["kind"], c["version"]) for c in caps] == [
        (200, "report", 1),
        (412, "blocked", None),
    ]


def test_validators_come_from_the_latest_full_capture_of_each_url(session, seeds):
    title, lines = seeds["000"]
    url = "http://a.gov.cn/r.html"
    doc = derive(_page(title, lines), url)
    for day, etag in ((0, '"v1"'), (1, '"v2"')):
        cap = archive.CaptureIn(
            "a",
            url,
            200,
            T0 + timedelta(days=day),
            headers={"Etag": [etag], "Last-Modified": ["Fri, 01 Mar 2024 08:00:00 GMT"]},
            body=doc.body,
        )
        archive.record_report(
            session, cap, doc, organ="某镇", year=2018, published=None, cleaner_version="t"
        )
    archive.record_not_modified(session, archive.CaptureIn("a", url, 304, T0 + timedelta(days=2)))
    session.commit()
    assert incremental.validators_for(session, "a") == {
        url: incremental.Validators('"v2"', "Fri, 01 Mar 2024 08:00:00 GMT")
    }
    archive.record_gone(session, archive.CaptureIn("a", url, 404, T0 + timedelta(days=3)))
    session.commit()
    assert incremental.validators_for(session, "a") == {}  # must be fetched whole again
    assert incremental.known_report_urls(session, "a") == [url]


def _store_as(session, body: bytes, when: datetime, url: str, organ, year):
    doc = derive(body, url)
    cap = archive.CaptureIn(source="a", url=url, status=200, fetched_at=when, body=body)
    stored = archive.record_report(
        session, cap, doc, organ=organ, year=year, published=None, cleaner_version="t"
    )
    session.commit()
    return stored


def test_an_address_reused_for_next_years_report_is_a_new_report(session, seeds):
    url = "http://a.gov.cn/ndbg/latest.html"
    t0, l0 = seeds["000"]
    t2, l2 = seeds["002"]
    first = _store_as(session, _page(t0, l0), T0, url, "某镇", 2018)
    second = _store_as(session, _page(t2, l2), T0 + timedelta(days=365), url, "某镇", 2019)
    assert second.new_report and second.report_id != first.report_id
    assert [v["n"] for v in queries.list_versions(session, first.report_id)] == [1]


def test_a_report_without_organ_or_year_that_moves_is_found_by_its_text(session, seeds):
    title, lines = seeds["000"]
    body = _page(title, lines)
    first = _store_as(session, body, T0, "http://a.gov.cn/old.html", None, None)
    moved = _store_as(session, body, T0 + timedelta(days=1), "http://a.gov.cn/new.html", None, None)
    assert moved.report_id == first.report_id and not moved.new_version
    # Once organ and year are recognised, the report takes them as its identity.
    again = _store_as(
        session, body, T0 + timedelta(days=2), "http://a.gov.cn/new.html", "某镇", 2018
    )
    assert again.report_id == first.report_id
    [report] = queries.list_reports(session)
    assert (report["organ"], report["year"], report["versions"]) == ("某镇", 2018, 1)


def test_raw_bodies_by_capture_and_what_has_none(session, seeds):
    title, lines = seeds["000"]
    body = _page(title, lines)
    stored = _store(session, body, T0)
    assert queries.capture_body(session, stored.capture_id).body == body
    url = "http://a.gov.cn/r.html"
    nm = archive.record_not_modified(session, archive.CaptureIn("a", url, 304, T0))
    session.commit()
    with pytest.raises(queries.NotFound, match="has no body .*304"):
        queries.capture_body(session, nm.capture_id)
    with pytest.raises(queries.NotFound, match="no capture with id 999"):
        queries.capture_body(session, 999)
    # A challenge page answered with 200 must not lend its validators to the report URL.
    challenge = archive.CaptureIn("a", url, 200, T0, headers={"Etag": ['"c"']}, body=b"$_ts")
    archive.record_other(session, challenge, "blocked")
    session.commit()
    assert incremental.validators_for(session, "a") == {}


@pytest.mark.backend("postgresql")
def test_a_404_decides_on_the_report_as_another_writer_left_it(db_url, seeds):
    """record_gone locks the report before it reads it, as record_report and
    record_not_modified do. Another writer holding the report moves it to a new address
    (its 404 at the old one is then no withdrawal); the 404 waits for that writer's commit
    and reads the report as it left it. Read without the lock, the old address was seen,
    and the withdrawal was written once the lock was free."""
    import threading
    import time

    from sqlalchemy import text

    from nianbao.models.db import open_archive, sessionmaker_for

    engine = open_archive(db_url)
    Session = sessionmaker_for(engine)
    title, lines = seeds["000"]
    with Session() as session:
        stored = _store(session, _page(title, lines), T0)
        session.commit()
    url = "http://a.gov.cn/r.html"
    failures: list[BaseException] = []

    def a_404() -> None:
        try:
            with Session() as session:
                archive.record_gone(session, archive.CaptureIn("a", url, 404, T0 + timedelta(1)))
                session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    with engine.connect() as other:
        other.execute(
            text("UPDATE reports SET url = :moved WHERE id = :id"),
            {"moved": "http://a.gov.cn/moved.html", "id": stored.report_id},
        )
        waiting = threading.Thread(target=a_404)
        waiting.start()
        time.sleep(0.5)  # the 404's transaction is at the report's row lock by now
        other.commit()
    waiting.join(timeout=60)
    assert not waiting.is_alive() and not failures, failures
    with Session() as session:
        [report] = queries.list_reports(session)
        assert report["withdrawn_at"] is None  # it had moved: not withdrawn
    engine.dispose()
