"""Withdrawal by unlinking: a report its portal's column no longer links to.

A 404/410 withdraws a report at once (:func:`models.archive.record_gone`); a report whose
page still answers but that the portal no longer lists is judged here, at the end of a
crawl, from the links the crawl saw (:mod:`crawler.linkwatch`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nianbao.models.tables import Capture, Report, ReportUrl, Source


def reconcile_links(
    session: Session, source_name: str, linked: dict[str, str], fetched: set[str], when: datetime
) -> tuple[list[int], list[int]]:
    """After a crawl: withdraw reports their column no longer links to; restore relinked ones.

    ``linked`` maps every URL a fetched page linked to → that page; ``fetched`` is every
    page fetched whole. A report is linked when one of its URLs, or the landing page its
    attachment was found on, is a link target; the linking page (not one of the report's
    own pages) is remembered in ``linked_from``. A report nothing links to is withdrawn
    ("unlinked") only if the page that linked it before was fetched this time — so a page
    the crawl did not reach (budget, depth, a failure) never withdraws anything. Reports
    withdrawn by a 404/410 are left to :func:`record_report`. Returns the ids withdrawn
    and restored.
    """
    source = session.scalar(select(Source).where(Source.name == source_name))
    if source is None:
        return [], []
    anchors: dict[int, set[str]] = {}
    for report_id, url in session.execute(
        select(ReportUrl.report_id, ReportUrl.url).join(Report).where(Report.source_id == source.id)
    ):
        anchors.setdefault(report_id, set()).add(url)
    for captured_id, landing in session.execute(
        select(Capture.report_id, Capture.landing_url)
        .where(Capture.source_id == source.id, Capture.landing_url.is_not(None))
        .distinct()
    ):
        if captured_id is not None and landing:
            anchors.setdefault(captured_id, set()).add(landing)
    withdrawn, restored = [], []
    for report in session.scalars(select(Report).where(Report.source_id == source.id)):
        own = anchors.get(report.id, set()) | {report.url}
        pages = {linked[a] for a in own if a in linked} - own
        if pages:
            report.linked_from = min(pages)
            if report.withdrawn_reason == "unlinked":
                report.withdrawn_at, report.withdrawn_reason = None, None
                restored.append(report.id)
        elif any(a in linked for a in own):
            continue  # linked only from its own landing page: nothing to judge by
        elif report.withdrawn_at is None and report.linked_from in fetched:
            report.withdrawn_at, report.withdrawn_reason = when, "unlinked"
            withdrawn.append(report.id)
    return withdrawn, restored
