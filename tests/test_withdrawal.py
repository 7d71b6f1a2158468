"""Withdrawal by unlinking, judged from the links a crawl saw (models/withdrawal.py)."""

from __future__ import annotations

from datetime import timedelta

from nianbao.models import queries, withdrawal
from tests.test_archive import T0, _page, _store


def test_reconcile_links_withdraws_unlinked_and_restores_relinked(session, seeds):
    title, lines = seeds["000"]
    stored = _store(session, _page(title, lines), T0)
    url, column = "http://a.gov.cn/r.html", "http://a.gov.cn/list.html"
    rid = stored.report_id
    day = [T0 + timedelta(days=d) for d in range(6)]
    # Never seen linked: no evidence either way, nothing happens.
    assert withdrawal.reconcile_links(session, "a", {}, {column}, day[1]) == ([], [])
    assert withdrawal.reconcile_links(session, "a", {url: column}, {column}, day[1]) == ([], [])
    # The column was not fetched this time: still no evidence.
    assert withdrawal.reconcile_links(session, "a", {}, set(), day[2]) == ([], [])
    # The column was fetched and no longer links to it: unlinked.
    assert withdrawal.reconcile_links(session, "a", {}, {column}, day[3]) == ([rid], [])
    session.commit()
    [report] = queries.list_reports(session)
    assert (report["withdrawn_at"], report["withdrawn_reason"]) == (day[3].isoformat(), "unlinked")
    # Fetching the page directly does not undo an unlink; being linked again does.
    _store(session, _page(title, lines), day[4])
    assert queries.list_reports(session)[0]["withdrawn_reason"] == "unlinked"
    other = "http://a.gov.cn/list_1.html"
    assert withdrawal.reconcile_links(session, "a", {url: other}, {other}, day[5]) == ([], [rid])
    session.commit()
    assert queries.list_reports(session)[0]["withdrawn_at"] is None
