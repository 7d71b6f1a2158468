"""near-duplicate candidates from the band index alone

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 01:40:00

A new version's near-duplicate candidates are the versions sharing one of its LSH band
keys (``models.neardup._candidates``). Look-alike reports (a county's template) share
most of their 42 bands, so the look-up reads ~42 index entries per candidate, and with
the index on ``key`` alone each entry cost a second B-tree search in ``version_bands`` for
its ``version_id`` (SQLite: the index holds the rowid). The index on ``(key, version_id)``
answers the look-up by itself (6.3 → 0.6 ms at 200 look-alikes, SQLite) and serves every
look-up by ``key`` the old one served, which it replaces. Nothing stored changes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_version_bands_key_version", "version_bands", ["key", "version_id"], unique=False
    )
    op.drop_index("ix_version_bands_key", table_name="version_bands")


def downgrade() -> None:
    op.create_index("ix_version_bands_key", "version_bands", ["key"], unique=False)
    op.drop_index("ix_version_bands_key_version", table_name="version_bands")
