"""page cache: the latest copy of each non-report page, for conditional recrawls

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 01:47:28.854028

A cache, not evidence (see ``models.tables.Page``): downgrading drops it and loses nothing
an auditor relies on; the next crawl downloads those pages whole again.
"""

from collections.abc import Sequence

import sqlalchemy as sa

import nianbao.models.types
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("fetched_at", nianbao.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("etag", sa.String(length=200), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_pages_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pages")),
        sa.UniqueConstraint("source_id", "url", name=op.f("uq_pages_source_id")),
    )


def downgrade() -> None:
    op.drop_table("pages")
