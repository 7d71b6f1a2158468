"""The archive's append-only Merkle tree log: one leaf per capture, version and report.

Hashing raw bodies and texts (``verify``'s first job) cannot catch an edit that keeps the
hashes consistent, a deleted row, or a back-dated time. So every row that is evidence is
also a leaf of an RFC 6962 tree (:mod:`models.merkle`), appended **in the same transaction
as the row**: the leaf hash is ``SHA-256(0x00 ‖ canonical JSON of the row's fields that
matter)`` — sorted keys, UTF-8, no spaces; texts by their SHA-256. A signed tree head
(:mod:`models.checkpoint`) kept outside the archive then pins every leaf before it:
changing, removing or reordering any of them changes the root at that size.

What a leaf covers:

* ``capture``: every column (URL, ``fetched_at``, status, kind, headers, both heads as
  received/sent, ``body_sha256``, report and version ids, the exchange's addresses, and its
  ``context`` when it has one: the crawl's context, a POST's form). A capture is never
  changed, so it has one leaf (two if it was written before 0011 and has a context).
* ``version``: report id, n, the version's ``sha256``, SHA-256 of its ``text`` (what
  ``show`` prints) and ``norm_text``, title, organ, year, published, url, first_seen,
  cleaner version, meta, removals, flags — not ``last_seen``, which every sighting moves.
* ``report``: source, key, organ, year, first_seen — the report's identity; its title is
  checked against its latest version, and ``last_seen``/``url``/withdrawal are state that
  every crawl moves.

Rows that a writer legitimately changes get a **new leaf for the new state** (a URL-keyed
report that learns its organ and year; ``reprocess`` re-deriving a version); the old leaf
stays, so the history is in the log. ``verify`` checks each row against its latest leaf and
lists the rows re-logged after a checkpoint, so such a change is never silent.

Writers serialise appends: SQLite writers already hold the write lock (``BEGIN
IMMEDIATE``); on PostgreSQL a transaction-scoped advisory lock is taken before the next
index is read, released at commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, inspect, select, text
from sqlalchemy.orm import Session

from nianbao.models import merkle
from nianbao.models.tables import Capture, LogLeaf, Report, Version

FORMAT = 1  # bump (and keep the old reader) if the canonical form ever changes
APPEND_LOCK = 0x6E69616E6C6F67  # "nianlog": PostgreSQL advisory lock for appends

TABLES: dict[str, Any] = {"capture": Capture, "version": Version, "report": Report}
FIELDS: dict[str, tuple[str, ...]] = {
    "capture": (
        "id", "run_id", "source_id", "url", "fetched_at", "status", "headers", "body_sha256",
        "kind", "report_id", "version_id", "landing_url", "note", "body_form", "protocol",
        "reason", "request_head", "response_head", "remote_ip", "remote_port", "cert_sha256",
    ),
    "version": (
        "id", "report_id", "n", "sha256", "title", "organ", "year", "published", "text",
        "norm_text", "url", "first_seen", "cleaner_version", "meta", "removed", "flags",
    ),
    "report": ("id", "source_id", "key", "organ", "year", "first_seen"),
}  # fmt: skip
HASHED = {"text", "norm_text"}  # by their SHA-256: the leaf data stays small
# Columns added after a table's leaves were first defined: in the leaf only when set, so
# every leaf written before them still matches its row (0011 re-logged the rows that had
# one). ``captures.context`` (0010) is the crawl's context and, for a form POST, the form
# sent: part of "the request we made", so an edit to it must fail ``verify`` too.
OPTIONAL: dict[str, tuple[str, ...]] = {"capture": ("context",), "version": (), "report": ()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def _sha(value: str | None) -> str | None:
    if value is None:
        return None
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def canonical(kind: str, row: Mapping[str, Any], optional: bool = True) -> bytes:
    """The bytes a row's leaf hashes: canonical JSON of the fields that matter
    (``optional=False``: the form before the :data:`OPTIONAL` columns, for 0011's check)."""
    data: dict[str, Any] = {"log": FORMAT, "table": kind}
    for name in FIELDS[kind]:
        value = row[name]
        if name in HASHED:
            data[f"{name}_sha256"] = _sha(value)
        else:
            data[name] = _plain(value)
    for name in OPTIONAL[kind] if optional else ():
        if row.get(name) is not None:
            data[name] = _plain(row[name])
    out = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return out.encode("utf-8", "surrogatepass")


def leaf_of(kind: str, row: Mapping[str, Any], optional: bool = True) -> str:
    return merkle.leaf_hash(canonical(kind, row, optional)).hex()


def relogged_for_optional(kind: str, row: Mapping[str, Any], first_leaf: str) -> bool:
    """Whether a row's first leaf is its state before the optional columns were logged
    (0011 appended the second): the one legitimate second leaf of a capture."""
    has_optional = any(row.get(name) is not None for name in OPTIONAL[kind])
    return has_optional and leaf_of(kind, row, optional=False) == first_leaf


def columns(kind: str, conn: Any = None) -> list[Any]:
    """The columns a leaf reads. Inside a migration (``alembic/env.py`` marks its
    connection) an optional column is read only once a migration has added it."""
    table = TABLES[kind].__table__
    optional = OPTIONAL[kind]
    if optional and conn is not None and _migrating(conn):
        present = {c["name"] for c in inspect(conn).get_columns(table.name)}
        optional = tuple(name for name in optional if name in present)
    return [table.c[name] for name in (*FIELDS[kind], *optional)]


def _migrating(conn: Any) -> bool:
    connection = conn.connection() if isinstance(conn, Session) else conn
    return bool(getattr(connection, "info", {}).get("nianbao_migrating"))


def load_rows(conn: Any, kind: str, ids: Iterable[int]) -> dict[int, Mapping[str, Any]]:
    """Rows as stored (read back through the column types), by id."""
    wanted = list(ids)
    if not wanted:
        return {}
    read = columns(kind, conn)
    key = (kind, tuple(c.name for c in read))
    stmt = _LOADS.get(key)
    if stmt is None:  # built once: building the IN list each time cost more than the read
        ids = bindparam("ids", expanding=True)
        stmt = _LOADS[key] = select(*read).where(TABLES[kind].__table__.c.id.in_(ids))
    return {row["id"]: row for row in conn.execute(stmt, {"ids": wanted}).mappings()}


_LOADS: dict[tuple[str, tuple[str, ...]], Any] = {}


def _lock(conn: Any) -> None:
    dialect = conn.get_bind().dialect if hasattr(conn, "get_bind") else conn.dialect
    if dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": APPEND_LOCK})


def size(conn: Any) -> int:
    last = conn.execute(select(func.max(LogLeaf.idx))).scalar()
    return 0 if last is None else int(last) + 1


_DEFERRED = "nianbao_log_deferred"
# Kinds whose logged columns no writer job changes once the row is written (a capture is
# never changed; a version's logged columns only by ``reprocess``, which does not defer):
# while deferring, their leaves are computed at :func:`write_deferred`, one query a kind
# for the whole batch instead of one a row, from the same state. A report's key, organ and
# year change when a URL-keyed report learns them, in the same batch as its first leaf
# perhaps: its leaf is still computed at once.
_LATE = frozenset({"capture", "version"})
Pending = list[tuple[str, int, str | None]]


def defer(session: Session) -> Pending:
    """From now on in this session's transaction, :func:`append` computes each leaf from
    the row as stored at that moment (for the kinds whose logged columns nothing changes
    afterwards, :data:`_LATE`, at :func:`write_deferred`: the same state) but queues its
    insertion; the caller must call :func:`write_deferred` before committing. Returns the
    queue (a writer that rolls a savepoint back truncates it to its length before the
    savepoint)."""
    pending: Pending = []
    session.info[_DEFERRED] = pending
    return pending


def write_deferred(session: Session) -> list[int]:
    """Insert the queued leaves, in the order they were appended, under the log's lock."""
    pending = session.info.pop(_DEFERRED, None)
    if not pending:
        return []
    late: dict[str, set[int]] = {}
    for kind, rid, leaf in pending:
        if leaf is None:
            late.setdefault(kind, set()).add(rid)
    if late:
        session.flush()
    rows = {kind: _load_many(session, kind, ids) for kind, ids in late.items()}
    leaves: list[tuple[str, int, str]] = []
    for kind, rid, leaf in pending:
        if leaf is None:
            row = rows[kind].get(rid)
            if row is None:
                continue  # as append: a row that is not there has no leaf
            leaf = leaf_of(kind, row)
        leaves.append((kind, rid, leaf))
    return _insert_leaves(session, leaves) if leaves else []


_CHUNK = 500  # ids per query: far below every backend's limit on bound parameters


def _load_many(conn: Any, kind: str, ids: Iterable[int]) -> dict[int, Mapping[str, Any]]:
    wanted = sorted(ids)
    out: dict[int, Mapping[str, Any]] = {}
    for i in range(0, len(wanted), _CHUNK):
        out.update(load_rows(conn, kind, wanted[i : i + _CHUNK]))
    return out


def _insert_leaves(conn: Any, leaves: list[tuple[str, int, str]]) -> list[int]:
    _lock(conn)
    start = size(conn)
    entries = [
        {"idx": start + i, "kind": kind, "row_id": rid, "leaf_hash": leaf}
        for i, (kind, rid, leaf) in enumerate(leaves)
    ]
    conn.execute(insert(LogLeaf.__table__), entries)
    return [int(e["idx"]) for e in entries]  # type: ignore[call-overload]


def append(conn: Any, kind: str, ids: Iterable[int]) -> list[int]:
    """Append a leaf for the current state of each row; returns the new leaves' indexes
    (none yet when the session defers its leaves: see :func:`defer`).

    Call after the rows are flushed, inside the transaction that wrote them.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return []
    pending = conn.info.get(_DEFERRED) if isinstance(conn, Session) else None
    if pending is not None and kind in _LATE:
        pending.extend((kind, rid, None) for rid in wanted)  # computed by write_deferred
        return []
    if hasattr(conn, "flush"):
        conn.flush()
    rows = load_rows(conn, kind, wanted)
    return _add(conn, [(kind, rid, leaf_of(kind, rows[rid])) for rid in wanted if rid in rows])


def append_inserted(session: Session, kind: str, rows: Iterable[Mapping[str, Any]]) -> list[int]:
    """:func:`append` for rows this transaction has just inserted, from the values it
    inserted (each with its new ``id``), without reading them back.

    Those values are the row as stored: every logged column's type stores what it is given
    and reads back the same value (texts and strings as they are, integers, datetimes in
    UTC to the microsecond, JSON of strings, lists and dicts), and ``verify`` recomputes
    each leaf from the row as read, so a value that ever came back otherwise would be
    reported, never accepted. Reading a batch's versions and captures back for their leaves
    (texts, JSON decoded) was a tenth of the archive writer's CPU (2026-12-02)."""
    return _add(session, [(kind, int(row["id"]), leaf_of(kind, row)) for row in rows])


def _add(conn: Any, leaves: list[tuple[str, int, str]]) -> list[int]:
    """Computed leaves: queued when the session defers (:func:`defer`), else inserted."""
    pending = conn.info.get(_DEFERRED) if isinstance(conn, Session) else None
    if pending is not None:
        pending.extend(leaves)
        return []
    return _insert_leaves(conn, leaves) if leaves else []


def latest_leaf(conn: Any, kind: str, row_id: int) -> str | None:
    return conn.execute(
        select(LogLeaf.leaf_hash)
        .where(LogLeaf.kind == kind, LogLeaf.row_id == row_id)
        .order_by(LogLeaf.idx.desc())
        .limit(1)
    ).scalar()


def matches(conn: Any, kind: str, row_id: int) -> bool:
    """Whether a row is as its latest leaf says (no leaf: never logged, counts as not)."""
    rows = load_rows(conn, kind, [row_id])
    return row_id in rows and latest_leaf(conn, kind, row_id) == leaf_of(kind, rows[row_id])


def relog(conn: Any, kind: str, ids: Iterable[int]) -> list[int]:
    """Append leaves only for the rows whose state differs from their latest leaf."""
    wanted = list(ids)
    if hasattr(conn, "flush"):
        conn.flush()
    rows = load_rows(conn, kind, wanted)
    changed = [
        r for r in wanted if r in rows and latest_leaf(conn, kind, r) != leaf_of(kind, rows[r])
    ]
    return append(conn, kind, changed)


def all_leaves(conn: Any) -> list[tuple[int, str, int, str]]:
    """Every leaf, in order: (idx, kind, row_id, leaf_hash)."""
    return [
        tuple(r)  # type: ignore[misc]
        for r in conn.execute(
            select(LogLeaf.idx, LogLeaf.kind, LogLeaf.row_id, LogLeaf.leaf_hash).order_by(
                LogLeaf.idx
            )
        )
    ]


def backfill(conn: Any, batch: int = 1000) -> int:
    """Leaves for every row not logged yet (archives made before the log), oldest first."""
    added = 0
    for kind in ("report", "version", "capture"):
        table = TABLES[kind].__table__
        logged = select(LogLeaf.row_id).where(LogLeaf.kind == kind)
        last = 0
        while True:
            ids = list(
                conn.execute(
                    select(table.c.id)
                    .where(table.c.id > last, table.c.id.not_in(logged))
                    .order_by(table.c.id)
                    .limit(batch)
                ).scalars()
            )
            if not ids:
                break
            added += len(append(conn, kind, ids))
            last = ids[-1]
    return added
