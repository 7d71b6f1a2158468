"""``nianbao similar``: near-duplicates of one report, or organs that repeat last year's.

Reads the links :mod:`models.neardup` stored when each version was archived (or
reprocessed); nothing is computed here, so the command is one indexed query.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from nianbao.errors import UsageError
from nianbao.models import neardup, queries

KIND_WORDS = {
    "copy_elsewhere": "copy elsewhere",
    "same_organ": "same organ, other year",
    "other_organ": "other organ",
}


def similar(
    session: Session, report_id: int | None, cross_year: bool, min_similarity: float
) -> list[dict[str, Any]]:
    if not 0.0 <= min_similarity <= 1.0:
        raise UsageError(f"--min must be between 0 and 1, not {min_similarity}")
    if cross_year:
        if report_id is not None:
            raise UsageError("give either REPORT_ID or --cross-year, not both")
        return neardup.cross_year(session, min_similarity)
    if report_id is None:
        raise UsageError("give a REPORT_ID, or --cross-year for the whole archive")
    queries.get_version(session, report_id)  # unknown report: NotFound, exit 1
    return neardup.links_of(session, report_id, min_similarity)


def lines(rows: list[dict[str, Any]], cross_year: bool) -> list[str]:
    """The human-readable listing."""
    out: list[str] = []
    if cross_year:
        for r in rows:
            out.append(
                f"{r['organ'] or '?'}  {r['year']} repeats {r['previous_year']}: "
                f"report {r['report_id']} v{r['version']} ~ report {r['previous_report_id']} "
                f"v{r['previous_version']}  jaccard {r['jaccard']:.2f}"
            )
        return out or ["no organ's report repeats its previous year's at this threshold"]
    for r in rows:
        out.append(
            f"v{r['version']} ~ report {r['report_id']} v{r['other_version']}  "
            f"{r['similarity']:.2f} ({KIND_WORDS.get(r['kind'], r['kind'])}; jaccard "
            f"{r['jaccard']:.2f}, {r['contained']:.0%} of this text in it, "
            f"{r['other_contained']:.0%} of it in this)  {r['source']}  {r['url']}"
        )
        if r["substitutions"]:
            words = ", ".join(f"{s['from']}→{s['to']} ×{s['count']}" for s in r["substitutions"])
            out.append(f"    substituted: {words}")
    return out or ["no near-duplicate in other reports at this threshold"]
