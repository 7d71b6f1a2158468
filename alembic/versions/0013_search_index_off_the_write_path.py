"""the search index is built off the archive's write path (SQLite)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 05:10:00

Indexing a new version's text in the FTS5 trigram index (one token per character of a
~7,000-character report) was a third of the archive writer's CPU, and the writer is the
crawl's bottleneck on two cores (issue 19). A new version is now only *queued* for the
index (``versions_fts_pending``, by the insert trigger); the queue is indexed in bulk
when the writer has a spare core (``models.writer``) or by ``nianbao index``
(:func:`models.search.index_pending`), and search scans the queued versions' text as well
as asking the index, so it finds every version whatever the queue holds.

The update and delete triggers keep the index exact for indexed versions, as before
(0005, 0009), and leave a queued version to the indexer: an FTS5 ``delete`` of text that
was never indexed would corrupt the index. Every existing version is indexed already, so
the queue starts empty. PostgreSQL's ``pg_trgm`` GIN index is untouched (it has its own
pending list). Downgrading indexes the queue and restores 0009's triggers.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED = "EXISTS (SELECT 1 FROM versions_fts_pending WHERE version_id = old.id)"

TRIGGERS = {
    "versions_fts_insert": "AFTER INSERT ON versions BEGIN "
    "INSERT INTO versions_fts_pending(version_id) VALUES (new.id); END",
    "versions_fts_delete": "AFTER DELETE ON versions BEGIN "
    "INSERT INTO versions_fts(versions_fts, rowid, norm_text) "
    f"SELECT 'delete', old.id, old.norm_text WHERE NOT {QUEUED}; "
    "DELETE FROM versions_fts_pending WHERE version_id = old.id; END",
    "versions_fts_update": "AFTER UPDATE OF norm_text ON versions "
    f"WHEN NOT {QUEUED} BEGIN "
    "INSERT INTO versions_fts(versions_fts, rowid, norm_text) "
    "VALUES ('delete', old.id, old.norm_text); "
    "INSERT INTO versions_fts(rowid, norm_text) VALUES (new.id, new.norm_text); END",
}

# Migration 0009's, restored by the downgrade.
OLD_TRIGGERS = {
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


def _triggers(triggers: dict[str, str]) -> None:
    for name, body in triggers.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"CREATE TRIGGER {name} {body}")


def upgrade() -> None:
    if not _has_fts():
        return
    op.execute("CREATE TABLE versions_fts_pending (version_id INTEGER NOT NULL PRIMARY KEY)")
    _triggers(TRIGGERS)


def downgrade() -> None:
    if not _has_fts():
        return
    op.execute(
        "INSERT INTO versions_fts(rowid, norm_text) SELECT v.id, v.norm_text "
        "FROM versions_fts_pending p JOIN versions v ON v.id = p.version_id"
    )
    _triggers(OLD_TRIGGERS)
    op.execute("DROP TABLE versions_fts_pending")
