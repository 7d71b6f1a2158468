"""Full-text search over the versions' normalised text.

Chinese has no spaces between words, so the index is over character trigrams: SQLite's
FTS5 ``trigram`` tokenizer (the ``versions_fts`` table of migration 0002) and PostgreSQL's
``pg_trgm`` GIN index, which serves ``LIKE '%…%'``. The query goes through the same
:func:`pipelines.normalize.normal_form` as the text (simplified script, NFKC, no
whitespace), so 「政府資訊」 finds 政府资讯 and full-width digits match half-width.
A trigram index cannot answer fewer than 3 characters; those fall back to a scan with
``LIKE`` (slow on a large archive, but correct), as does every query on a SQLite without
the trigram tokenizer (see migration 0002).

A new version is queued for the index rather than indexed as it is written: on SQLite in
``versions_fts_pending`` (migration 0013; indexing was a third of the archive writer's
CPU), on PostgreSQL by ``versions.search_indexed = false`` under a partial GIN index
(migration 0015; the index's upkeep was 40 % of what the writer waited for).
:func:`index_pending` empties the queue (the crawl's writer calls it when the machine has
a spare core, ``nianbao index`` on demand), and a search scans the queued versions' text
besides asking the index, so what it finds never depends on the queue.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from nianbao.errors import NianbaoError
from nianbao.models.tables import Report, Source, Version
from nianbao.pipelines.normalize import normal_form

SNIPPET = 30  # characters either side of the first hit


class SearchError(NianbaoError, ValueError):
    """The query cannot be searched (empty after normalisation)."""


def _like_pattern(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _has_table(session: Session, name: str) -> bool:
    """Migration 0002 creates ``versions_fts`` only where SQLite has the trigram tokenizer,
    and 0013 its queue ``versions_fts_pending`` only beside it."""
    return bool(
        session.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"),
            {"name": name},
        ).first()
    )


def _has_queue(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite" and _has_table(
        session, "versions_fts_pending"
    )


# PostgreSQL's queue (migration 0015): the versions the partial trigram index leaves out.
_PG_QUEUED = "SELECT id FROM versions WHERE NOT search_indexed"


def pending(session: Session) -> int:
    """How many versions wait for the search index (0 on a SQLite without one)."""
    if session.get_bind().dialect.name == "postgresql":
        return int(session.execute(text(f"SELECT count(*) FROM ({_PG_QUEUED}) q")).scalar() or 0)
    if not _has_queue(session):
        return 0
    return int(session.execute(text("SELECT count(*) FROM versions_fts_pending")).scalar() or 0)


def index_pending(session: Session, limit: int | None = None) -> int:
    """Index up to ``limit`` (all: None) queued versions, oldest first, in the caller's
    transaction; returns how many. On SQLite one ``INSERT … SELECT`` for the lot: FTS5
    writes them as one segment, where a write per version (each in its savepoint) made one
    each. On PostgreSQL one ``UPDATE`` marks them indexed, which enters them into the
    partial GIN index; ``SKIP LOCKED``: versions another writer is indexing are its own."""
    if session.get_bind().dialect.name == "postgresql":
        chosen = f"{_PG_QUEUED} ORDER BY id" + ("" if limit is None else " LIMIT :n")
        done = session.execute(
            text(
                "UPDATE versions SET search_indexed = true "
                f"WHERE id IN ({chosen} FOR UPDATE SKIP LOCKED)"
            ),
            {"n": limit},
        )
        return int(done.rowcount or 0)  # type: ignore[attr-defined]
    if not _has_queue(session):
        return 0
    queued = "SELECT version_id FROM versions_fts_pending ORDER BY version_id" + (
        "" if limit is None else " LIMIT :n"
    )
    session.execute(
        text(
            "INSERT INTO versions_fts(rowid, norm_text) SELECT id, norm_text FROM versions "
            f"WHERE id IN ({queued})"
        ),
        {"n": limit},
    )
    done = session.execute(
        text(f"DELETE FROM versions_fts_pending WHERE version_id IN ({queued})"), {"n": limit}
    )
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


def _matching_ids(session: Session, term: str) -> list[int]:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite" and len(term) >= 3 and _has_table(session, "versions_fts"):
        # A quoted FTS5 string is a phrase: with the trigram tokenizer, a substring match.
        phrase = '"' + term.replace('"', '""') + '"'
        found = [
            r[0]
            for r in session.execute(
                text("SELECT rowid FROM versions_fts WHERE versions_fts MATCH :q"), {"q": phrase}
            )
        ]
        if _has_queue(session):  # and the versions not indexed yet, by their text
            found += session.scalars(
                text(
                    "SELECT v.id FROM versions_fts_pending p JOIN versions v "
                    "ON v.id = p.version_id WHERE v.norm_text LIKE :pat ESCAPE '\\'"
                ),
                {"pat": _like_pattern(term)},
            )
        return found
    pattern = _like_pattern(term)
    if dialect == "postgresql":
        # The partial GIN trigram index serves the indexed versions (3+ characters; shorter
        # terms scan), and the queue's own index the versions still waiting (migration 0015).
        return list(
            session.scalars(
                text(
                    "SELECT id FROM versions WHERE search_indexed AND norm_text LIKE :pat "
                    "UNION ALL SELECT id FROM versions WHERE NOT search_indexed "
                    "AND norm_text LIKE :pat"
                ),
                {"pat": pattern},
            )
        )
    # SQLite without the trigram tokenizer, and short queries.
    return list(session.scalars(select(Version.id).where(Version.norm_text.like(pattern, "\\"))))


def published_snippet(text: str, norm_text: str, at: int, length: int) -> str | None:
    """The hit at ``norm_text[at:at + length]`` with :data:`SNIPPET` characters either side,
    cut from the text as published (its script, its spacing collapsed), or None when the
    published text does not map onto the normal form character by character."""
    starts: list[int] = []  # index in text of each character of the normal form
    pieces: list[str] = []
    end = at + length + SNIPPET  # no need to map the text beyond the snippet
    for i, ch in enumerate(text):
        piece = normal_form(ch)
        starts.extend([i] * len(piece))
        pieces.append(piece)
        if len(starts) >= end:
            break
    mapped = "".join(pieces)
    if at < 0 or at + length > len(starts) or mapped != norm_text[: len(mapped)]:
        return None
    lo = starts[max(at - SNIPPET, 0)]
    hi = starts[min(at + length - 1 + SNIPPET, len(starts) - 1)]
    return " ".join(text[lo : hi + 1].split())


def search(session: Session, query: str, limit: int = 100) -> list[dict[str, Any]]:
    """Every version whose normalised text contains ``query``, newest report first."""
    term = normal_form(query)
    if not term:
        raise SearchError("the search text is empty")
    ids = _matching_ids(session, term)
    if not ids:
        return []
    rows = session.execute(
        select(Version, Report, Source.name)
        .join(Report, Report.id == Version.report_id)
        .join(Source, Source.id == Report.source_id)
        .where(Version.id.in_(ids))
        .order_by(Report.id.desc(), Version.n.desc())
        .limit(limit)
    ).all()
    report_ids = {r.id for _v, r, _s in rows}
    latest: dict[Any, Any] = dict(
        session.execute(
            select(Version.report_id, func.max(Version.n))
            .where(Version.report_id.in_(report_ids))
            .group_by(Version.report_id)
        ).all()
    )
    out = []
    for v, r, source in rows:
        at = v.norm_text.find(term)
        start = max(at - SNIPPET, 0)
        out.append(
            {
                "report_id": r.id,
                "version": v.n,
                "current": latest.get(r.id) == v.n,
                "source": source,
                "organ": r.organ,
                "year": r.year,
                "title": v.title,
                "url": v.url,
                "first_seen": v.first_seen.isoformat(),
                "last_seen": v.last_seen.isoformat(),
                "withdrawn": r.withdrawn_at is not None,
                "snippet": published_snippet(v.text, v.norm_text, at, len(term))
                or v.norm_text[start : at + len(term) + SNIPPET],
            }
        )
    return out
