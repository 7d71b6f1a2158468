"""PostgreSQL's trigram index is built off the archive's write path, as SQLite's is (0013)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 15:00:00

On PostgreSQL, inserting a version updated the ``pg_trgm`` GIN index over its normalised
text: 4.1 ms of server time of the 10.7 ms a report the archive writer waited for (30 ×
40 look-alike reports), while the writer, one connection doing one statement after another,
is what holds a crawl into PostgreSQL back (issue 19). A new version now carries
``search_indexed = false`` (the column's default, so no writer statement changes) and the
index is partial, ``WHERE search_indexed``: a new version costs the index nothing until it
is indexed, which :func:`models.search.index_pending` does in bulk (the writer when it has
a spare core, ``nianbao index``), and ``nianbao search`` scans the queued versions' text
besides asking the index, as on SQLite. The column is not in the models (like the index
itself, ``alembic/env.py``): it exists on PostgreSQL only. Every existing version is
indexed already (``true``). Downgrading restores the full index; nothing is lost.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRGM = "ix_versions_norm_text_trgm"
QUEUE = "ix_versions_search_queue"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Existing rows take the first default without a rewrite; new rows the second.
    op.execute("ALTER TABLE versions ADD COLUMN search_indexed boolean NOT NULL DEFAULT true")
    op.execute("ALTER TABLE versions ALTER COLUMN search_indexed SET DEFAULT false")
    op.execute(f"DROP INDEX IF EXISTS {TRGM}")
    op.execute(
        f"CREATE INDEX {TRGM} ON versions USING gin (norm_text gin_trgm_ops) WHERE search_indexed"
    )
    op.execute(f"CREATE INDEX {QUEUE} ON versions (id) WHERE NOT search_indexed")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {QUEUE}")
    op.execute(f"DROP INDEX IF EXISTS {TRGM}")
    op.execute("ALTER TABLE versions DROP COLUMN search_indexed")
    op.execute(f"CREATE INDEX {TRGM} ON versions USING gin (norm_text gin_trgm_ops)")
