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
