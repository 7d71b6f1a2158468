"""``nianbao search``: full text over normalised version text (FTS5 trigram on SQLite)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from alembic import command
from nianbao.models import archive
from nianbao.models.db import alembic_config, open_archive, sessionmaker_for
from nianbao.models.search import SearchError, search
from nianbao.pipelines.derive import derive
from nianbao.pipelines.normalize import normal_form
from tests.conftest import cli

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def _page(title: str, paras: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paras)
    return f"<html><head><title>{title}</title></head><body><div id='zoom'>{body}</div></body></html>".encode()


def _store(session, title, lines, when=T0, url="http://a.gov.cn/r.html", organ="某镇"):
    doc = derive(_page(title, lines), url)
    cap = archive.CaptureIn(source="a", url=url, status=200, fetched_at=when, body=doc.body)
    stored = archive.record_report(
        session, cap, doc, organ=organ, year=2018, published=None, cleaner_version="t"
    )
    session.commit()
    return stored


def test_finds_substrings_across_versions_scripts_and_spacing(session, seeds):
    title, lines = seeds["002"]
    first = _store(session, title, lines)
    _store(session, title, [*lines, "本年度新增依申请公开答复一百二十件。"], T0 + timedelta(days=1))
    other_title, other_lines = seeds["000"]
    _store(session, other_title, other_lines, url="http://a.gov.cn/o.html", organ="某县")

    hits = search(session, "依申请公开答复一百二十件")
    assert [(h["report_id"], h["version"], h["current"]) for h in hits] == [
        (first.report_id, 2, True)
    ]
    assert "一百二十件" in hits[0]["snippet"]
    # Every version containing a phrase, the superseded one marked.
    phrase = lines[1][:12]
    hits = search(session, phrase)
    assert {(h["report_id"], h["version"], h["current"]) for h in hits} >= {
        (first.report_id, 1, False),
        (first.report_id, 2, True),
    }
    # Traditional script, full-width digits and spaces normalise like the text does.
    assert search(session, "依申請公開 答覆一百二十件") == search(
        session, "依申请公开答复一百二十件"
    )
    # Nothing found is an empty list, not an error.
    assert search(session, "这句话不在任何报告里出现") == []


def test_short_queries_fall_back_to_like_and_specials_are_literal(session, seeds):
    title, lines = seeds["002"]
    stored = _store(session, title, [*lines, "完成率100%_以上"])
    assert len(search(session, "县")) == 1  # one character: below a trigram
    assert [h["report_id"] for h in search(session, "0%_")] == [stored.report_id]
    assert search(session, "9%_") == []  # % and _ match themselves, not any character
    assert search(session, '"引号') == []  # FTS5 syntax characters are quoted
    with pytest.raises(SearchError):
        search(session, "   ")


def test_cli_search_json_and_empty_query(db_url, session, seeds):
    title, lines = seeds["002"]
    stored = _store(session, title, lines)
    out = json.loads(cli(db_url, "search", lines[2][5:20], "--json").stdout)
    assert [h["report_id"] for h in out] == [stored.report_id]
    proc = cli(db_url, "search", " ", check=False)
    assert proc.returncode == 2 and "empty" in proc.stderr


def test_migration_indexes_versions_that_existed_before_it(db_url, seeds):
    """Upgrading an archive made at 0001 puts its existing versions into the index."""
    command.upgrade(alembic_config(db_url), "0001")
    engine = open_archive(db_url, migrate=False)
    title, lines = seeds["000"]
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO sources (name, config, created_at) VALUES ('a', '{}', '2024-01-01')")
        )
        conn.execute(
            text(
                "INSERT INTO reports (source_id, key, url, first_seen, last_seen) "
                "VALUES (1, 'k', 'http://a/', '2024-01-01', '2024-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO versions (report_id, n, sha256, text, norm_text, url, first_seen, "
                "last_seen, cleaner_version, meta, removed, flags) VALUES (1, 1, 'x', :t, :t, "
                "'http://a/', '2024-01-01', '2024-01-01', '1', '{}', '{}', '{}')"
            ),
            {"t": normal_form("".join(lines))},
        )
    engine.dispose()
    engine = open_archive(db_url)  # migrates to head
    with sessionmaker_for(engine)() as session:
        assert [h["report_id"] for h in search(session, lines[3][:10])] == [1]
    engine.dispose()


def test_without_the_fts_table_search_scans_and_finds_the_same(session, seeds):
    """What an archive made by a SQLite without the trigram tokenizer gets."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the FTS5 table exists on SQLite only")
    title, lines = seeds["002"]
    stored = _store(session, title, lines)
    query = lines[2][5:20]
    indexed = search(session, query)
    session.execute(text("DROP TABLE versions_fts"))
    session.commit()
    assert search(session, query) == indexed
    assert [h["report_id"] for h in indexed] == [stored.report_id]


def _fts_ok(session) -> None:
    """FTS5's own check of the index against its content table (raises if corrupt)."""
    session.execute(
        text("INSERT INTO versions_fts(versions_fts, rank) VALUES ('integrity-check', 1)")
    )


def _two_queued(session, seeds) -> tuple[archive.Stored, str, str]:
    """Two reports written (seeds 002 and 000), both queued for the search index: the
    first's result, and a query for each report's text."""
    from nianbao.models.search import pending

    title, lines = seeds["002"]
    first = _store(session, title, lines)
    other_title, other_lines = seeds["000"]
    _store(session, other_title, other_lines, url="http://a.gov.cn/o.html", organ="某县")
    assert pending(session) == 2
    return first, lines[2][5:20], other_lines[1][:10]


