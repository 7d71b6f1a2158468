"""Near-duplicate links in the archive: sign a version, find and confirm its candidates.

:func:`link_version` is called for every new version (``archive.record_report``) and by
``reprocess`` for the versions an archive already holds. It stores the version's MinHash
and LSH band keys, looks up every version of *another report* sharing a band key, confirms
each candidate by the exact similarity of their shingle sets (``pipelines.neardup``) and
stores a :class:`~models.tables.VersionLink` for each confirmed one, with its numbers.

A version's links are replaced whenever it is signed again (``reprocess`` after its text
changed), in both directions.

A new version is compared with the versions stored before it. The archive writer, when it
is behind a saturated crawl, neither signs nor compares it: it queues the version
(:data:`DEFER`, migration 0014), and :func:`link_pending` (the idle writer, ``nianbao
index``) signs the queued versions, oldest first, and compares each with the versions
stored before it: the same signature, bands and links as at once. Signing (the MinHash:
≈ 0.5 CPU-ms a report) was a tenth of a saturated crawl's CPU, spent on the crawl's two
cores for links nobody reads during it. Until then :func:`links_of` and :func:`cross_year`
compute the queued versions' links (:func:`unstored_links`), signing the unsigned ones in
memory. While an unsigned version waits, a new version waits behind it even on an idle
writer (it could not find the unsigned one as a candidate), and on PostgreSQL one
:func:`link_pending` runs at a time (:data:`LINK_LOCK`), so each finds every version
stored before it signed. Two crawl processes storing near-identical versions at the same
moment on PostgreSQL may miss each other (neither sees the other's uncommitted rows);
``reprocess`` finds them.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Text, bindparam, cast, delete, func, insert, or_, select, text
from sqlalchemy.orm import Session, aliased

from nianbao.models import pending as pending_queue
from nianbao.models.tables import (
    Report,
    Source,
    Version,
    VersionBand,
    VersionLink,
    VersionLinkPending,
    VersionSignature,
)
from nianbao.models.types import utcnow
from nianbao.pipelines import neardup as nd
from nianbao.pipelines.normalize import normal_form

# "-u16": shingles hashed by nd.shingle_keys (before: SHA-1 of each shingle's UTF-8, per
# item); a version signed under another scheme is signed again by ``reprocess``.
SCHEME = f"minhash-k{nd.K}-p{nd.NUM_PERM}-r{nd.ROWS}-u16"
MAX_CANDIDATES = 200  # a text sharing bands with more than this many is boilerplate-only
LINK_LOCK = 0x6E69616E6C6E6B  # "nianlnk": PostgreSQL advisory lock of link_pending


def _flags(v: Any) -> list[str]:
    return list((v.flags or {}).get("items", []))


# Every candidate's kind is decided before ranking (up to MAX_CANDIDATES a write), and the
# same few thousand organ names recur all night: their normal forms are remembered.
_organ_form = functools.lru_cache(maxsize=8192)(normal_form)


def link_kind(a: Any, b: Any, source_a: int, source_b: int) -> str:
    """``copy_elsewhere``, ``same_organ`` (another year) or ``other_organ``."""
    kind = _kind_by_identity(a, b, source_a, source_b)
    if kind is None:  # a farm copy names another organ: only its flag tells
        kind = "copy_elsewhere" if "farm_copy" in _flags(a) + _flags(b) else "other_organ"
    return kind


def _kind_by_identity(a: Any, b: Any, source_a: int, source_b: int) -> str | None:
    """:func:`link_kind` as far as organs, years and sources decide it; None when the
    ``farm_copy`` flag decides (another source, the same year, two different organs).
    Apart, so a candidate's flags are read only then: on SQLite, reading a version's
    ``flags`` walks the overflow pages of its two texts."""
    return _kind_of(_organ_form(a.organ) if a.organ else None, a, b, source_a, source_b)


def _kind_of(organ_a: str | None, a: Any, b: Any, source_a: int, source_b: int) -> str | None:
    """:func:`_kind_by_identity` with ``a``'s organ's normal form already known (the same
    for every candidate of a write)."""
    organ_b = _organ_form(b.organ) if b.organ else None
    same_year = a.year is None or b.year is None or a.year == b.year
    if organ_a and organ_b and organ_a == organ_b:
        return "copy_elsewhere" if same_year else "same_organ"
    if source_a != source_b and (organ_a is None or organ_b is None) and same_year:
        return "copy_elsewhere"  # a farm copy names no organ, or names the farm
    if source_a != source_b and same_year:
        return None
    return "other_organ"


def _spin_pairs(
    session: Session, new: Any, old_id: int, old_flags: list[str]
) -> list[dict[str, Any]]:
    """What a spinner changed, original first; only when one side is flagged as spun
    (the other version's text is read only then)."""
    new_spun, old_spun = "spun_text" in _flags(new), "spun_text" in old_flags
    if new_spun == old_spun:
        return []
    old_text = session.scalar(select(Version.norm_text).where(Version.id == old_id)) or ""
    original, copy = (old_text, new.norm_text) if new_spun else (new.norm_text, old_text)
    return nd.substitutions(original, copy)


class KeyCache:
    """Shingle keys by the SHA-256 of the normal form they were computed from (a version's
    ``sha256``), least recently used out first, up to ``max_bytes``.

    Confirming a new version's candidates needs each candidate's shingle keys; recomputing
    them from the candidate's text was 2/3 of an archive write (≈ 17 candidates a report on
    a county's look-alike reports). Keyed by content, so a version whose text ``reprocess``
    changed is never confused with its old text, whatever archive or process wrote it.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.data: OrderedDict[str, np.ndarray] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, sha256: str) -> np.ndarray | None:
        with self.lock:
            keys = self.data.get(sha256)
            if keys is not None:
                self.data.move_to_end(sha256)
            return keys

    def put(self, sha256: str, keys: np.ndarray) -> None:
        with self.lock:
            if sha256 in self.data or keys.nbytes > self.max_bytes:
                return
            self.data[sha256] = keys
            self.size += keys.nbytes
            while self.size > self.max_bytes:
                _, old = self.data.popitem(last=False)
                self.size -= old.nbytes


KEYS = KeyCache(64 << 20)  # ≈ 2,000 reports' keys: a night's candidates are mostly recent


def _keys_of(session: Session, rows: Sequence[Any]) -> dict[int, np.ndarray]:
    """Version id → shingle keys, from the cache, else from the stored normal form."""
    out: dict[int, np.ndarray] = {}
    missing: dict[int, str] = {}
    for row in rows:
        keys = KEYS.get(row.sha256)
        if keys is None:
            missing[row.id] = row.sha256
        else:
            out[row.id] = keys
    if missing:
        texts = session.execute(
            select(Version.id, Version.norm_text).where(Version.id.in_(list(missing)))
        )
        for vid, norm_text in texts:
            keys = nd.shingle_keys(norm_text or "")
            KEYS.put(missing[vid], keys)
            out[vid] = keys
    return out


# ``session.info`` key: the archive writer sets it while it is behind a saturated crawl; a
# new version is then queued unsigned, its signing and comparison left to link_pending (and
# its table cells to ``figures.store_pending``: ``archive.record_report`` reads it for both).
DEFER = "nianbao_defer_links"


def link_version(session: Session, version: Version, *, fresh: bool = False) -> int:
    """(Re)sign ``version`` and (re)find its links to older versions; returns links stored.

    ``fresh``: the version was inserted in this transaction, so it has no signature, bands
    or links to replace; it is signed and compared with the versions stored before it (a
    lower id) now, or queued for :func:`link_pending` to do both when the session says
    :data:`DEFER` or an unsigned version is queued already (this one could not find it).

    Which candidates are confirmed exactly (see :data:`NEAREST_OTHER_ORGAN`): every one
    whose link would be ``copy_elsewhere`` or ``same_organ``, and of the ``other_organ``
    ones the nearest by their MinHash estimate. Every stored link's numbers are exact.
    """
    if fresh and (session.info.get(DEFER) or session.scalar(_UNSIGNED_WAITING) is not None):
        pending_queue.put(session, VersionLinkPending, version.id)
        return 0
    if not fresh:
        session.execute(delete(VersionBand).where(VersionBand.version_id == version.id))
        session.execute(
            delete(VersionLink).where(
                (VersionLink.version_id == version.id) | (VersionLink.other_id == version.id)
            )
        )
        session.execute(
            delete(VersionLinkPending).where(VersionLinkPending.version_id == version.id)
        )
    signed = nd.sign(version.norm_text or "", version.sha256)
    mine, sig, keys = signed.keys, signed.minhash, signed.bands
    KEYS.put(version.sha256, mine)
    existing = None if fresh else session.get(VersionSignature, version.id)
    if existing is None:
        session.execute(
            insert(VersionSignature.__table__),
            [{"version_id": version.id, "scheme": SCHEME, "minhash": sig}],
        )
    else:
        existing.scheme, existing.minhash = SCHEME, sig
    session.execute(
        insert(VersionBand.__table__),
        [{"version_id": version.id, "band": i, "key": key} for i, key in enumerate(keys)],
    )
    if len(mine) < nd.MIN_SHINGLES:
        return 0
    report = session.get(Report, version.report_id)  # in the session already when crawling
    assert report is not None
    links = _links(session, version, report.source_id, mine, sig, keys, older_only=fresh)
    if links:
        session.execute(insert(VersionLink.__table__), links)
    return len(links)


def pending(session: Session) -> int:
    """Versions queued for comparison with their look-alikes (migration 0014)."""
    return int(session.scalar(select(func.count()).select_from(VersionLinkPending)) or 0)


def link_pending(session: Session, limit: int | None = None) -> int:
    """Sign the queued versions still unsigned among up to ``limit`` of them (oldest first),
    compare each with the versions stored before it and store their links: what
    :func:`link_version` would have stored when each was written. Returns how many were
    taken off the queue (0: it is empty).

    The rows are taken off with :func:`models.pending.take`: an idle crawl writer and
    ``nianbao index`` working at once never compare one version twice. On PostgreSQL they
    also take turns (:data:`LINK_LOCK`): a batch taken while an older one was still being signed in
    another transaction would not find that one's versions as candidates. SQLite has one
    writer at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LINK_LOCK})
    taken = pending_queue.take(session, VersionLinkPending, limit)
    _sign_queued(session, taken)
    links = _queued_links(session, taken)
    if links:
        session.execute(insert(VersionLink.__table__), links)
    return len(taken)


