"""near-duplicates: MinHash signatures, LSH band keys and links between versions

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-29 19:45:00

Derived data (``pipelines.neardup``): a crawl signs each new version; ``nianbao reprocess``
signs the versions an archive already holds and finds their links. Downgrading drops the
tables and loses nothing that cannot be derived again.
"""

from collections.abc import Sequence

import sqlalchemy as sa

import nianbao.models.types
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "version_signatures",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=40), nullable=False),
        sa.Column("minhash", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_version_signatures_version_id_versions")
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_version_signatures")),
    )
    op.create_table(
        "version_bands",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_version_bands_version_id_versions")
        ),
        sa.PrimaryKeyConstraint("version_id", "band", name=op.f("pk_version_bands")),
    )
    op.create_index("ix_version_bands_key", "version_bands", ["key"], unique=False)
    op.create_table(
        "version_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("jaccard", sa.Float(), nullable=False),
        sa.Column("contained", sa.Float(), nullable=False),
        sa.Column("other_contained", sa.Float(), nullable=False),
        sa.Column("substitutions", nianbao.models.types.JSONType, nullable=False),
        sa.Column("found_at", nianbao.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["other_id"], ["versions.id"], name=op.f("fk_version_links_other_id_versions")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_version_links_version_id_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version_links")),
        sa.UniqueConstraint("version_id", "other_id", name=op.f("uq_version_links_version_id")),
    )
    op.create_index(
        op.f("ix_version_links_version_id"), "version_links", ["version_id"], unique=False
    )
    op.create_index(op.f("ix_version_links_other_id"), "version_links", ["other_id"], unique=False)


def downgrade() -> None:
    op.drop_table("version_links")
    op.drop_index("ix_version_bands_key", table_name="version_bands")
    op.drop_table("version_bands")
    op.drop_table("version_signatures")
