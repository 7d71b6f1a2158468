"""a version's table cells can be parsed later, by a writer that falls behind

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 19:10:00

Parsing a report's statistics tables into cells (``pipelines.figures``) and inserting
them (one row a cell: 100-200 on a 2021-format report) cost the archive writer as much as
the rest of storing the report, on the two cores a saturated crawl shares (issue 19).
A writer that is behind now queues the version in ``figures_pending`` instead, as it queues
the near-duplicate comparison (0014); the queue is worked off when the writer has a core
to spare, or by ``nianbao index``, and until then the figures commands parse a queued
version's text as they answer (the cells are derived from the text, which is stored).
The queue starts empty: every existing version's cells were stored with it. The downgrade
refuses while versions are queued (their cells would never be stored): ``nianbao index``
first.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "figures_pending",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_figures_pending_version_id_versions")
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_figures_pending")),
    )


def downgrade() -> None:
    queued = op.get_bind().execute(sa.text("SELECT count(*) FROM figures_pending")).scalar()
    if queued:
        raise RuntimeError(
            f"{queued} versions still wait for their table cells: "
            "run `nianbao index` before downgrading below 0016"
        )
    op.drop_table("figures_pending")