def _sign_queued(session: Session, ids: Sequence[int]) -> None:
    """Store the signature and band keys of the versions among ``ids`` queued unsigned."""
    sigs: list[dict] = []
    bands: list[dict] = []
    for vid, sha256, norm_text in (
        session.execute(_UNSIGNED_TEXTS, {"ids": list(ids)}) if ids else ()
    ):
        minhash, keys = _signed(sha256, norm_text)
        sigs.append({"version_id": vid, "scheme": SCHEME, "minhash": minhash})
        bands.extend({"version_id": vid, "band": i, "key": key} for i, key in enumerate(keys))
    if sigs:
        session.execute(insert(VersionSignature.__table__), sigs)
        session.execute(insert(VersionBand.__table__), bands)


# MinHashes by the SHA-256 of the normal form signed (as :data:`KEYS`): a reader asked
# again while versions wait unsigned signs each of them once (≈ 0.5 ms), up to this many
# (≈ 0.6 KB each; the band keys are derived again, ≈ 20 µs).
_SIGNED: OrderedDict[str, bytes] = OrderedDict()
_SIGNED_MAX = 32768
_SIGNED_LOCK = threading.Lock()


def _signed(sha256: str, norm_text: str | None) -> tuple[bytes, list[int]]:
    """(MinHash, band keys) of a version's normal form, as :func:`link_version` stores them."""
    with _SIGNED_LOCK:
        minhash = _SIGNED.get(sha256)
        if minhash is not None:
            _SIGNED.move_to_end(sha256)
    if minhash is None:
        signed = nd.sign(norm_text or "", sha256)
        KEYS.put(sha256, signed.keys)
        minhash = signed.minhash
        with _SIGNED_LOCK:
            _SIGNED[sha256] = minhash
            while len(_SIGNED) > _SIGNED_MAX:
                _SIGNED.popitem(last=False)
    return minhash, nd.band_keys(minhash)


