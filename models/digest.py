"""What a crawl changed, for the people who watch the archive: the change digest.

After each crawl (``nianbao crawl --digest FILE``, Apprise notifications) and in
``nianbao runs``: new reports, new versions with a character-level summary of what
changed (difflib over characters, so a corrected figure reads ``4395 → 4396``),
withdrawals, and sources that failed or met anti-bot answers.
"""

from __future__ import annotations

import difflib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nianbao.models.queries import iso
from nianbao.models.tables import Capture, CrawlRun, Report, Source, Version

CONTEXT = 12  # characters of unchanged text shown before a change
MAX_CHANGES = 10  # changes listed per version (the rest are counted)
# Items of each kind listed in the text (a terminal, cron's mail, a notification); the rest
# are counted. A first crawl of thousands of portals made one line per new report, and the
# withdrawals and failed sources came after all of them. The JSON digest lists everything.
TEXT_ITEMS = 100


def char_changes(old: str, new: str) -> dict[str, Any]:
    """The character-level changes from ``old`` to ``new``.

    Lines first (cheap on long texts), then characters within each changed block, so a
    corrected figure is one change ``{"old": "4395", "new": "4396"}`` (widened to whole
    numbers) with the words before it as ``context``.
    """
    a, b = old.splitlines(), new.splitlines()
    changes: list[dict[str, Any]] = []
    added = removed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        x, y = "\n".join(a[i1:i2]), "\n".join(b[j1:j2])
        chars = difflib.SequenceMatcher(None, x, y, autojunk=False)
        for op, p1, p2, q1, q2 in chars.get_opcodes():
            if op == "equal":
                continue
            removed += p2 - p1
            added += q2 - q1
            # A figure reads whole: 「4395」→「4396」, not 439「5」→「6」.
            while p1 > 0 and q1 > 0 and x[p1 - 1].isdigit() and y[q1 - 1].isdigit():
                p1, q1 = p1 - 1, q1 - 1
            while p2 < len(x) and q2 < len(y) and x[p2].isdigit() and y[q2].isdigit():
                p2, q2 = p2 + 1, q2 + 1
            changes.append(
                {"old": x[p1:p2], "new": y[q1:q2], "context": x[max(p1 - CONTEXT, 0) : p1]}
            )
    return {
        "chars_added": added,
        "chars_removed": removed,
        "changes": changes[:MAX_CHANGES],
        "more_changes": max(len(changes) - MAX_CHANGES, 0),
    }


def describe(change: dict[str, Any]) -> str:
    """One change in words: ``…政务信息「4395」→「4396」``."""
    old, new = (" ".join(s.split()) for s in (change["old"], change["new"]))
    context = " ".join(change["context"].split())
    if not old:
        return f"…{context} + 「{new[:60]}」"
    if not new:
        return f"…{context} − 「{old[:60]}」"
    return f"…{context}「{old[:60]}」→「{new[:60]}」"


_CHUNK = 500  # runs a round of queries: far below every backend's limit on bound parameters


def run_changes(session: Session, run_ids: list[int], detail: bool = True) -> dict[str, Any]:
    """New reports, new versions (with their changes unless not ``detail``), withdrawals
    and troubled sources of these crawl runs.

    Three queries for every :data:`_CHUNK` runs, not three a run: a night's crawl ends with
    the digest of all its sources (30 portals: 90 queries, 0.18 s of the command's wall
    time after the crawl, 2026-12-02; a worker's 5,000 sources would have taken minutes)."""
    out: dict[str, Any] = {"new_reports": [], "new_versions": [], "withdrawn": [], "sources": []}
    runs: list[Any] = []
    wanted = sorted(set(run_ids))
    for start in range(0, len(wanted), _CHUNK):
        runs += session.execute(
            select(CrawlRun, Source.name)
            .join(Source, Source.id == CrawlRun.source_id)
            .where(CrawlRun.id.in_(wanted[start : start + _CHUNK]))
            .order_by(CrawlRun.id)
        ).all()
    for start in range(0, len(runs), _CHUNK):
        _changes(session, runs[start : start + _CHUNK], detail, out)
    return out


