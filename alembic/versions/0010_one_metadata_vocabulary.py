"""one metadata vocabulary ("stated" is "published", "topic" is "category"); capture context

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-29 19:40:00

Two readers of the disclosure fields used two vocabularies, so one page could store both
``published`` and ``stated`` (the 发布时间 the page prints), both ``category`` and ``topic``
(主题分类). The readers now share pipelines.labels.FIELDS; this rewrites what versions
already hold: the printed 发布时间 becomes ``published`` (as the readers now decide: the
page's own label over a <meta name="PubDate">), 主题分类 becomes ``category``, and the same
for the ``landing_*`` copies an attachment inherits. Downgrading leaves the new names: the
old code reads ``published`` and ``category`` too.
"""

from collections.abc import Sequence

import sqlalchemy as sa

import nianbao.models.types
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RENAMED = {"stated": "published", "topic": "category"}  # as pipelines.labels.RENAMED
WINS = {"published"}  # the renamed key's value replaces the existing one


def renamed(meta: dict) -> dict | None:
    """``meta`` with the old names replaced, or None when nothing changes."""
    out = dict(meta)
    changed = False
    for prefix in ("", "landing_"):
        for old, new in RENAMED.items():
            if prefix + old not in out:
                continue
            value = out.pop(prefix + old)
            if new in WINS or prefix + new not in out:
                out[prefix + new] = value
            changed = True
    return out if changed else None


def upgrade() -> None:
    # The context a capture was cleaned in (landing page title and fields, link text), so
    # that reprocess derives exactly what the crawl did (pipelines.derive.document_for).
    with op.batch_alter_table("captures") as batch:
        batch.add_column(sa.Column("context", nianbao.models.types.JSONType, nullable=True))
    bind = op.get_bind()
    versions = sa.table(
        "versions", sa.column("id", sa.Integer), sa.column("meta", nianbao.models.types.JSONType)
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(versions.c.id, versions.c.meta)
            .where(versions.c.id > last)
            .order_by(versions.c.id)
            .limit(500)
        ).all()
        if not rows:
            break
        for vid, meta in rows:
            new = renamed(meta or {})
            if new is not None:
                bind.execute(versions.update().where(versions.c.id == vid).values(meta=new))
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("captures") as batch:
        batch.drop_column("context")
