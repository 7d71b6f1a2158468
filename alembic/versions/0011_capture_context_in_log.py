"""a capture's context is part of its log leaf

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 23:20:00

``captures.context`` (0010) holds the crawl's context of a capture and, for a form POST
(JCMS dataproxy, Epoint list APIs), the form that was sent: part of the request we made.
The log's capture leaf (0007) was fixed before that column existed, so editing it went
unnoticed by ``verify``. The leaf now includes ``context`` whenever it is set (leaves of
captures without one are unchanged); this appends a new leaf for every capture that has a
context, as any legitimate change of logged state does, so ``verify`` checks it from here
on and lists those rows as re-logged after an older checkpoint. Downgrading leaves the
extra leaves in place: the log is append-only, and the older code then reports those
captures as not matching their latest leaf.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    captures = sa.table("captures", sa.column("id", sa.Integer), sa.column("context"))
    from nianbao.models import log

    last = 0
    while True:
        ids = [
            row[0]
            for row in bind.execute(
                sa.select(captures.c.id)
                .where(captures.c.id > last, captures.c.context.is_not(None))
                .order_by(captures.c.id)
                .limit(500)
            )
        ]
        if not ids:
            break
        log.relog(bind, "capture", ids)
        last = ids[-1]


def downgrade() -> None:
    pass
