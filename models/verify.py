"""Re-hash everything the archive holds, check every row against the archive's log.

An audit archive's evidence is only as good as its integrity. Three checks:

* every raw body must still hash to the SHA-256 it is filed under (after decompression,
  with the recorded size), and every version's normalised text to the version's ``sha256``;
* every capture, version and report must match the latest leaf the archive's Merkle log
  (:mod:`models.log`) holds for it, every leaf's row must still exist, every row must have
  a leaf, and every body a capture names must be there: this catches edits that keep the
  hashes consistent, deletions, back-dated times, repointed bodies;
* each signed checkpoint given (:mod:`models.checkpoint`) must verify and its root must be
  the root of today's log at the checkpoint's size, so even a rewrite of the log itself
  is caught for everything logged before the checkpoint.

Keys are paged, rows loaded a page at a time (a raw body one at a time: it can be a 30 MB
attachment), so memory stays flat on a large archive, apart from the log's leaf hashes.
A row that cannot even be read (invalid UTF-8 written into a text column) is reported,
never a crash. Nothing is repaired: a mismatch is for a human. One problem per damaged
row, naming it, with every reason found.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from nianbao.models import log, merkle
from nianbao.models.archive import body_digest
from nianbao.models.checkpoint import Checkpoint
from nianbao.models.tables import Blob, Report, Version
from nianbao.pipelines.fingerprint import norm_hash

BATCH = 1000  # keys per page
T = TypeVar("T", Blob, Version)


@dataclass
class Problem:
    kind: str  # blob, version, capture, report, log, checkpoint
    key: str  # blob sha256, "report/n" (a version), an id, a checkpoint file
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "key": self.key, "detail": self.detail}


@dataclass
class VerifyResult:
    blobs: int = 0
    versions: int = 0
    captures: int = 0
    reports: int = 0
    log_size: int = 0
    log_root: str = ""
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    # Rows logged before a checkpoint and re-logged after it (reprocess, or by hand): not
    # damage by themselves, but never silent.
    notes: list[str] = field(default_factory=list)
    _index: dict[tuple[str, str], Problem] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, key: str, detail: str) -> None:
        """One problem per damaged row: a second reason joins the first."""
        known = self._index.get((kind, key))
        if known is not None:
            known.detail += f"; {detail}"
            return
        problem = Problem(kind, key, detail)
        self._index[(kind, key)] = problem
        self.problems.append(problem)


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


def _why(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).splitlines()[0][:200]


def verify(session: Session, checkpoints: Sequence[tuple[str, Checkpoint]] = ()) -> VerifyResult:
    result = VerifyResult()
    fts = _has_fts(session)
    # Versions queued for the index (migration 0013) are not in it yet, rightly.
    queued = (
        set(session.scalars(text("SELECT version_id FROM versions_fts_pending"))) if fts else set()
    )
    for sha in _keys(session, Blob.sha256):
        result.blobs += 1
        try:
            blob = _one(session, Blob, sha)
        except Exception as exc:  # a damaged row is a finding, not a crash
            session.rollback()
            result.add("blob", str(sha), f"unreadable: {_why(exc)}")
            continue
        why = check_blob(blob)
        if why:
            result.add("blob", blob.sha256, why)
        session.expunge(blob)
    for vid in _keys(session, Version.id):
        result.versions += 1
        try:
            version = _one(session, Version, vid)
        except Exception as exc:
            session.rollback()
            result.add("version", f"v{vid}", f"unreadable: {_why(exc)}")
            continue
        why = check_version(version) or (
            check_search_index(session, version) if fts and vid not in queued else None
        )
        if why:
            result.add("version", f"{version.report_id}/{version.n}", why)
        session.expunge(version)
    check_log(session, result, checkpoints)
    return result


def _rows(session: Session, kind: str, ids: list[int], result: VerifyResult) -> dict[int, Any]:
    """A page of rows; if the page cannot be read, row by row, naming the unreadable ones."""
    try:
        return log.load_rows(session, kind, ids)
    except Exception:
        session.rollback()
    rows: dict[int, Any] = {}
    for rid in ids:
        try:
            rows.update(log.load_rows(session, kind, [rid]))
        except Exception as exc:
            session.rollback()
            result.add(kind, _name(kind, {"id": rid}), f"unreadable: {_why(exc)}")
    return rows


def _name(kind: str, row: Any) -> str:
    if kind == "version" and "report_id" in row:
        return f"{row['report_id']}/{row['n']}"
    return f"v{row['id']}" if kind == "version" else str(row["id"])


def _missing_blobs(session: Session, shas: set[str]) -> set[str]:
    if not shas:
        return set()
    found = set(session.scalars(select(Blob.sha256).where(Blob.sha256.in_(sorted(shas)))))
    return shas - found


def _titles(session: Session, report_ids: list[int]) -> dict[int, tuple[Any, Any]]:
    """Report id → (its title, its latest version's title), for reports with versions."""
    last = (
        select(Version.report_id, func.max(Version.n).label("n"))
        .where(Version.report_id.in_(report_ids))
        .group_by(Version.report_id)
        .subquery()
    )
    try:
        rows = session.execute(
            select(Report.id, Report.title, Version.title)
            .join(last, last.c.report_id == Report.id)
            .join(Version, (Version.report_id == Report.id) & (Version.n == last.c.n))
        ).all()
    except Exception:  # an unreadable row: reported by the row checks
        session.rollback()
        return {}
    return {rid: (mine, latest) for rid, mine, latest in rows}


def check_log(
    session: Session, result: VerifyResult, checkpoints: Sequence[tuple[str, Checkpoint]] = ()
) -> None:
    """Every row against its latest leaf, every leaf against its row, the checkpoints."""
    hashes: list[bytes] = []
    latest: dict[tuple[str, int], tuple[int, str]] = {}
    first: dict[tuple[str, int], int] = {}
    first_leaf: dict[tuple[str, int], str] = {}
    count: dict[tuple[str, int], int] = {}
    for position, (idx, kind, row_id, leaf) in enumerate(log.all_leaves(session)):
        if idx != position and not any(p.kind == "log" for p in result.problems):
            result.add("log", str(position), f"leaf {position} is missing (the next is {idx})")
        try:
            digest = bytes.fromhex(leaf)
            if len(digest) != 32:
                raise ValueError("not 32 bytes")
        except ValueError as exc:
            result.add("log", str(idx), f"leaf hash {leaf!r} is malformed ({exc})")
            digest = b""
        hashes.append(digest)
        key = (kind, row_id)
        latest[key] = (idx, leaf)
        first.setdefault(key, idx)
        first_leaf.setdefault(key, leaf)
        count[key] = count.get(key, 0) + 1
    result.log_size = len(hashes)
    result.log_root = merkle.root(hashes).hex()
    seen: set[tuple[str, int]] = set()
    missing: set[str] = set()
    titles: dict[int, tuple[Any, Any]] = {}
    for kind in ("report", "version", "capture"):
        table = log.TABLES[kind].__table__
        for ids in _pages(session, table.c.id):
            rows = _rows(session, kind, ids, result)
            if kind == "capture":
                result.captures += len(ids)
                shas = {r["body_sha256"] for r in rows.values() if r["body_sha256"]}
                missing = _missing_blobs(session, shas)
            elif kind == "report":
                result.reports += len(ids)
                titles = _titles(session, ids)
            for rid in ids:
                seen.add((kind, rid))
                row = rows.get(rid)
                if row is None:
                    continue
                name = _name(kind, row)
                entry = latest.get((kind, rid))
                if entry is None:
                    result.add(kind, name, "not in the archive's log (written behind its back)")
                elif log.leaf_of(kind, row) != entry[1]:
                    result.add(kind, name, f"does not match its log entry (leaf {entry[0]})")
                times = count.get((kind, rid), 0)
                if (
                    kind == "capture"
                    and times > 1
                    and not (
                        times == 2 and log.relogged_for_optional(kind, row, first_leaf[(kind, rid)])
                    )
                ):
                    result.add(
                        kind, name, f"logged {count[(kind, rid)]} times (captures never change)"
                    )
                if kind == "capture" and row["body_sha256"] in missing:
                    result.add(kind, name, f"its raw body {row['body_sha256']} is missing")
                if kind == "report" and rid in titles and titles[rid][0] != titles[rid][1]:
                    result.add(kind, name, "its title is not its latest version's title")
    for (kind, rid), (idx, _leaf) in latest.items():
        if (kind, rid) not in seen:
            result.add(
                kind,
                f"v{rid}" if kind == "version" else str(rid),
                f"deleted (logged as leaf {idx})",
            )
    for where, cp in checkpoints:
        result.checkpoints += 1
        if not cp.signature_ok():
            result.add("checkpoint", where, "its signature does not verify")
        elif cp.size > len(hashes):
            result.add(
                "checkpoint",
                where,
                f"signed a log of {cp.size} leaves; the log has {len(hashes)}: leaves were removed",
            )
        elif merkle.root(hashes[: cp.size]).hex() != cp.root:
            result.add(
                "checkpoint",
                where,
                f"the log's first {cp.size} leaves no longer hash to the signed root: "
                "rows logged before it were rewritten",
            )
        else:
            for (kind, rid), (idx, _leaf) in sorted(latest.items()):
                if first[(kind, rid)] < cp.size <= idx:
                    result.notes.append(
                        f"{kind} {_name(kind, {'id': rid})} changed after checkpoint {where}"
                        f" (re-logged as leaf {idx})"
                    )


def _pages(session: Session, key: Any) -> Iterator[list[int]]:
    page: list[int] = []
    for value in _keys(session, key):
        page.append(value)
        if len(page) >= BATCH:
            yield page
            page = []
    if page:
        yield page