@dataclass(frozen=True)
class _Unsigned:
    """A queued version not signed yet, signed in memory by a reader: what a candidate row
    of :data:`_CANDIDATES` carries, and its band keys."""

    id: int
    report_id: int
    sha256: str
    organ: str | None
    year: int | None
    source_id: int
    minhash: bytes
    bands: frozenset[int]
    scheme: str = SCHEME


class _Overlay(dict[int, _Unsigned]):
    """The unsigned queued versions by id, and by band key (a candidate look-up reads the
    few sharing one of its keys, not every queued version: a queue of thousands would make
    ``cross_year`` quadratic)."""

    def __init__(self, versions: dict[int, _Unsigned]) -> None:
        super().__init__(versions)
        self.by_key: dict[int, list[_Unsigned]] = {}
        for stand_in in versions.values():
            for key in stand_in.bands:
                self.by_key.setdefault(key, []).append(stand_in)

    def sharing(self, keys: Sequence[int]) -> list[_Unsigned]:
        """Those sharing at least one of ``keys``, each once."""
        found: dict[int, _Unsigned] = {}
        for key in keys:
            for stand_in in self.by_key.get(key, ()):
                found[stand_in.id] = stand_in
        return list(found.values())


def _unsigned(session: Session) -> _Overlay:
    """The queued versions a busy writer left unsigned, signed here (not stored): a reader's
    stand-in for what :func:`link_pending` will store."""
    rows = session.execute(_UNSIGNED_QUEUED).all()
    with _SIGNED_LOCK:
        missing = [row.id for row in rows if row.sha256 not in _SIGNED]
    texts: dict[int, str | None] = {}
    for i in range(0, len(missing), 500):
        texts.update(
            session.execute(
                select(_V.id, _V.norm_text).where(_V.id.in_(missing[i : i + 500]))
            ).all()
        )
    out: dict[int, _Unsigned] = {}
    for row in rows:
        minhash, keys = _signed(row.sha256, texts.get(row.id))
        out[row.id] = _Unsigned(
            row.id, row.report_id, row.sha256, row.organ, row.year, row.source_id, minhash,
            frozenset(keys),
        )  # fmt: skip
    return _Overlay(out)


