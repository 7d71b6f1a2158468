"""near-duplicate linking can be put off by a writer that falls behind

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 11:30:00

Comparing a new version with its look-alikes (``models.neardup``: up to 200 candidates
read, ranked and the nearest confirmed exactly) was 45 % of the archive writer's CPU on a
county's look-alike reports, and the writer is what holds a saturated crawl back on two
cores (issue 19). A writer with more jobs waiting than one still stores the version's
signature and band keys (so later versions find it as a candidate) and queues the version
in ``version_links_pending``; the queue is worked off when the writer has a core to spare,
or by ``nianbao index``. A queued version is compared with the versions stored before it,
as it would have been when it was written. The queue starts empty: every existing version
was linked when it was stored. The downgrade refuses while versions are queued (their
links would never be found): ``nianbao index`` first.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "version_links_pending",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_version_links_pending_version_id_versions"),
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_version_links_pending")),
    )


def downgrade() -> None:
    queued = op.get_bind().execute(sa.text("SELECT count(*) FROM version_links_pending")).scalar()
    if queued:
        raise RuntimeError(
            f"{queued} versions still wait for their near-duplicate links: "
            "run `nianbao index` before downgrading below 0014"
        )
    op.drop_table("version_links_pending")
