"""The writer's prepared statements (models/prepared.py) write what the session would have
written, fail as the session fails, and stay inside the session's transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, exc, insert, select, text

from nianbao.models import archive
from nianbao.models.prepared import Prepared
from nianbao.models.tables import Capture, Report

CAPTURES = Prepared(lambda _: insert(Capture.__table__), archive._CAPTURE_KEYS, new_id=True)


def capture_values(source_id: int, **changes):
    values = dict(
        run_id=None,
        source_id=source_id,
        url="http://县.gov.cn/zwgk/ndbg/2024.html",
        # not UTC: both ways must store the same instant the same way
        fetched_at=datetime(2025, 1, 31, 8, 30, 1, 123456, tzinfo=timezone(timedelta(hours=8))),
        status=200,
        headers={"Content-Type": ["text/html; charset=gbk"], "Server": ["政务云"]},
        body_sha256=None,
        kind="report",
        report_id=None,
        version_id=None,
        landing_url=None,
        note="说明",
        body_form="wire",
        protocol="HTTP/1.1",
        reason="OK",
        request_head="GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        response_head="HTTP/1.1 200 OK\r\n\r\n",
        remote_ip="127.0.0.1",
        remote_port=8080,
        cert_sha256=None,
        context=None,
    )
    values.update(changes)
    return values


def raw_row(session, capture_id: int) -> dict:
    """The row as the database holds it, read past SQLAlchemy's types."""
    row = session.execute(text("SELECT * FROM captures WHERE id = :id"), {"id": capture_id})
    out = dict(row.mappings().one())
    del out["id"]
    return out


@pytest.mark.parametrize("context", [None, {"landing": "http://a/", "表单": {"q": "年报"}}])
def test_a_row_is_stored_as_the_session_stores_it(session, context) -> None:
    sid = archive.source_id(session, "county")
    values = capture_values(sid, context=context)
    prepared_id = CAPTURES.run(session, values)
    result = session.execute(insert(Capture.__table__).returning(Capture.id), values)
    session_id = result.scalar_one()
    assert prepared_id != session_id
    assert raw_row(session, prepared_id) == raw_row(session, session_id)
    stored = session.get(Capture, prepared_id)
    assert stored.fetched_at == values["fetched_at"] and stored.headers == values["headers"]


def test_a_database_error_is_sqlalchemys(session) -> None:
    archive.source_id(session, "county")
    session.commit()
    with pytest.raises(exc.IntegrityError, match="(?i)foreign key"):
        CAPTURES.run(session, capture_values(987654))  # no such source
    session.rollback()


def test_a_savepoint_rolled_back_takes_the_row_with_it(session) -> None:
    sid = archive.source_id(session, "county")
    kept = CAPTURES.run(session, capture_values(sid))
    nested = session.begin_nested()
    gone = CAPTURES.run(session, capture_values(sid, url="http://a/gone"))
    nested.rollback()
    ids = set(session.scalars(select(Capture.id)))
    assert kept in ids and gone not in ids


def test_fixed_parameters_and_lookups(session) -> None:
    sid = archive.source_id(session, "county")
    when = datetime(2025, 3, 1, tzinfo=UTC)
    values = dict.fromkeys(archive.upsert.REPORT_COLUMNS)
    values.update(source_id=sid, key="url|http://a/r", url="http://a/r")
    values.update(first_seen=when, last_seen=when)
    report_id = archive.upsert.insert_report(session, values)
    assert report_id is not None
    assert archive.upsert.insert_report(session, values) is None  # ON CONFLICT DO NOTHING
    archive.upsert.touch_report_url(session, report_id, "http://a/r", when)
    # the LIMIT and the "url|" literal are the statement's own parameters
    assert archive._ID_AT_URL.scalar(session, {"source": sid, "url": "http://a/r"}) == report_id
    url_keyed_at_url = Prepared(lambda _: archive._URL_KEYED_AT_URL, ["source", "url"])
    found = url_keyed_at_url.scalar(session, {"source": sid, "url": "http://a/r"})
    assert found == report_id
    assert archive._ID_AT_URL.scalar(session, {"source": sid, "url": "http://a/other"}) is None