def _queued_links(
    session: Session, ids: Sequence[int], unsigned: _Overlay | None = None
) -> list[dict]:
    """The links of queued versions (not stored here), from their stored signatures, or for
    a reader from ``unsigned``'s. The versions are read as plain rows with what comparing
    needs, in one statement: as ORM objects, one at a time, reading them cost a quarter of
    the comparison."""
    out: list[dict] = []
    for row in session.execute(_QUEUED, {"ids": list(ids)}) if ids else ():
        minhash = row.minhash
        if minhash is None:
            stand_in = (unsigned or {}).get(row.id)
            if stand_in is None:  # queued after the reader looked: not there yet for it
                continue
            minhash = stand_in.minhash
        mine = KEYS.get(row.sha256)
        if mine is None:
            mine = nd.shingle_keys(row.norm_text or "")
            KEYS.put(row.sha256, mine)
        if len(mine) < nd.MIN_SHINGLES:
            continue
        keys = nd.band_keys(minhash)
        out.extend(
            _links(
                session, row, row.source_id, mine, minhash, keys, older_only=True,
                unsigned=unsigned,
            )
        )  # fmt: skip
    return out


def _links(
    session: Session,
    version: Any,
    source_id: int,
    mine: np.ndarray,
    sig: bytes,
    keys: list[int],
    *,
    older_only: bool,
    unsigned: _Overlay | None = None,
) -> list[dict]:
    """The confirmed links of ``version`` (a :class:`Version` or a row with its columns),
    of the source ``source_id``, to its candidates, as rows of ``version_links``. Reads
    only: :func:`unstored_links` answers with them for versions still queued (with the
    unsigned ones signed in memory, ``unsigned``, among the candidates)."""
    others = _candidates(session, version, keys, older_only, unsigned)
    if not others:  # none, or too many (None)
        return []
    chosen, flags = _to_confirm(session, version, source_id, others, sig)
    their_keys = _keys_of(session, [row for row, _kind in chosen])
    links = []
    for other, kind in chosen:
        theirs = their_keys[other.id]
        if len(theirs) < nd.MIN_SHINGLES:
            continue
        sim = nd.compare(mine, theirs)
        if not sim.is_near_duplicate():
            continue
        links.append(
            {
                "version_id": version.id,
                "other_id": other.id,
                "kind": kind,
                "jaccard": round(sim.jaccard, 4),
                "contained": round(sim.contained_a, 4),
                "other_contained": round(sim.contained_b, 4),
                "substitutions": {
                    "items": _spin_pairs(session, version, other.id, flags[other.id])
                },
                "found_at": utcnow(),
            }
        )
    return links


