"""The archive's tables.

sources ─< crawl_runs
sources ─< reports ─< versions
                 └─< report_urls            (every address a report was seen at)
captures (every response handed to the archive) → blobs (raw bodies, once per sha256)
captures → report, version                   (which version a capture showed)
captures of kind "page": column lists and other non-report pages, whenever their bytes
change (their latest capture per URL is what a recrawl asks for conditionally)

Outside these models (created by migration 0002 per backend, see ``alembic/env.py``):
``versions_fts`` (SQLite FTS5, trigram tokenizer, over ``versions.norm_text``) and the
PostgreSQL ``pg_trgm`` GIN index ``ix_versions_norm_text_trgm``: both serve ``nianbao search``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from nianbao.models.types import JSONType, UTCDateTime

# Named constraints so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


class Source(Base):
    """A portal an operator asked us to crawl (one ``[[sources]]`` entry)."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    organ: Mapped[str | None] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class CrawlRun(Base):
    """One crawl of one source: when, what it found, how it ended."""

    __tablename__ = "crawl_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")  # running/ok/failed/...
    # Who ran it, so a later run can tell a crashed run ("running", process gone) from a live one.
    host: Mapped[str | None] = mapped_column(String(200))
    pid: Mapped[int | None] = mapped_column(Integer)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    errors: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Blob(Base):
    """A response body, stored once per SHA-256 of its bytes.

    For captures with ``body_form = "wire"`` those bytes are the body as the server sent it
    (after transfer decoding, before content decoding: what WARC calls the payload), so the
    key is WARC's payload digest. ``compression`` is only how the archive stores them.
    """

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    compression: Mapped[str] = mapped_column(String(10))  # "zlib" or "none"
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Report(Base):
    """One document of one publisher: (source, organ, year), or its URL when those are unknown."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("source_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    key: Mapped[str] = mapped_column(String(500))
    organ: Mapped[str | None] = mapped_column(String(200))
    year: Mapped[int | None] = mapped_column(Integer, index=True)
    title: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)  # where the latest version was captured
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    # Why: "gone" (the URL answered 404/410) or "unlinked" (no longer linked from the portal).
    withdrawn_reason: Mapped[str | None] = mapped_column(String(20))
    # The portal page (a column list) that last linked to it or to its landing page: when a
    # later crawl fetches that page and finds no link any more, the report was unlinked.
    linked_from: Mapped[str | None] = mapped_column(Text)
    versions: Mapped[list[Version]] = relationship(
        back_populates="report", order_by="Version.n", cascade="all, delete-orphan"
    )


class ReportUrl(Base):
    """Every address a report was seen at (reports move)."""

    __tablename__ = "report_urls"
    __table_args__ = (
        UniqueConstraint("report_id", "url"),
        # Hash on PostgreSQL: URLs can exceed a btree entry's size limit.
        Index("ix_report_urls_url", "url", postgresql_using="hash"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]


class Version(Base):
    """A distinct normalised text of a report, and when it was current."""

    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("report_id", "n"),
        Index("ix_versions_sha256", "sha256"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    n: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    organ: Mapped[str | None] = mapped_column(String(200))
    year: Mapped[int | None] = mapped_column(Integer)
    published: Mapped[str | None] = mapped_column(String(10))  # ISO date the page states
    text: Mapped[str] = mapped_column(Text)  # clean text, published script
    norm_text: Mapped[str] = mapped_column(Text)  # normalised form (hash, search)
    url: Mapped[str] = mapped_column(Text)  # where it was first captured
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    cleaner_version: Mapped[str] = mapped_column(String(20))
    meta: Mapped[dict[str, Any]] = mapped_column(
        default=dict
    )  # 索引号, 文号, encoding, kind, landing page
    removed: Mapped[dict[str, Any]] = mapped_column(
        default=dict
    )  # {"items": [{stage, rule, text}]}
    flags: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"items": ["scanned_pdf", ...]}
    report: Mapped[Report] = relationship(back_populates="versions")


class Capture(Base):
    """One exchange handed to the archive: the evidence of where, when and what was said.

    ``headers`` is the response headers as ``{name: [values]}`` (Scrapy's view, kept for
    lookups); ``response_head`` and ``request_head`` are the status line and header lines
    received, and the request line and header lines sent, byte for byte (stored as
    Latin-1 text, which maps every byte to one character and back). ``body_form`` says what
    the blob holds: ``wire`` (the body as received, before content decoding) or
    ``decoded`` (captures made before wire capture: only the decoded entity was kept).
    """

    __tablename__ = "captures"
    __table_args__ = (Index("ix_captures_url", "url", postgresql_using="hash"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime]
    status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    # report / not_modified / gone / blocked / page (a non-report page: list, column, home)
    kind: Mapped[str] = mapped_column(String(20))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), index=True)
    landing_url: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    body_form: Mapped[str] = mapped_column(String(10), default="wire")
    protocol: Mapped[str | None] = mapped_column(String(16))  # "HTTP/1.1"
    reason: Mapped[str | None] = mapped_column(String(200))  # the status line's phrase
    request_head: Mapped[str | None] = mapped_column(Text)
    response_head: Mapped[str | None] = mapped_column(Text)
    remote_ip: Mapped[str | None] = mapped_column(String(64))
    remote_port: Mapped[int | None] = mapped_column(Integer)
    cert_sha256: Mapped[str | None] = mapped_column(String(64))  # HTTPS: server cert (DER)
    # What the crawl saw around a report candidate and the cleaner uses: the landing page's
    # title and labelled fields, the link text (pipelines.derive.document_for).
    context: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class VersionSignature(Base):
    """A version's MinHash over the shingles of its normal form (``pipelines.neardup``)."""

    __tablename__ = "version_signatures"
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), primary_key=True)
    scheme: Mapped[str] = mapped_column(String(40))  # "minhash-k4-p126-r3-u16": re-sign on change
    minhash: Mapped[bytes] = mapped_column(LargeBinary)