def test_the_report_look_ups_in_one_statement_find_what_they_found_one_by_one(session) -> None:
    """_find_report's one statement against its look-ups run one after the other, in
    their order: by key; else a URL-keyed report at the address (or, for a capture whose
    organ and year are unknown, any report at it, then the one with this text)."""
    sid = archive.source_id(session, "county")
    when = datetime(2025, 3, 1, tzinfo=UTC)

    def report(key: str, url: str, sha256: str | None = None) -> int:
        values = dict.fromkeys(archive.upsert.REPORT_COLUMNS)
        values.update(source_id=sid, key=key, url=url, first_seen=when, last_seen=when)
        rid = archive.upsert.insert_report(session, values)
        archive.upsert.touch_report_url(session, rid, url, when)
        if sha256:
            session.execute(
                text(
                    "INSERT INTO versions (report_id, n, sha256, text, norm_text, url, "
                    "first_seen, last_seen, cleaner_version, meta, removed, flags) VALUES "
                    "(:r, 1, :h, 't', 't', :u, :w, :w, '6', '{}', '{}', '{}')"
                ),
                {"r": rid, "h": sha256, "u": url, "w": when},
            )
        return rid

    keyed = report("某镇|2023", "http://a/2023.html")
    url_keyed = report("url|http://a/old.html", "http://a/old.html", sha256="a" * 64)
    reused = report("某镇|2022", "http://a/reused.html")  # a keyed report at an address

    by_key = Prepared(lambda _: archive._BY_KEY, ["source", "key"])
    url_keyed_at_url = Prepared(lambda _: archive._URL_KEYED_AT_URL, ["source", "url"])
    by_text = Prepared(lambda _: archive._BY_TEXT, ["source", "sha256"])

    def one_by_one(key: str, url: str, sha256: str) -> int | None:
        found = by_key.scalar(session, {"source": sid, "key": key})
        if found is None:
            at_url = archive._ID_AT_URL if key.startswith("url|") else url_keyed_at_url
            found = at_url.scalar(session, {"source": sid, "url": url})
        if found is None and key.startswith("url|"):
            found = by_text.scalar(session, {"source": sid, "sha256": sha256})
        return found

    cases = [
        ("某镇|2023", "http://a/elsewhere.html", "b" * 64, keyed),  # by key
        ("某镇|2024", "http://a/old.html", "b" * 64, url_keyed),  # a URL-keyed one there
        ("某镇|2024", "http://a/reused.html", "b" * 64, None),  # a keyed one: not ours
        ("url|http://a/reused.html", "http://a/reused.html", "b" * 64, reused),  # any at it
        ("url|http://a/moved.html", "http://a/moved.html", "a" * 64, url_keyed),  # by text
        ("url|http://a/new.html", "http://a/new.html", "c" * 64, None),
        ("某镇|2021", "http://a/new.html", "c" * 64, None),
    ]
    for key, url, sha256, expected in cases:
        assert one_by_one(key, url, sha256) == expected, key
        assert archive._find_report(session, sid, key, url, sha256) == expected, key


def test_a_new_report_is_given_every_column(session) -> None:
    assert {*archive.upsert.REPORT_COLUMNS, "id"} == set(Report.__table__.c.keys())


def test_what_cannot_be_prepared_is_refused(session) -> None:
    # headers and body_form have Python defaults: an INSERT without them would not apply them
    partial = Prepared(lambda _: insert(Capture.__table__), ["source_id", "url"], new_id=True)
    with pytest.raises(ValueError, match="Python defaults"):
        partial.run(session, {"source_id": 1, "url": "http://a/"})
    unbound = Prepared(lambda _: select(Report.id).where(Report.key == bindparam("key")))
    with pytest.raises(ValueError, match="'key' is not among the keys"):
        unbound.run(session, {})
    expanding = Prepared(
        lambda _: select(Report.id).where(Report.id.in_(bindparam("ids", expanding=True))),
        ["ids"],
    )
    with pytest.raises(ValueError, match="not preparable"):
        expanding.run(session, {"ids": [1]})