def unstored_links(session: Session, report_id: int | None = None) -> list[VersionLink]:
    """The links the queued versions will have (:func:`link_pending`), computed here and not
    stored, so that a reader sees every link whatever the queue holds (as search scans the
    text of versions not indexed yet). With ``report_id``: only the queued versions that
    are that report's or share a band key with one of its versions (any link to it is
    among theirs). Empty at once when nothing is queued. The versions a busy writer queued
    unsigned are signed here, in memory (≈ 0.5 ms each, once a process): a reader during
    a saturated crawl answers more slowly, the same links."""
    if session.scalar(_ANY_QUEUED) is None:
        return []
    unsigned = _unsigned(session)
    queued = select(VersionLinkPending.version_id)
    if report_id is None:
        ids = set(session.scalars(queued))
    else:
        mine = list(session.scalars(select(Version.id).where(Version.report_id == report_id)))
        keys = set(session.scalars(select(_B.key).where(_B.version_id.in_(mine))))
        keys.update(k for vid in mine if vid in unsigned for k in unsigned[vid].bands)
        near = select(_B.version_id).where(_B.key.in_(keys))
        ids = set(
            session.scalars(
                queued.where(
                    VersionLinkPending.version_id.in_(mine)
                    | VersionLinkPending.version_id.in_(near)
                )
            )
        )
        ids.update(vid for vid, stand_in in unsigned.items() if stand_in.report_id == report_id)
        ids.update(stand_in.id for stand_in in unsigned.sharing(list(keys)))
    links = _queued_links(session, sorted(ids), unsigned)
    return [VersionLink(**row) for row in links]


# A template shared by many organs (a county's 40 town reports, a province's bureaus) makes
# every report a near-duplicate of every other: exhaustive confirmation made each write
# compare against every look-alike stored before it (up to MAX_CANDIDATES) and stored a
# quadratic number of links. The ``copy_elsewhere`` and ``same_organ`` candidates, the
# ones an auditor asks about (farm copies, an organ repeating its own report), are all
# confirmed; of the ``other_organ`` ones, only this many nearest by MinHash-estimated
# Jaccard. Twenty answer "whose report is this copied from / who else filled the same
# template" (``nianbao similar``) and cap a write's exact comparisons (≈ 0.15 ms each on a
# 5,000-shingle report); the estimate's standard error at 126 permutations is at most
# 0.045, so the twenty found are the nearest or within that of them.
NEAREST_OTHER_ORGAN = 20


def _to_confirm(
    session: Session, version: Any, source: int, others: Sequence[Any], sig: bytes
) -> tuple[list[tuple[Any, str]], dict[int, list[str]]]:
    """The candidates to confirm exactly, each with its link's kind (ordered by id, as
    before), and the flags of each (read for these only: see :func:`_kind_by_identity`)."""
    organ = _organ_form(version.organ) if version.organ else None
    kinds = {row.id: _kind_of(organ, version, row, source, row.source_id) for row in others}
    if "farm_copy" in _flags(version):
        kinds = {vid: kind or "copy_elsewhere" for vid, kind in kinds.items()}
    # Jaccard estimated from the stored signatures, all candidates at once; one signed
    # under another scheme (before ``reprocess``) or not at all cannot be ranked: it ranks
    # first, so it is confirmed as before.
    known = [row.scheme == SCHEME and row.minhash is not None for row in others]
    estimate = np.ones(len(others))
    if any(known):
        matrix = np.frombuffer(
            b"".join(row.minhash for row, ok in zip(others, known, strict=True) if ok), "<u4"
        ).reshape(-1, nd.NUM_PERM)
        estimate[np.flatnonzero(known)] = (matrix == np.frombuffer(sig, "<u4")).mean(axis=1)
    # Nearest first; ties (and the unranked) by id, as ``others`` is ordered.
    order = [others[i].id for i in np.argsort(-estimate, kind="stable").tolist()]
    wanted = [vid for vid in order if kinds[vid] != "other_organ"]
    # The nearest other_organ ones can only be these or undecided ones.
    wanted += [vid for vid in order if kinds[vid] == "other_organ"][:NEAREST_OTHER_ORGAN]
    flags: dict[int, list[str]] = dict.fromkeys(wanted, [])
    for vid, value in session.execute(_FLAGS, {"ids": wanted}):
        flags[vid] = list((value or {}).get("items", []))
    for vid in wanted:
        if kinds[vid] is None:
            kinds[vid] = "copy_elsewhere" if "farm_copy" in flags[vid] else "other_organ"
    nearest = [vid for vid in order if kinds[vid] == "other_organ"][:NEAREST_OTHER_ORGAN]
    keep = set(nearest) | {vid for vid in wanted if kinds[vid] != "other_organ"}
    chosen = [(row, str(kinds[row.id])) for row in others if row.id in keep]
    return chosen, flags


