"""figures: the statistics tables of each version as cells

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 19:40:00

One row per table cell (表二/三/四 of the 2019 and 2021 formats, the pre-2019 统计表) of
each version, parsed from the clean text by ``pipelines/figures.py``; ``value`` NULL is a
blank cell. Filled when a version is stored and by ``nianbao reprocess`` (which fills it
for versions archived before this revision).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("tbl", sa.String(length=10), nullable=False),
        sa.Column("row_label", sa.Text(), nullable=False),
        sa.Column("col_label", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("raw", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_figures_version_id_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_figures")),
    )
    with op.batch_alter_table("figures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_figures_version_id"), ["version_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("figures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_figures_version_id"))
    op.drop_table("figures")