def _changes(session: Session, runs: list[Any], detail: bool, out: dict[str, Any]) -> None:
    """:func:`run_changes` for ``runs`` (``(CrawlRun, source name)``, by id), into ``out``."""
    ids = [run.id for run, _name in runs]
    sources = {run.source_id for run, _name in runs}
    # Versions first seen in a run: a capture of the run holds them, and they are no older
    # than the run. The columns the digest shows, not whole versions: loading each one's
    # text, normal form and JSON columns took 0.45 s after a first crawl of 30 portals x
    # 40 reports (1,200 new reports), on the crawl's own wall time.
    versions: dict[int, list[Any]] = {run_id: [] for run_id in ids}
    for row in session.execute(
        select(
            Capture.run_id,
            Version.id,
            Version.report_id,
            Version.n,
            Version.organ,
            Version.year,
            Version.title,
            Version.url,
            Version.first_seen,
        )
        .distinct()
        .join(Version, Version.id == Capture.version_id)
        .join(CrawlRun, CrawlRun.id == Capture.run_id)
        .where(Capture.run_id.in_(ids), Version.first_seen >= CrawlRun.started_at)
        .order_by(Capture.run_id, Version.report_id, Version.n)
    ):
        versions[row.run_id].append(row)
    # Withdrawals are judged as a run ends (possibly after its row is finished): a run's
    # are those from its start to the next run of its source.
    starts: dict[int, list[tuple[int, Any]]] = {}
    for source_id, run_id, started in session.execute(
        select(CrawlRun.source_id, CrawlRun.id, CrawlRun.started_at).where(
            CrawlRun.source_id.in_(sources), CrawlRun.id > min(ids)
        )
    ):
        starts.setdefault(source_id, []).append((run_id, started))
    withdrawn: dict[int, list[Report]] = {}
    for report in session.scalars(
        select(Report)
        .where(
            Report.source_id.in_(sources),
            Report.withdrawn_at.is_not(None),
            Report.withdrawn_at >= min(run.started_at for run, _name in runs),
        )
        .order_by(Report.id)
    ):
        withdrawn.setdefault(report.source_id, []).append(report)
    for run, name in runs:
        counts = run.counts or {}
        summary = counts.get("summary") or {}
        blocked = int(counts.get("blocked", 0) or 0)
        # Failed, interrupted or blocked sources; a dead link's fetch error is in `runs`,
        # not a reason to page anyone every night.
        if run.status not in ("ok", "idle", "running") or blocked:
            out["sources"].append(
                {
                    "source": name,
                    "run": run.id,
                    "status": run.status,
                    "reason": (run.errors or {}).get("failed", ""),
                    "blocked": blocked,
                    "errors": int(summary.get("errors", 0) or 0),
                }
            )
        for v in versions[run.id]:
            entry = {
                "source": name,
                "report_id": v.report_id,
                "version": v.n,
                "organ": v.organ,
                "year": v.year,
                "title": v.title,
                "url": v.url,
                "first_seen": iso(v.first_seen),
            }
            if v.n == 1:
                out["new_reports"].append(entry)
                continue
            if not detail:
                out["new_versions"].append(entry)
                continue
            previous = session.scalar(
                select(Version.text).where(Version.report_id == v.report_id, Version.n == v.n - 1)
            )
            text = session.scalar(select(Version.text).where(Version.id == v.id))
            out["new_versions"].append({**entry, **char_changes(previous or "", text or "")})
        since = run.started_at
        later = [started for run_id, started in starts.get(run.source_id, []) if run_id > run.id]
        until = min(later) if later else None
        for r in withdrawn.get(run.source_id, []):
            if r.withdrawn_at < since or (until is not None and r.withdrawn_at >= until):
                continue
            out["withdrawn"].append(
                {
                    "source": name,
                    "report_id": r.id,
                    "title": r.title,
                    "url": r.url,
                    "withdrawn_at": iso(r.withdrawn_at),
                    "reason": r.withdrawn_reason,
                }
            )


def brief(changes: dict[str, Any]) -> dict[str, Any]:
    """Which reports a run changed, by id: what ``runs`` lists under each run."""
    return {
        "new_reports": [r["report_id"] for r in changes["new_reports"]],
        "new_versions": [
            {"report_id": v["report_id"], "version": v["version"]} for v in changes["new_versions"]
        ],
        "withdrawn": [
            {"report_id": w["report_id"], "at": w["withdrawn_at"], "reason": w["reason"]}
            for w in changes["withdrawn"]
        ],
    }


def is_empty(digest: dict[str, Any]) -> bool:
    return not any(digest[k] for k in ("new_reports", "new_versions", "withdrawn", "sources"))


def as_text(digest: dict[str, Any], items: int | None = TEXT_ITEMS) -> str:
    """The digest as lines for a terminal, a log or a notification body: at most ``items``
    of each kind (None: all), the rest of a kind counted on one line after it."""
    lines: list[str] = []
    for r in _first(digest["new_reports"], items):
        lines.append(f"new report {r['report_id']} ({r['source']}): {r['title'] or r['url']}")
    lines += _more(digest["new_reports"], items, "new reports")
    for v in _first(digest["new_versions"], items):
        lines.append(
            f"report {v['report_id']} ({v['source']}) changed, version {v['version']}: "
            f"{v['title'] or v['url']} (+{v['chars_added']}/−{v['chars_removed']} characters)"
        )
        lines += [f"    {describe(c)}" for c in v["changes"]]
        if v["more_changes"]:
            lines.append(f"    … and {v['more_changes']} more changes")
    lines += _more(digest["new_versions"], items, "changed reports")
    for w in _first(digest["withdrawn"], items):
        lines.append(
            f"report {w['report_id']} ({w['source']}) withdrawn {w['withdrawn_at']} "
            f"({w['reason']}): {w['title'] or w['url']}"
        )
    lines += _more(digest["withdrawn"], items, "withdrawn reports")
    for s in _first(digest["sources"], items):
        trouble = [s["status"] + (f" ({s['reason']})" if s["reason"] else "")]
        trouble += [f"{s['blocked']} anti-bot answers"] if s["blocked"] else []
        trouble += [f"{s['errors']} errors"] if s["errors"] else []
        lines.append(f"source {s['source']}: " + ", ".join(trouble))
    lines += _more(digest["sources"], items, "sources in trouble")
    return "\n".join(lines)


def _first(kind: list[Any], items: int | None) -> list[Any]:
    return kind if items is None else kind[:items]


def _more(kind: list[Any], items: int | None, what: str) -> list[str]:
    """The line that counts what :func:`as_text` left out of one kind (none: no line)."""
    if items is None or len(kind) <= items:
        return []
    return [
        f"… and {len(kind) - items} more {what} (the JSON digest, `crawl --digest FILE`, has all)"
    ]
