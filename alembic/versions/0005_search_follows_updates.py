"""search follows every change of a version's text

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 19:05:00

``reprocess`` updates ``versions.norm_text`` in place, but the SQLite FTS5 index only had
insert and delete triggers: ``search`` kept returning the old text's hits and SQLite's own
integrity check called the index malformed. An update trigger keeps it in step from now on,
and a rebuild repairs what archives reprocessed before this revision hold. (PostgreSQL's
``pg_trgm`` GIN index is an ordinary index and always followed updates.)
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPDATE_TRIGGER = (
    "CREATE TRIGGER versions_fts_update AFTER UPDATE OF norm_text ON versions BEGIN "
    "INSERT INTO versions_fts(versions_fts, rowid, norm_text) "
    "VALUES ('delete', old.id, old.norm_text); "
    "INSERT INTO versions_fts(rowid, norm_text) VALUES (new.id, new.norm_text); END"
)


def _has_fts() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return False
    return (
        bind.execute(
            sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'versions_fts'")
        ).first()
        is not None
    )


def upgrade() -> None:
    if not _has_fts():
        return
    op.execute(UPDATE_TRIGGER)
    op.execute("INSERT INTO versions_fts(versions_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if _has_fts():
        op.execute("DROP TRIGGER IF EXISTS versions_fts_update")
