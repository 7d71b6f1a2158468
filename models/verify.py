"""Re-hash everything the archive holds and report what does not match.

An audit archive's evidence is only as good as its integrity: every raw body must still
hash to the SHA-256 it is filed under (after decompression, with the recorded size), and
every version's normalised text to the version's ``sha256``. Keys are paged,
one row loaded at a time (a raw body can be a 30 MB attachment), so memory stays flat on
a large archive. Nothing is repaired: a mismatch is for a human.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from nianbao.models.archive import body_digest
from nianbao.models.tables import Blob, Version
from nianbao.pipelines.fingerprint import norm_hash

BATCH = 1000  # keys per page
T = TypeVar("T", Blob, Version)


@dataclass
class Problem:
    kind: str  # "blob" or "version"
    key: str  # blob sha256, or "report/n"
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "key": self.key, "detail": self.detail}


@dataclass
class VerifyResult:
    blobs: int = 0
    versions: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_blob(blob: Blob) -> str | None:
    """Why this blob is damaged, or None."""
    data = bytes(blob.data)
    if blob.compression == "zlib":
        try:
            data = zlib.decompress(data)
        except zlib.error as exc:
            return f"does not decompress: {exc}"
    elif blob.compression != "none":
        return f"unknown compression {blob.compression!r}"
    if len(data) != blob.size:
        return f"size {len(data)} != recorded {blob.size}"
    digest = body_digest(data)
    if digest != blob.sha256:
        return f"body hashes to {digest}"
    return None


def check_version(version: Version) -> str | None:
    digest = norm_hash(version.norm_text)
    if digest != version.sha256:
        return f"normalised text hashes to {digest}"
    return None


def _keys(session: Session, key: Any) -> Iterator[Any]:
    """Every value of a primary key, in keyset pages: no long-lived cursor, flat memory."""
    last = None
    while True:
        stmt = select(key)
        if last is not None:
            stmt = stmt.where(key > last)
        page = session.scalars(stmt.order_by(key).limit(BATCH)).all()
        if not page:
            return
        yield from page
        last = page[-1]


def _one(session: Session, model: type[T], key: Any) -> T:
    """Load one row and forget it after use: a raw body can be 30 MB (an attachment)."""
    row = session.get(model, key)
    assert row is not None
    return row


def _has_fts(session: Session) -> bool:
    if session.get_bind().dialect.name != "sqlite":
        return False  # PostgreSQL's trigram index is an ordinary index: always in step
    found = session.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'versions_fts'")
    ).first()
    return found is not None


def _probes(norm: str) -> list[str]:
    """Three trigrams of a text (start, middle, end) that its index entry must hold."""
    if len(norm) < 3:
        return []
    mid = len(norm) // 2 - 1
    return list(dict.fromkeys([norm[:3], norm[mid : mid + 3], norm[-3:]]))


def check_search_index(session: Session, version: Version) -> str | None:
    """Whether the SQLite FTS5 index finds this version by its own current text.

    Read-only (``verify`` never takes a write lock, so SQLite's own ``integrity-check``,
    which is a write statement, is not available): an index that missed an update of the
    text lacks the new text's trigrams.
    """
    for probe in _probes(version.norm_text or ""):
        quoted = '"' + probe.replace('"', '""') + '"'
        hit = session.execute(
            text("SELECT 1 FROM versions_fts WHERE versions_fts MATCH :q AND rowid = :id"),
            {"q": quoted, "id": version.id},
        ).first()
        if hit is None:
            return f"the search index does not find this version's text ({probe!r})"
    return None


def verify(session: Session) -> VerifyResult:
    result = VerifyResult()
    fts = _has_fts(session)
    for sha in _keys(session, Blob.sha256):
        blob = _one(session, Blob, sha)
        result.blobs += 1
        why = check_blob(blob)
        if why:
            result.problems.append(Problem("blob", blob.sha256, why))
        session.expunge(blob)
    for vid in _keys(session, Version.id):
        version = _one(session, Version, vid)
        result.versions += 1
        why = check_version(version) or (check_search_index(session, version) if fts else None)
        if why:
            result.problems.append(Problem("version", f"{version.report_id}/{version.n}", why))
        session.expunge(version)
    return result
