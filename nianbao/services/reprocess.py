"""Re-derive archived versions from their raw captures after the cleaner improves.

Raw captures are the truth; a version's text is derived data: the cleaner (at
``versions.cleaner_version``) applied to the raw body of the capture that created the
version. When the cleaner improves, ``nianbao reprocess`` re-runs it on the stored raw
bodies — no re-crawl — and **updates each version in place**:

* same normalised text (same hash) → the version's text is kept; only the removal record,
  flags and cleaner version are refreshed if they changed;
* changed text → text, normalised text, hash, removals and flags are replaced, the
  cleaner version is bumped, and ``meta["rederived"]`` gains an entry with the previous
  hash and cleaner version and when it changed, so the change is on the record.

Why in place and not a new version: a version means "the publisher showed this between
first_seen and last_seen". Nothing was observed anew, so a new version would be a
spurious one: it would claim an edit nobody made, and every capture's link to what it
showed would have to move. For the same reason versions are never merged or deleted. If
two consecutive versions now clean to the same text (they differed only in junk the old
cleaner kept), both stay, the later one is marked ``meta["same_text_as"] = n-1`` and the
run reports it. If a version's own captures no longer agree under the new cleaner, the
first capture's text wins and ``meta["captures_disagree"]`` lists the other hashes.

Re-running with the same cleaner changes nothing (the operation is idempotent), and a
later crawl of an unchanged page finds the re-derived hash and adds no version.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nianbao.models import archive, figures, neardup
from nianbao.models.tables import Blob, Capture, Report, Source, Version, VersionSignature
from nianbao.models.types import utcnow
from nianbao.pipelines.derive import CLEANER_VERSION, derive, version_fields
from nianbao.pipelines.document import Document

# Metadata a version carries that is not the cleaner's: the crawl's (where an attachment
# was linked from) and reprocess's own records. Everything else is re-derived.
_KEPT_META = ("landing_url", "rederived", "same_text_as", "captures_disagree")


@dataclass
class Outcome:
    """What a reprocess run did, for the CLI and the tests."""

    versions: int = 0
    unchanged: int = 0
    refreshed: int = 0  # same text; removal record / flags / cleaner version updated
    rederived: int = 0  # text changed, updated in place
    signed: int = 0  # near-duplicate signature (re)computed, links (re)found
    now_identical: list[dict[str, int]] = field(default_factory=list)
    captures_disagree: list[dict[str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    figures: int = 0  # versions whose table cells were (re)stored

    def as_dict(self) -> dict[str, Any]:
        return {
            "cleaner_version": CLEANER_VERSION,
            "versions": self.versions,
            "unchanged": self.unchanged,
            "refreshed": self.refreshed,
            "rederived": self.rederived,
            "signed": self.signed,
            "now_identical": self.now_identical,
            "captures_disagree": self.captures_disagree,
            "errors": self.errors,
            "figures": self.figures,
        }


def _context(capture: Capture, version: Version) -> dict[str, Any]:
    """The context the crawl cleaned this capture in. Captures made before it was stored
    (migration 0010) get it back from the version's metadata, where the crawl had copied
    the landing page's title, link text and fields."""
    if capture.context is not None:
        return dict(capture.context)
    meta = version.meta or {}
    fields = {
        k.removeprefix("landing_"): v
        for k, v in meta.items()
        if k.startswith("landing_")
        and k not in ("landing_url", "landing_title", "landing_link_text")
    }
    return {
        "landing_title": meta.get("landing_title"),
        "landing_link_text": meta.get("landing_link_text"),
        "landing_fields": fields,
    }


def derive_capture(session: Session, capture: Capture, version: Version) -> Document:
    """The cleaner applied to one stored capture: exactly what the crawl derives, through
    the same :func:`~nianbao.pipelines.derive.document_for` with the same context."""
    blob = session.get(Blob, capture.body_sha256)
    if blob is None:
        raise LookupError(f"capture {capture.id}: raw body {capture.body_sha256} is missing")
    try:
        body = archive.entity(capture, archive.read_blob(blob))
    except (zlib.error, ValueError) as exc:
        raise LookupError(
            f"capture {capture.id}: raw body {str(capture.body_sha256)[:16]} is unreadable ({exc})"
        ) from exc
    ctype = archive.header(capture.headers, "Content-Type") or "text/html"
    return derive(body, capture.url, ctype, context=_context(capture, version))


