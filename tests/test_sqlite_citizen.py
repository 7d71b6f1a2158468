"""The SQLite archive in other tools (issue 17, migration 0009): readable JSON, documented
views, a full-text table datasette recognises."""

from __future__ import annotations

import json
import sqlite3

import pytest
from sqlalchemy import text

from alembic import command
from nianbao.models.db import alembic_config, open_archive
from tests.conftest import cli, cli_json, crawl


@pytest.mark.backend("sqlite", "postgresql")
def test_views_list_reports_and_versions_on_every_backend(db_url, serve, county):
    server = serve(county)
    crawl(db_url, server.url("/"))
    reports = cli_json(db_url, "reports")
    engine = open_archive(db_url)
    with engine.connect() as conn:
        listed = conn.execute(text("SELECT * FROM report_list ORDER BY report_id")).mappings().all()
        versions = conn.execute(text("SELECT * FROM version_list")).mappings().all()
    engine.dispose()
    assert [(r["report_id"], r["organ"], r["versions"]) for r in listed] == [
        (r["id"], r["organ"], r["versions"]) for r in reports
    ]
    assert {v["report_id"] for v in versions} == {r["id"] for r in reports}
    first = next(v for v in versions if v["report_id"] == reports[0]["id"])
    assert first["text"] == cli_json(db_url, "show", str(reports[0]["id"]))["text"]


@pytest.mark.backend("sqlite")
def test_sqlite_json_is_readable_and_datasette_finds_the_search_table(db_url, serve, county):
    server = serve(county)
    crawl(db_url, server.url("/"))
    path = db_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    metas = [m for (m,) in conn.execute("SELECT meta FROM versions")]
    assert any("发布机构" in m or "方正县" in m for m in metas), metas[:1]
    assert not any("\\u" in m for m in metas)
    fts = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'versions_fts'").fetchone()
    if fts is None:
        pytest.skip("this SQLite has no trigram tokenizer: no versions_fts")
    try:
        from datasette.utils import detect_fts
    except ImportError:  # datasette's own query, as of 0.65
        found = conn.execute(
            "SELECT name FROM sqlite_master WHERE rootpage = 0 AND sql LIKE"
            " '%VIRTUAL TABLE%USING FTS%content=\"versions\"%'"
        ).fetchone()
        found = found[0] if found else None
    else:
        found = detect_fts(conn, "versions")
    assert found == "versions_fts"
    # The rebuilt index still answers, and follows inserts once their queue is indexed
    # (migration 0013: a crawl indexes it when a core is spare, `nianbao index` at once).
    assert "versions indexed" in cli(db_url, "index").stdout
    assert conn.execute("SELECT count(*) FROM versions_fts_pending").fetchone() == (0,)
    [(n,)] = conn.execute(
        "SELECT count(*) FROM versions_fts WHERE versions_fts MATCH '\"依申请公开\"'"
    ).fetchall()
    assert n >= 1
    conn.close()


@pytest.mark.backend("sqlite")
def test_migration_0009_rewrites_escaped_json_and_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0005")
    conn = sqlite3.connect(tmp_path / "old.sqlite")
    escaped = json.dumps({"publisher": "方正县人民政府"})
    assert "\\u" in escaped
    conn.execute(
        "INSERT INTO sources (id, name, config, created_at)"
        " VALUES (1, 'a', ?, '2026-01-01 00:00:00.000000')",
        (escaped,),
    )
    conn.commit()
    command.upgrade(cfg, "0009")
    [(value,)] = conn.execute("SELECT config FROM sources").fetchall()
    assert value == '{"publisher": "方正县人民政府"}'
    command.downgrade(cfg, "0005")
    [(value,)] = conn.execute("SELECT config FROM sources").fetchall()
    assert value == escaped
    conn.close()