def _candidates(
    session: Session,
    version: Any,
    keys: list[int],
    older_only: bool,
    unsigned: _Overlay | None = None,
) -> list[Any] | None:
    """Versions of other reports that share at least one LSH band key with these, by id,
    with what deciding a link's kind and ranking it needs; None when there are more than
    ``MAX_CANDIDATES`` (boilerplate-only text: no links). ``older_only``: those stored
    before ``version`` (a new or queued version: the same candidates whenever it is
    compared); else every other version (``reprocess``).

    Without the limit, a county's look-alike reports made every write fetch every earlier
    look-alike: 300 portals × 40 reports spent the writer's time here. The distinct ids
    come from the band index alone (migration 0012), without a look-up of each one's
    report: the limit allows for the report's own versions, filtered out after it.
    ``flags`` is not read here (:func:`_kind_by_identity`). ``unsigned``: queued versions
    signed in memory by a reader, candidates as if their bands were stored."""
    if older_only:  # the report's versions stored before this one are numbered below it
        own = version.n - 1
    else:
        own = session.scalar(
            select(func.count()).select_from(Version).where(Version.report_id == version.report_id)
        )
    limit = MAX_CANDIDATES + 1 + (own or 0)
    extra = [
        stand_in
        for stand_in in (unsigned.sharing(keys) if unsigned else ())
        if (stand_in.id < version.id if older_only else stand_in.id != version.id)
    ]
    # One band shared with ``limit`` versions already means too many (a band's rows are
    # distinct versions: its number is mixed into the key), whatever the other bands say.
    # A look-alike cluster shares every band: this look-up of at most ``limit`` index
    # entries answers for the DISTINCT over all 42 bands' (tens of thousands).
    queries = _OLDER if older_only else _OTHER
    if (
        keys
        and (
            session.scalar(
                queries.sharing_one, {"key": keys[0], "version": version.id, "limit": limit}
            )
            or 0
        )
        + sum(keys[0] in stand_in.bands for stand_in in extra)
        >= limit
    ):
        return None
    query = queries.ids_pg if session.get_bind().dialect.name == "postgresql" else queries.ids
    ids = session.scalars(query, {"keys": keys, "version": version.id, "limit": limit}).all()
    if not ids and not extra:
        return []
    # The rows by their ids, a second statement: as a subquery, PostgreSQL's planner
    # hash-joined it with full scans of versions, reports and signatures (9-12 ms a write
    # at 1,200 versions, growing with the archive; by ids it looks each one up).
    rows: list[Any] = (
        list(session.execute(_CANDIDATES, {"ids": list(ids), "report": version.report_id}))
        if ids
        else []
    )
    if extra:
        rows += [stand_in for stand_in in extra if stand_in.report_id != version.report_id]
        rows.sort(key=lambda row: row.id)
    return None if len(rows) > MAX_CANDIDATES else rows


# The queries of every write, built once (their values bound at execution) on the tables
# (plain rows, not ORM-loaded): building and loading them cost more than SQLite's work.
_V, _R, _S = Version.__table__.c, Report.__table__.c, VersionSignature.__table__.c
_B = VersionBand.__table__.c


@dataclass(frozen=True)
class _BandQueries:
    """The band-index look-ups of :func:`_candidates`, for one meaning of "other"."""

    ids: Any
    ids_pg: Any
    sharing_one: Any


