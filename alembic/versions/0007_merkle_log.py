"""the archive's append-only Merkle tree log (issue 15)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 19:50:00

One leaf per capture, version and report (``models/log.py``), appended by the writers in
the row's own transaction from now on. Archives made before this revision get a leaf for
every existing row here (reports, then versions, then captures, each by id), so ``verify``
can check them from now on; what was changed before this migration ran cannot be told.
Downgrading drops the log and with it all tamper evidence.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "log_leaves",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("leaf_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_log_leaves")),
    )
    op.create_index("ix_log_leaves_kind_row_id", "log_leaves", ["kind", "row_id"])
    from nianbao.models import log

    log.backfill(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_log_leaves_kind_row_id", table_name="log_leaves")
    op.drop_table("log_leaves")