class VersionBand(Base):
    """LSH: one row per band of a version's signature; versions sharing a key are candidates
    (the index on ``key, version_id`` finds them without reading the table: migration 0012)."""

    __tablename__ = "version_bands"
    __table_args__ = (Index("ix_version_bands_key_version", "key", "version_id"),)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), primary_key=True)
    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[int] = mapped_column(BigInteger)


class VersionLinkPending(Base):
    """A version signed (its MinHash and bands stored) whose look-alikes are not compared yet.

    A writer that falls behind a saturated crawl puts the comparison off (migration 0014):
    the queue is worked off when the writer has a core to spare or by ``nianbao index``
    (:func:`models.neardup.link_pending`), which finds the same links it would have found
    then: a version is compared with the versions stored before it, never after.
    """

    __tablename__ = "version_links_pending"
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), primary_key=True)


class FiguresPending(Base):
    """A version whose table cells are not parsed and stored yet (migration 0016): a writer
    behind a saturated crawl puts them off; :func:`models.figures.store_pending` stores them
    (the idle writer, ``nianbao index``) and :func:`models.figures.load` parses a queued
    version's text meanwhile, so readers see the same cells either way."""

    __tablename__ = "figures_pending"
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), primary_key=True)


class VersionLink(Base):
    """Two versions of different reports whose texts are near-duplicates, with the numbers.

    ``version_id`` is the version whose signing found the link (the later-stored one),
    ``other_id`` the one it resembles. ``kind``: ``copy_elsewhere`` (another source, same report), ``same_organ``
    (the organ's report of another year), ``other_organ`` (another organ's report).
    ``contained`` is the share of the version's shingles found in the other, and
    ``other_contained`` the reverse. ``substitutions`` lists replaced words (spun copies).
    """

    __tablename__ = "version_links"
    __table_args__ = (UniqueConstraint("version_id", "other_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    jaccard: Mapped[float] = mapped_column(Float)
    contained: Mapped[float] = mapped_column(Float)
    other_contained: Mapped[float] = mapped_column(Float)
    substitutions: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"items": [...]}
    found_at: Mapped[datetime]


class Figure(Base):
    """One cell of a version's statistics tables (表二/三/四, 统计表), parsed from its clean
    text by :mod:`pipelines.figures`. ``value`` NULL: the cell was blank (not reported).
    Derived data, like the text: re-derived in place by ``reprocess``."""

    __tablename__ = "figures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), index=True)
    tbl: Mapped[str] = mapped_column(String(10))  # 二 / 三 / 四 / 统计表
    row_label: Mapped[str] = mapped_column(Text)
    col_label: Mapped[str] = mapped_column(String(100))
    value: Mapped[float | None] = mapped_column(Float)
    raw: Mapped[str] = mapped_column(String(100))  # the cell as written
    unit: Mapped[str | None] = mapped_column(String(20))
    line: Mapped[int] = mapped_column(Integer)  # 1-based line of the version's text


class LogLeaf(Base):
    """One leaf of the archive's append-only Merkle tree log (:mod:`models.log`).

    ``idx`` is the leaf's position (0, 1, 2 … with no gaps); ``leaf_hash`` is the RFC 6962
    leaf hash (hex) of the canonical serialisation of row ``row_id`` of ``kind``
    (``capture``, ``version`` or ``report``) as it was written. Rows are only ever added.
    """

    __tablename__ = "log_leaves"
    __table_args__ = (Index("ix_log_leaves_kind_row_id", "kind", "row_id"),)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(10))
    row_id: Mapped[int] = mapped_column(Integer)
    leaf_hash: Mapped[str] = mapped_column(String(64))
