"""``nianbao export jsonl|csv``: the archive's reports, versions and captures for researchers.

Every file is written next to its final name under a temporary name and then moved into
place in one step, so a reader never sees half a file, a symlink at the target is replaced
rather than followed, and an existing file is kept unless ``force`` (then replaced whole).
Only the names the caller gave (the JSONL file, or ``reports.csv``, ``versions.csv`` and
``captures.csv`` inside the directory) are ever written.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nianbao.errors import UsageError
from nianbao.models.queries import iso, report_row
from nianbao.models.tables import Capture, Report, Source, Version

CSV_FILES = ("reports.csv", "versions.csv", "captures.csv")


class ExportError(UsageError):
    """The export target cannot be written as asked (exists, not a directory …)."""


def _check_target(path: Path, force: bool) -> None:
    if path.is_dir() and not path.is_symlink():
        raise ExportError(f"{path} is a directory, not a file")
    if (path.exists() or path.is_symlink()) and not force:
        raise ExportError(f"{path} exists; pass --force to replace it")
    if not path.parent.is_dir():
        raise ExportError(f"{path.parent} is not a directory")


@contextlib.contextmanager
def create_target(path: Path, *, force: bool = False, text: bool = False) -> Iterator[IO[Any]]:
    """A file handle whose contents become ``path`` when the block ends without error."""
    path = Path(path)
    _check_target(path, force)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with open(fd, "w", encoding="utf-8", newline="") if text else open(fd, "wb") as fh:
            yield fh
        if force:
            os.replace(tmp, path)  # replaces a symlink itself, never what it points at
        else:
            try:
                os.link(tmp, path)  # atomic, and fails if anything appeared meanwhile
            except FileExistsError:
                raise ExportError(f"{path} exists; pass --force to replace it") from None
            os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _capture_ids(session: Session) -> dict[int, list[int]]:
    ids: dict[int, list[int]] = defaultdict(list)
    rows = session.execute(
        select(Capture.version_id, Capture.id)
        .where(Capture.version_id.is_not(None))
        .order_by(Capture.id)
    )
    for version_id, capture_id in rows:
        ids[version_id].append(capture_id)
    return ids


def version_rows(session: Session) -> Iterator[dict[str, Any]]:
    """One dict per version, oldest report first, with where it came from."""
    captures = _capture_ids(session)
    rows = session.execute(
        select(Version, Report, Source.name)
        .join(Report, Report.id == Version.report_id)
        .join(Source, Source.id == Report.source_id)
        .order_by(Report.id, Version.n)
    )
    for v, r, source in rows:
        yield {
            "report": r.id,
            "source": source,
            "organ": v.organ or r.organ,
            "year": v.year if v.year is not None else r.year,
            "title": v.title,
            "version": v.n,
            "first_seen": iso(v.first_seen),
            "last_seen": iso(v.last_seen),
            "url": v.url,
            "sha256": v.sha256,
            "cleaner_version": v.cleaner_version,
            "published": v.published,
            "withdrawn_at": iso(r.withdrawn_at),
            "text": v.text,
            "captures": captures.get(v.id, []),
        }


def export_jsonl(session: Session, out: Path, *, force: bool = False) -> dict[str, Any]:
    n = 0
    with create_target(out, force=force, text=True) as fh:
        for row in version_rows(session):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return {"path": str(out), "versions": n}


def _report_rows(session: Session) -> Iterator[dict[str, Any]]:
    rows = session.execute(
        select(Report, Source.name).join(Source, Source.id == Report.source_id).order_by(Report.id)
    )
    for r, source in rows:
        yield report_row(r, source)


def _capture_rows(session: Session) -> Iterator[dict[str, Any]]:
    rows = session.execute(
        select(Capture, Source.name, Version.n)
        .join(Source, Source.id == Capture.source_id)
        .outerjoin(Version, Version.id == Capture.version_id)
        .order_by(Capture.id)
    )
    for c, source, n in rows:
        yield {
            "id": c.id,
            "source": source,
            "fetched_at": iso(c.fetched_at),
            "url": c.url,
            "status": c.status,
            "kind": c.kind,
            "report": c.report_id,
            "version": n,
            "body_sha256": c.body_sha256,
            "body_form": c.body_form,
            "remote_ip": c.remote_ip,
            "run_id": c.run_id,
        }


def export_csv(session: Session, directory: Path, *, force: bool = False) -> dict[str, Any]:
    """``reports.csv``, ``versions.csv`` (text included) and ``captures.csv`` in ``directory``."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"{directory} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    for name in CSV_FILES:  # refuse before writing anything
        _check_target(directory / name, force)
    tables = {
        "reports.csv": _report_rows(session),
        "versions.csv": (
            {**row, "captures": " ".join(map(str, row["captures"]))}
            for row in version_rows(session)
        ),
        "captures.csv": _capture_rows(session),
    }
    written: dict[str, int] = {}
    for name, rows in tables.items():
        n = 0
        with create_target(directory / name, force=force, text=True) as fh:
            writer: csv.DictWriter[str] | None = None
            for row in rows:
                if writer is None:
                    writer = csv.DictWriter(fh, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                n += 1
        written[name] = n
    return {"path": str(directory), "rows": written}
