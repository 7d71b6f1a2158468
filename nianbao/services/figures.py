"""What the ``tables``, ``check`` and ``diff --cells`` commands compute.

Reads the cells stored per version (:mod:`models.figures`) and applies the rules of
:mod:`pipelines.rules`: within each report's latest version, against the text, and across
years (the same source and organ's report for the year before).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nianbao.models import figures as store
from nianbao.models import queries
from nianbao.models.queries import iso
from nianbao.models.tables import Report, Version
from nianbao.pipelines import figures as parser
from nianbao.pipelines import rules


def tables(session: Session, report_id: int, n: int | None = None) -> dict[str, Any]:
    version = queries.get_version(session, report_id, n)
    cells = store.load(session, version.id)
    return {
        "report": report_id,
        "version": version.n,
        "year": version.year,
        "format": parser.detect_format(cells, version.year),
        "cells": [f.as_dict() for f in cells],
    }


def _check_report(session: Session, report: Report) -> dict[str, Any] | None:
    version = store.version_of(session, report.id, None)
    if version is None:
        return None
    cells = store.load(session, version.id)
    outcome = rules.check(cells, version.year, version.text)
    violations = list(outcome.violations)
    previous = store.previous_year_version(session, report)
    if previous is not None:
        violations += rules.across_years(store.load(session, previous.id), cells)
    return {
        "report": report.id,
        "version": version.n,
        "organ": report.organ,
        "year": report.year,
        "format": outcome.format,
        "checked": outcome.checked,
        "unchecked": outcome.unchecked,
        "violations": [v.as_dict() for v in violations],
    }


def check(session: Session, report_id: int | None = None) -> dict[str, Any]:
    """Every violation in the latest version of one report, or of every report."""
    if report_id is not None:
        report = session.get(Report, report_id)
        if report is None:
            raise queries.NotFound(f"no report with id {report_id}")
        reports = [report]
    else:
        reports = list(session.scalars(select(Report).order_by(Report.id)))
    results = [r for r in (_check_report(session, rep) for rep in reports) if r is not None]
    with_tables = [r for r in results if r["format"] is not None]
    return {
        "reports": len(results),
        "with_tables": len(with_tables),
        "rules_checked": sum(r["checked"] for r in results),
        "violations": sum(len(r["violations"]) for r in results),
        "results": with_tables,
    }


def diff_cells(session: Session, report_id: int, a: int, b: int) -> dict[str, Any]:
    """The cells whose value differs between versions ``a`` and ``b`` (added/removed too)."""
    va: Version = queries.get_version(session, report_id, a)
    vb: Version = queries.get_version(session, report_id, b)

    def index(v: Version) -> dict[tuple[str, str, str], parser.Figure]:
        return {(f.table, f.row, f.column): f for f in store.load(session, v.id)}

    old, new = index(va), index(vb)
    changes = []
    for key in list(old) + [k for k in new if k not in old]:
        before, after = old.get(key), new.get(key)
        vbefore = before.value if before else None
        vafter = after.value if after else None
        if vbefore == vafter and (before is None) == (after is None):
            continue
        changes.append(
            {
                "cell": "/".join(key),
                "from": parser.number_out(vbefore),
                "to": parser.number_out(vafter),
                "line": after.line if after else None,
                "first_seen": iso(vb.first_seen),
            }
        )
    return {"report": report_id, "from_version": a, "to_version": b, "changes": changes}


# ---- flat rows for --csv ----------------------------------------------------------------------
TABLE_FIELDS = ["report", "version", "table", "row", "column", "value", "raw", "unit", "line"]
CHECK_FIELDS = ["report", "version", "organ", "year", "rule", "expected", "found", "cells", "lines"]


def table_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"report": result["report"], "version": result["version"], **c} for c in result["cells"]
    ]


def check_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            **{k: r[k] for k in ("report", "version", "organ", "year")},
            "rule": v["rule"],
            "expected": v["expected"],
            "found": v["found"],
            "cells": "; ".join(
                f"{c['cell']}={'' if c['value'] is None else c['value']}" for c in v["cells"]
            ),
            "lines": " ".join(str(n) for n in v["lines"]),
        }
        for r in result["results"]
        for v in r["violations"]
    ]