def _band_queries(other: Any) -> _BandQueries:
    shared = select(_B.version_id).where(_B.key.in_(bindparam("keys", expanding=True)), other)
    # PostgreSQL, given ``DISTINCT … LIMIT`` over the shared rows, walked the whole
    # (version_id, band) primary key in order, filtering by key, hoping to meet the limit
    # early: O(every band row in the archive) a write. The shared rows materialized first,
    # it reads the key index: O(42 × the versions sharing a band). SQLite streams
    # DISTINCT … LIMIT from the key index (migration 0012) and stops at the limit.
    rows = shared.cte("shared").prefix_with("MATERIALIZED", dialect="postgresql")
    return _BandQueries(
        ids=shared.distinct().limit(bindparam("limit")),
        ids_pg=select(rows.c.version_id).distinct().limit(bindparam("limit")),
        sharing_one=select(func.count()).select_from(
            select(_B.version_id)
            .where(_B.key == bindparam("key"), other)
            .limit(bindparam("limit"))
            .subquery()
        ),
    )


_OLDER = _band_queries(_B.version_id < bindparam("version"))
_OTHER = _band_queries(_B.version_id != bindparam("version"))
# A queued version with what comparing it needs (the texts: its keys when not cached, a
# spun version's substitutions).
_QUEUED = (
    select(
        _V.id,
        _V.report_id,
        _V.n,
        _V.sha256,
        _V.organ,
        _V.year,
        _V.flags,
        _V.norm_text,
        _R.source_id,
        _S.minhash,
    )
    .select_from(
        Version.__table__.join(Report.__table__, _R.id == _V.report_id).outerjoin(
            VersionSignature.__table__, _S.version_id == _V.id
        )
    )
    .where(_V.id.in_(bindparam("ids", expanding=True)))
    .order_by(_V.id)
)
_P = VersionLinkPending.__table__.c
_ANY_QUEUED = select(_P.version_id).limit(1)
# A queued version has no signature only when a busy writer queued it unsigned.
_UNSIGNED_WAITING = (
    select(_P.version_id)
    .select_from(
        VersionLinkPending.__table__.outerjoin(
            VersionSignature.__table__, _S.version_id == _P.version_id
        )
    )
    .where(_S.version_id.is_(None))
    .limit(1)
)
_UNSIGNED_TEXTS = (
    select(_V.id, _V.sha256, _V.norm_text)
    .select_from(Version.__table__.outerjoin(VersionSignature.__table__, _S.version_id == _V.id))
    .where(_V.id.in_(bindparam("ids", expanding=True)), _S.version_id.is_(None))
    .order_by(_V.id)
)
_UNSIGNED_QUEUED = (
    select(_V.id, _V.report_id, _V.sha256, _V.organ, _V.year, _R.source_id)
    .select_from(
        VersionLinkPending.__table__.join(Version.__table__, _V.id == _P.version_id)
        .join(Report.__table__, _R.id == _V.report_id)
        .outerjoin(VersionSignature.__table__, _S.version_id == _V.id)
    )
    .where(_S.version_id.is_(None))
    .order_by(_V.id)
)
_CANDIDATES = (
    select(_V.id, _V.report_id, _V.sha256, _V.organ, _V.year, _R.source_id, _S.scheme, _S.minhash)
    .select_from(
        Version.__table__.join(Report.__table__, _R.id == _V.report_id).outerjoin(
            VersionSignature.__table__, _S.version_id == _V.id
        )
    )
    .where(_V.id.in_(bindparam("ids", expanding=True)), _V.report_id != bindparam("report"))
    .order_by(_V.id)
)
# Only two flags matter to a link (``farm_copy`` decides a kind, ``spun_text`` whether a
# spinner's substitutions are stored), and most versions have neither: the rows whose
# flags cannot hold them are left out by the database (read as no flags), not decoded.
_FLAGS = select(_V.id, _V.flags).where(
    _V.id.in_(bindparam("ids", expanding=True)),
    or_(
        cast(_V.flags, Text).contains("farm_copy", autoescape=True),
        cast(_V.flags, Text).contains("spun_text", autoescape=True),
    ),
)


