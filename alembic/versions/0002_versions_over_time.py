"""versions over time: withdrawal (reason, linked_from), run host/pid, URL indexes, full-text search

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 20:07:12.966884

Full-text search over ``versions.norm_text`` lives outside the models (``alembic/env.py``
keeps autogenerate from seeing it):

* SQLite: an FTS5 table with the trigram tokenizer (Chinese has no word breaks; trigram
  indexes every 3-character substring), external-content over ``versions`` and kept in
  step by an insert trigger — versions are never updated or deleted in their text.
  A later migration that *recreates* ``versions`` in batch mode drops this trigger and
  must recreate it.
  Without the trigram tokenizer (SQLite < 3.34 or built without FTS5) the table is not
  created and search scans instead.
* PostgreSQL: ``pg_trgm`` with a GIN index, used by ``LIKE '%…%'``. ``pg_trgm`` is a
  trusted extension (PostgreSQL 13+): the database's owner may create it.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE versions_fts USING fts5("
    "norm_text, content='versions', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER versions_fts_insert AFTER INSERT ON versions BEGIN "
    "INSERT INTO versions_fts(rowid, norm_text) VALUES (new.id, new.norm_text); END",
    "CREATE TRIGGER versions_fts_delete AFTER DELETE ON versions BEGIN "
    "INSERT INTO versions_fts(versions_fts, rowid, norm_text) "
    "VALUES ('delete', old.id, old.norm_text); END",
    "INSERT INTO versions_fts(versions_fts) VALUES ('rebuild')",
]
PG_TRGM = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_versions_norm_text_trgm ON versions USING gin (norm_text gin_trgm_ops)",
]


def _sqlite_has_trigram() -> bool:
    """FTS5 with the trigram tokenizer needs SQLite >= 3.34 built with FTS5."""
    import sqlite3

    try:
        sqlite3.connect(":memory:").execute(
            "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='trigram')"
        )
    except sqlite3.OperationalError:
        return False
    return True


def upgrade() -> None:
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.create_index("ix_captures_url", ["url"], unique=False, postgresql_using="hash")

    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))

    with op.batch_alter_table("report_urls", schema=None) as batch_op:
        batch_op.create_index("ix_report_urls_url", ["url"], unique=False, postgresql_using="hash")

    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_reason", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("linked_from", sa.Text(), nullable=True))
    # Reports withdrawn before this migration were withdrawn by a 404/410.
    op.execute("UPDATE reports SET withdrawn_reason = 'gone' WHERE withdrawn_at IS NOT NULL")

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite" and not _sqlite_has_trigram():
        # `nianbao search` falls back to a scan (models/search.py); nothing else needs it.
        import logging

        logging.getLogger("alembic").warning(
            "this SQLite (%s) has no FTS5 trigram tokenizer: search will scan",
            op.get_bind().exec_driver_sql("SELECT sqlite_version()").scalar(),
        )
        return
    for statement in SQLITE_FTS if dialect == "sqlite" else PG_TRGM:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS versions_fts_insert")
        op.execute("DROP TRIGGER IF EXISTS versions_fts_delete")
        op.execute("DROP TABLE IF EXISTS versions_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_versions_norm_text_trgm")

    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_column("linked_from")
        batch_op.drop_column("withdrawn_reason")

    with op.batch_alter_table("report_urls", schema=None) as batch_op:
        batch_op.drop_index("ix_report_urls_url", postgresql_using="hash")

    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.drop_column("pid")
        batch_op.drop_column("host")

    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_index("ix_captures_url", postgresql_using="hash")
