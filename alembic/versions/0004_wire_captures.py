"""wire captures: the exchange as sent and received; list pages kept as evidence

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 19:20:00

Captures gain what an auditor (and a WARC writer) needs: the protocol, the reason phrase,
the request and response heads byte for byte, the peer address, the TLS certificate's
fingerprint, and ``body_form``: ``wire`` (the body as received, before content decoding)
for new captures, ``decoded`` for every capture made before this revision (only the
decoded entity was kept then, and saying so is the honest answer).

The page cache table ``pages`` (the latest copy of each non-report page, overwritten when it
changed) becomes captures of kind ``page``: each cached copy is moved into ``blobs`` and one
capture (``body_form = decoded``, note "from the page cache"), so what it proved is kept and
list pages are evidence from now on. Downgrading rebuilds ``pages`` from the latest page
capture of each URL and drops the new columns (the page captures stay, as plain captures).
"""

import hashlib
import zlib
from collections.abc import Sequence

import sqlalchemy as sa

import nianbao.models.types
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _new() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("body_form", sa.String(length=10), nullable=False, server_default="decoded"),
        sa.Column("protocol", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("request_head", sa.Text(), nullable=True),
        sa.Column("response_head", sa.Text(), nullable=True),
        sa.Column("remote_ip", sa.String(length=64), nullable=True),
        sa.Column("remote_port", sa.Integer(), nullable=True),
        sa.Column("cert_sha256", sa.String(length=64), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("captures") as batch:
        for column in _new():
            batch.add_column(column)
    bind = op.get_bind()
    pages_t = sa.table(
        "pages",
        sa.column("id", sa.Integer),
        sa.column("source_id", sa.Integer),
        sa.column("url", sa.String),
        sa.column("fetched_at", nianbao.models.types.UTCDateTime(timezone=True)),
        sa.column("etag", sa.String),
        sa.column("last_modified", sa.String),
        sa.column("content_type", sa.String),
        sa.column("body", sa.LargeBinary),
    )
    pages = bind.execute(
        sa.select(
            pages_t.c.source_id,
            pages_t.c.url,
            pages_t.c.fetched_at,
            pages_t.c.etag,
            pages_t.c.last_modified,
            pages_t.c.content_type,
            pages_t.c.body,
        ).order_by(pages_t.c.id)
    ).all()
    blobs = sa.table(
        "blobs",
        sa.column("sha256", sa.String),
        sa.column("size", sa.BigInteger),
        sa.column("compression", sa.String),
        sa.column("data", sa.LargeBinary),
    )
    captures = sa.table(
        "captures",
        sa.column("source_id", sa.Integer),
        sa.column("url", sa.Text),
        sa.column("fetched_at", nianbao.models.types.UTCDateTime(timezone=True)),
        sa.column("status", sa.Integer),
        sa.column("headers", nianbao.models.types.JSONType),
        sa.column("body_sha256", sa.String),
        sa.column("kind", sa.String),
        sa.column("note", sa.Text),
        sa.column("body_form", sa.String),
    )
    for source_id, url, fetched_at, etag, last_modified, content_type, data in pages:
        body = zlib.decompress(data)
        digest = hashlib.sha256(body).hexdigest()
        known = bind.execute(
            sa.text("SELECT 1 FROM blobs WHERE sha256 = :d"), {"d": digest}
        ).first()
        if known is None:
            bind.execute(
                blobs.insert().values(
                    sha256=digest, size=len(body), compression="zlib", data=bytes(data)
                )
            )
        headers = {
            name: [value]
            for name, value in (
                ("Content-Type", content_type),
                ("ETag", etag),
                ("Last-Modified", last_modified),
            )
            if value
        }
        bind.execute(
            captures.insert().values(
                source_id=source_id,
                url=url,
                fetched_at=fetched_at,
                status=200,
                headers=headers,
                body_sha256=digest,
                kind="page",
                note="from the page cache (only the decoded page was kept)",
                body_form="decoded",
            )
        )
    op.drop_table("pages")
    with op.batch_alter_table("captures") as batch:
        batch.alter_column("body_form", server_default="wire")


def downgrade() -> None:
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
    with op.batch_alter_table("captures") as batch:
        for column in _new():
            batch.drop_column(column.name)