def _queue_a_third(session) -> None:
    """A third report written once the queue is empty: it alone is queued."""
    from nianbao.models.search import pending

    _store(
        session,
        "第三个报告",
        ["第三个报告的正文在这里，依申请公开。"],
        url="http://a.gov.cn/3.html",
    )
    assert pending(session) == 1


def test_queued_versions_are_found_before_and_after_indexing(session, seeds):
    """Migration 0013: a written version waits in a queue for the index; search finds it
    by scanning the queue meanwhile, and the same once it is indexed. An edit or a delete
    of a queued version leaves the index exact."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the FTS5 index and its queue exist on SQLite only")
    from nianbao.models.search import index_pending, pending

    first, query, other = _two_queued(session, seeds)
    queued = search(session, query), search(session, other)
    assert [h["report_id"] for h in queued[0]] == [first.report_id]
    in_index = text("SELECT count(*) FROM versions_fts WHERE versions_fts MATCH :q")
    assert session.execute(in_index, {"q": f'"{query}"'}).scalar() == 0  # found by the scan

    # An edit of a queued version: the index gets the new text when it is indexed.
    new = "队列中的版本被改写为这段文字"
    session.execute(text("UPDATE versions SET norm_text = :t WHERE id = 2"), {"t": new})
    session.commit()
    assert [h["report_id"] for h in search(session, "版本被改写")] == [2]
    assert index_pending(session, 1) == 1  # oldest first
    assert pending(session) == 1
    assert index_pending(session) == 1
    session.commit()
    assert pending(session) == 0
    _fts_ok(session)
    assert session.execute(in_index, {"q": f'"{query}"'}).scalar() == 1
    assert search(session, query) == queued[0]
    assert search(session, other) == []  # its text was replaced before it was indexed
    assert [h["report_id"] for h in search(session, "版本被改写")] == [2]
    # Indexed now, so an edit and a delete go through the index's triggers.
    session.execute(
        text("UPDATE versions SET norm_text = :t WHERE id = 1"), {"t": "另一段文字内容"}
    )
    session.commit()
    assert search(session, query) == []
    _queue_a_third(session)
    session.execute(text("DELETE FROM version_bands WHERE version_id IN (2, 3)"))
    session.execute(text("DELETE FROM version_signatures WHERE version_id IN (2, 3)"))
    session.execute(text("DELETE FROM version_links"))
    session.execute(text("DELETE FROM captures WHERE version_id IN (2, 3)"))
    session.execute(text("DELETE FROM versions WHERE id IN (2, 3)"))  # one indexed, one queued
    session.commit()
    assert pending(session) == 0
    _fts_ok(session)
    assert search(session, "版本被改写") == []


def test_postgresql_queues_new_versions_outside_the_trigram_index(session, seeds):
    """Migration 0015: on PostgreSQL a written version is left out of the partial trigram
    index (``search_indexed`` false) until :func:`index_pending` marks it; search finds it
    by scanning the queue meanwhile and by the index afterwards, with the same answers, and
    an edit of a queued version is what gets indexed."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the partial trigram index and its queue column exist on PostgreSQL only")
    from nianbao.models.search import index_pending, pending

    first, query, other = _two_queued(session, seeds)
    queued = search(session, query)
    assert [h["report_id"] for h in queued] == [first.report_id]
    assert [h["report_id"] for h in search(session, other)] == [2]
    new = "队列中的版本被改写为这段文字"
    session.execute(text("UPDATE versions SET norm_text = :t WHERE id = 2"), {"t": new})
    session.commit()
    assert index_pending(session, 1) == 1  # oldest first
    session.commit()
    indexed = text("SELECT id FROM versions WHERE search_indexed ORDER BY id")
    assert list(session.scalars(indexed)) == [1]
    assert pending(session) == 1
    assert index_pending(session) == 1
    session.commit()
    assert pending(session) == 0
    assert search(session, query) == queued
    assert search(session, other) == []
    assert [h["report_id"] for h in search(session, "版本被改写")] == [2]
    # The indexed half of the search goes through the partial GIN index.
    session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        session.scalars(
            text("EXPLAIN SELECT id FROM versions WHERE search_indexed AND norm_text LIKE :p"),
            {"p": f"%{query}%"},
        )
    )
    session.rollback()
    assert "ix_versions_norm_text_trgm" in plan, plan
    # A version written now is queued again, outside the index.
    _queue_a_third(session)
    assert [h["title"] for h in search(session, "第三个报告的正文")] == ["第三个报告"]


def test_downgrading_0013_indexes_the_queue(db_url, seeds):
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    engine = open_archive(db_url)
    title, lines = seeds["002"]
    with sessionmaker_for(engine)() as session:
        _store(session, title, lines)
    engine.dispose()
    command.downgrade(alembic_config(db_url), "0012")
    engine = open_archive(db_url)  # back to head: nothing queued, all indexed
    with sessionmaker_for(engine)() as session:
        from nianbao.models.search import pending

        assert pending(session) == 0
        _fts_ok(session)
        assert [h["report_id"] for h in search(session, lines[2][5:20])] == [1]
    engine.dispose()
