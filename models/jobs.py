"""The archive writes a crawl hands to its writer process (:mod:`models.writer`).

Module-level functions of a session and picklable arguments, so the writer process can
run them; each returns plain values (ids, :class:`~models.archive.Stored`), never rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from nianbao.models import archive, runs
from nianbao.pipelines.derive import CLEANER_VERSION, version_fields
from nianbao.pipelines.document import Document, Sealed


def start_run(
    session: Session,
    source: str,
    organ: str | None,
    config: dict[str, Any],
    pid: int,
) -> tuple[int, int]:
    """A new crawl run row for ``source`` (crawled by process ``pid``): (run id, source id)."""
    run = runs.start_run(session, source, organ, config, pid=pid)
    return run.id, run.source_id


def store_capture(
    session: Session,
    kind: str,
    cap: archive.CaptureIn,
    doc: Document | Sealed | None,
    default_organ: str | None,
    landing_url: str | None,
) -> archive.Stored | None:
    """One crawled item: a 304, a 404/410, a blocked page, or a recognised report (None:
    the document was not recognised as a report). ``doc``: slimmed (:meth:`Document.slim`), or
    sealed by the cleaning worker that cleaned it."""
    if kind == "not_modified":
        return archive.record_not_modified(session, cap)
    if kind == "gone":
        return archive.record_gone(session, cap)
    if kind == "blocked":
        return archive.record_other(session, cap, "blocked", "anti-bot gateway")
    assert doc is not None
    if isinstance(doc, Sealed):  # pickled in the cleaning worker, passed on by the crawl
        doc = doc.open()
    if "report" not in doc.flags:
        return None
    fields = version_fields(doc, default_organ)
    meta = {**fields.meta, "landing_url": landing_url}
    return archive.record_report(
        session,
        cap,
        doc,
        organ=fields.organ,
        year=fields.year,
        published=fields.published,
        cleaner_version=CLEANER_VERSION,
        meta=meta,
    )