def _link_dict(link: VersionLink, mine: Version, other: Version, src: str, forward: bool) -> dict:
    contained, other_contained = (
        (link.contained, link.other_contained)
        if forward
        else (link.other_contained, link.contained)
    )
    sim = nd.Similarity(link.jaccard, contained, other_contained)
    return {
        "kind": link.kind,
        "similarity": round(sim.score, 4),
        "jaccard": link.jaccard,
        "contained": contained,  # share of this version's text found in the other
        "other_contained": other_contained,
        "version": mine.n,
        "report_id": other.report_id,
        "other_version": other.n,
        "source": src,
        "organ": other.organ,
        "year": other.year,
        "url": other.url,
        "substitutions": list((link.substitutions or {}).get("items", [])),
    }


def links_of(session: Session, report_id: int, min_similarity: float = 0.0) -> list[dict]:
    """Every near-duplicate link of a report's versions, most similar first."""
    mine_v, other_v = aliased(Version), aliased(Version)
    out: list[dict] = []
    for forward, mine_col, other_col in (
        (True, VersionLink.version_id, VersionLink.other_id),
        (False, VersionLink.other_id, VersionLink.version_id),
    ):
        rows = session.execute(
            select(VersionLink, mine_v, other_v, Source.name)
            .join(mine_v, mine_v.id == mine_col)
            .join(other_v, other_v.id == other_col)
            .join(Report, Report.id == other_v.report_id)
            .join(Source, Source.id == Report.source_id)
            .where(mine_v.report_id == report_id)
        ).all()
        out.extend(_link_dict(link, m, o, src, forward) for link, m, o, src in rows)
    for link in unstored_links(session, report_id):
        for forward, mine_id, other_id in (
            (True, link.version_id, link.other_id),
            (False, link.other_id, link.version_id),
        ):
            m, o = session.get(Version, mine_id), session.get(Version, other_id)
            if m is None or o is None or m.report_id != report_id:
                continue
            src = session.scalar(select(Source.name).join(Report).where(Report.id == o.report_id))
            out.append(_link_dict(link, m, o, str(src), forward))
    out = [d for d in out if d["similarity"] >= min_similarity]
    out.sort(key=lambda d: (-d["similarity"], d["report_id"], d["version"], d["other_version"]))
    return out


def cross_year(session: Session, min_jaccard: float = 0.9) -> list[dict]:
    """Organs whose report of one year repeats their report of the previous year.

    Judged by Jaccard (the whole text, not a part of it) between a version of the year's
    report and a version of the organ's report for the year before.
    """
    new_v, old_v = aliased(Version), aliased(Version)
    new_r, old_r = aliased(Report), aliased(Report)
    rows = session.execute(
        select(VersionLink, new_v, old_v, new_r, old_r)
        .join(new_v, new_v.id == VersionLink.version_id)
        .join(old_v, old_v.id == VersionLink.other_id)
        .join(new_r, new_r.id == new_v.report_id)
        .join(old_r, old_r.id == old_v.report_id)
        .where(VersionLink.kind == "same_organ", VersionLink.jaccard >= min_jaccard)
    ).all()
    found: list[tuple[Any, ...]] = [tuple(row) for row in rows]
    for link in unstored_links(session):
        if link.kind != "same_organ" or link.jaccard < min_jaccard:
            continue
        a, b = session.get(Version, link.version_id), session.get(Version, link.other_id)
        if a is None or b is None:
            continue
        found.append(
            (link, a, b, session.get(Report, a.report_id), session.get(Report, b.report_id))
        )
    best: dict[tuple[int, int], dict] = {}
    for link, a, b, ra, rb in found:
        if a.year is None or b.year is None or abs(a.year - b.year) != 1:
            continue
        (later, lr), (earlier, er) = ((a, ra), (b, rb)) if a.year > b.year else ((b, rb), (a, ra))
        entry = {
            "organ": later.organ,
            "year": later.year,
            "report_id": lr.id,
            "version": later.n,
            "previous_year": earlier.year,
            "previous_report_id": er.id,
            "previous_version": earlier.n,
            "jaccard": link.jaccard,
            "url": later.url,
            "previous_url": earlier.url,
        }
        key = (lr.id, er.id)
        if key not in best or best[key]["jaccard"] < entry["jaccard"]:
            best[key] = entry
    return sorted(best.values(), key=lambda d: (-d["jaccard"], d["organ"] or "", d["year"]))