def _captures(session: Session, version: Version) -> list[Capture]:
    return list(
        session.scalars(
            select(Capture)
            .where(Capture.version_id == version.id, Capture.body_sha256.is_not(None))
            .order_by(Capture.fetched_at, Capture.id)
        )
    )


def _removed(doc: Document) -> dict[str, Any]:
    return {"items": [r.as_dict() for r in doc.removed]}


def reprocess_version(session: Session, version: Version, out: Outcome) -> None:
    captures = _captures(session, version)
    if not captures:
        out.errors.append(f"report {version.report_id} v{version.n}: no raw capture stored")
        return
    doc = derive_capture(session, captures[0], version)
    others: set[str] = set()
    for capture in captures[1:]:
        if capture.body_sha256 != captures[0].body_sha256:
            others.add(derive_capture(session, capture, version).sha256)
    others.discard(doc.sha256)
    # Every field the crawl derived, derived again the crawl's way (crawler/store.py).
    source_organ = session.scalar(
        select(Source.organ)
        .join(Report, Report.source_id == Source.id)
        .where(Report.id == version.report_id)
    )
    fields = version_fields(doc, source_organ)
    old = version.meta or {}
    meta = {**fields.meta, **{k: old[k] for k in _KEPT_META if k in old}}
    if others:
        meta["captures_disagree"] = sorted(others)
        out.captures_disagree.append({"report": version.report_id, "version": version.n})
    filed = (fields.title, fields.organ, fields.year, fields.published)
    same_filing = filed == (version.title, version.organ, version.year, version.published)
    same_text = doc.sha256 == version.sha256 and doc.text == version.text
    same_record = (
        version.removed == _removed(doc)
        and (version.flags or {}).get("items") == list(doc.flags)
        and version.cleaner_version == CLEANER_VERSION
        and meta == (version.meta or {})
        and same_filing
    )
    if same_text and same_record:
        out.unchanged += 1
        out.figures += figures.store(session, version)  # archives from before 0006
        return
    if not same_text:
        history = list(meta.get("rederived", []))
        history.append(
            {
                "at": utcnow().isoformat(),
                "from_cleaner": version.cleaner_version,
                "to_cleaner": CLEANER_VERSION,
                "from_sha256": version.sha256,
            }
        )
        meta["rederived"] = history
        version.text, version.norm_text, version.sha256 = doc.text, doc.norm_text, doc.sha256
        out.rederived += 1
    else:
        out.refreshed += 1
    # The version is re-filed; the report keeps its identity (source + organ + year key:
    # reports are never merged or split by reprocess), its title follows the latest version.
    version.title, version.organ, version.year, version.published = filed
    version.removed = _removed(doc)
    version.flags = {"items": list(doc.flags)}
    version.cleaner_version = CLEANER_VERSION
    version.meta = meta
    out.figures += figures.store(session, version)


def _sign(session: Session, version: Version, out: Outcome, changed: bool) -> None:
    """Sign a version and find its near-duplicates when it has no signature of the current
    scheme, or its text changed since it was signed (links follow the text)."""
    current = session.get(VersionSignature, version.id)
    if current is not None and current.scheme == neardup.SCHEME and not changed:
        return
    neardup.link_version(session, version)
    out.signed += 1


def reprocess(session_factory: Any, report_ids: list[int] | None = None) -> Outcome:
    """Re-derive every version (or those of ``report_ids``), one transaction per report."""
    out = Outcome()
    with session_factory() as session:
        query = select(Version.report_id).distinct().order_by(Version.report_id)
        if report_ids:
            query = query.where(Version.report_id.in_(report_ids))
        ids = list(session.scalars(query))
    for report_id in ids:
        with session_factory.begin() as session:
            versions = list(
                session.scalars(
                    select(Version).where(Version.report_id == report_id).order_by(Version.n)
                )
            )
            previous: Version | None = None
            for version in versions:
                out.versions += 1
                before = out.rederived
                try:
                    with session.begin_nested():  # a failure leaves this version untouched
                        reprocess_version(session, version, out)
                except LookupError as exc:
                    out.errors.append(f"report {report_id} v{version.n}: {exc}")
                _sign(session, version, out, changed=out.rederived > before)
                if previous is not None and previous.sha256 == version.sha256:
                    if (version.meta or {}).get("same_text_as") != previous.n:
                        version.meta = {**(version.meta or {}), "same_text_as": previous.n}
                    out.now_identical.append({"report": report_id, "version": version.n})
                previous = version
    return out
