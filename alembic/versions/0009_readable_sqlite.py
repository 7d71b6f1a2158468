"""the SQLite file a good citizen of datasette and sqlite-utils

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 19:40:00

- JSON columns are rewritten without ``\\uXXXX`` escapes (the engine now stores them with
  ``ensure_ascii=False``), so ``sqlite3`` and datasette show 发布机构 instead of
  ``\\u53d1\\u5e03\\u673a\\u6784``. PostgreSQL's JSONB never stored escapes.
- Two documented views, on SQLite and PostgreSQL alike:
  ``report_list`` (one row per report: source, organ, year, title, address, versions,
  first/last seen, withdrawal) and ``version_list`` (one row per version: its report's
  source, organ and year, version number, title, address, first/last seen, sha256, the
  clean text as published, the cleaner version).
- SQLite: ``versions_fts`` is declared with ``content="versions"`` (double quotes), the
  form datasette looks for, so datasette offers a search box on ``versions``. Same
  table, same triggers, rebuilt.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_COLUMNS = {
    "sources": ("config",),
    "crawl_runs": ("counts", "errors"),
    "versions": ("meta", "removed", "flags"),
    "captures": ("headers",),
}

VIEWS = {
    "report_list": """
        SELECT r.id AS report_id, s.name AS source, r.organ, r.year, r.title, r.url,
               (SELECT count(*) FROM versions v WHERE v.report_id = r.id) AS versions,
               r.first_seen, r.last_seen, r.withdrawn_at, r.withdrawn_reason
        FROM reports r JOIN sources s ON s.id = r.source_id
    """,
    "version_list": """
        SELECT v.id AS version_id, v.report_id, s.name AS source, r.organ, r.year,
               v.n AS version, v.title, v.url, v.published, v.first_seen, v.last_seen,
               v.sha256, v.text, v.cleaner_version
        FROM versions v
        JOIN reports r ON r.id = v.report_id
        JOIN sources s ON s.id = r.source_id
    """,
}

FTS_TRIGGERS = {
    "versions_fts_insert": "AFTER INSERT ON versions BEGIN "
    "INSERT INTO versions_fts(rowid, norm_text) VALUES (new.id, new.norm_text); END",
    "versions_fts_delete": "AFTER DELETE ON versions BEGIN "
    "INSERT INTO versions_fts(versions_fts, rowid, norm_text) "
    "VALUES ('delete', old.id, old.norm_text); END",
    "versions_fts_update": "AFTER UPDATE OF norm_text ON versions BEGIN "
    "INSERT INTO versions_fts(versions_fts, rowid, norm_text) "
    "VALUES ('delete', old.id, old.norm_text); "
    "INSERT INTO versions_fts(rowid, norm_text) VALUES (new.id, new.norm_text); END",
}


def _has_fts(bind: sa.Connection) -> bool:
    return (
        bind.execute(
            sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'versions_fts'")
        ).first()
        is not None
    )


def _fts(content: str) -> None:
    for name in FTS_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE versions_fts")
    op.execute(
        "CREATE VIRTUAL TABLE versions_fts USING fts5("
        f"norm_text, content={content}, content_rowid='id', tokenize='trigram')"
    )
    for name, body in FTS_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute("INSERT INTO versions_fts(versions_fts) VALUES ('rebuild')")


def _rewrite_json(bind: sa.Connection, ensure_ascii: bool) -> None:
    for table, columns in JSON_COLUMNS.items():
        for column in columns:
            # Upgrading, only rows holding an escape; downgrading, every row.
            where = "" if ensure_ascii else f" WHERE {column} LIKE '%\\u%'"
            rows = bind.execute(sa.text(f"SELECT id, {column} FROM {table}{where}")).all()
            for row_id, value in rows:
                if value is None:
                    continue
                text = json.dumps(json.loads(value), ensure_ascii=ensure_ascii)
                if text != value:
                    bind.execute(
                        sa.text(f"UPDATE {table} SET {column} = :v WHERE id = :id"),
                        {"v": text, "id": row_id},
                    )


def upgrade() -> None:
    bind = op.get_bind()
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")
    if bind.dialect.name != "sqlite":
        return
    _rewrite_json(bind, ensure_ascii=False)
    if _has_fts(bind):
        _fts('"versions"')


def downgrade() -> None:
    bind = op.get_bind()
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
    if bind.dialect.name != "sqlite":
        return
    _rewrite_json(bind, ensure_ascii=True)
    if _has_fts(bind):
        _fts("'versions'")
