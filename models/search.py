"""Full-text search over the versions' normalised text.

Chinese has no spaces between words, so the index is over character trigrams: SQLite's
FTS5 ``trigram`` tokenizer (the ``versions_fts`` table of migration 0002) and PostgreSQL's
``pg_trgm`` GIN index, which serves ``LIKE '%…%'``. The query goes through the same
:func:`pipelines.normalize.normal_form` as the text (simplified script, NFKC, no
whitespace), so 「政府資訊」 finds 政府资讯 and full-width digits match half-width.
A trigram index cannot answer fewer than 3 characters; those fall back to a scan with
``LIKE`` (slow on a large archive, but correct), as does every query on a SQLite without
the trigram tokenizer (see migration 0002).
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


def _has_fts(session: Session) -> bool:
    """Migration 0002 creates ``versions_fts`` only where SQLite has the trigram tokenizer."""
    return bool(
        session.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'versions_fts'")
        ).first()
    )


def _matching_ids(session: Session, term: str) -> list[int]:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite" and len(term) >= 3 and _has_fts(session):
        # A quoted FTS5 string is a phrase: with the trigram tokenizer, a substring match.
        phrase = '"' + term.replace('"', '""') + '"'
        rows = session.execute(
            text("SELECT rowid FROM versions_fts WHERE versions_fts MATCH :q"), {"q": phrase}
        )
        return [r[0] for r in rows]
    # PostgreSQL (the GIN trigram index serves this for 3+ characters) and short queries.
    return list(
        session.scalars(select(Version.id).where(Version.norm_text.like(_like_pattern(term), "\\")))
    )


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
                "snippet": v.norm_text[start : at + len(term) + SNIPPET],
            }
        )
    return out
