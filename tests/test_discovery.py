"""Discovery against local portals: every report found, no negative archived, robots.txt
obeyed, traps bounded. Each test crawls one portal of :mod:`tests.portals` with the
real CLI and reads the server's request log.

The requests-per-report figure of each portal is in the assertion messages (and printed
with ``pytest -s``).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from urllib.parse import urlsplit

import pytest

from nianbao.crawler import settings as crawl_settings
from nianbao.crawler.urls import canonical
from nianbao.demo.portalgen import Report, county_portal
from tests import portals as testportals
from tests.conftest import FAST, cli, cli_json, crawl
from tests.portals import LocalSite
from tests.trapportal import HUGE_BYTES, trap_portal

MAX_REQUESTS_PER_REPORT = 8


def run_counts(db_url: str) -> dict[str, int]:
    """The spider's counters of the last crawl run, as the archive recorded them."""
    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as con:
        (counts,) = con.execute("SELECT counts FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()
    return json.loads(counts)


def crawl_portal(db_url: str, tp: LocalSite, serve, *extra: str) -> list[dict]:
    """Crawl ``tp`` and check what every portal must satisfy; return the archived reports."""
    server = serve(tp.portal)
    out = crawl(db_url, server.url("/"), *extra).stdout
    # Deliberate refusals (robots.txt, traps, oversized answers) are not errors to cron.
    assert " 0 errors" in out, out
    reports = cli_json(db_url, "reports")
    found = {(r["organ"], r["year"]) for r in reports}
    assert found == tp.expected, f"missing {tp.expected - found}, unexpected {found - tp.expected}"
    titles = [r["title"] for r in reports]
    for negative in tp.negatives:
        assert negative not in titles
    paths = [path for path, _status, _size in tp.portal.log]
    for forbidden in tp.forbidden:
        assert not [p for p in paths if p.startswith(forbidden)], f"requested {forbidden}"
    # One page, one fetch (robots.txt included: the sitemap reader uses the robots
    # middleware's copy); only answers that asked us to retry are requested again.
    retried = {path for path, status, _ in tp.portal.log if status in (429, 503)}
    again = Counter(canonical(server.url(p)) for p in paths if p not in retried)
    twice = {u: n for u, n in again.items() if n > 1}
    assert not twice, f"fetched more than once: {twice}"
    # Slow pages (served after Page.delay) were waited for, not given up on.
    for slow in tp.slow:
        assert (slow, 200) in [(p, st) for p, st, _ in tp.portal.log], f"{slow} not fetched"
    per_report = len(paths) / len(tp.expected)
    message = f"{len(paths)} requests for {len(tp.expected)} reports = {per_report:.1f} per report"
    print(message)
    assert per_report <= MAX_REQUESTS_PER_REPORT, message
    return reports


def test_hanweb_portal_gbk_datastore_lists_and_a_pdf(db_url, seeds, serve) -> None:
    tp = testportals.hanweb_portal(seeds)
    reports = crawl_portal(db_url, tp, serve)
    # A PDF behind a landing page, and one listed directly (found only via dataproxy.jsp).
    pdfs = [r for r in reports if r["organ"] in ("县教育局", "县司法局")]
    assert len(pdfs) == 2 and all(r["url"].endswith(".pdf") for r in pdfs)
    groups = [p for p, _, _ in tp.portal.log if p.startswith("/module/web/jpage/dataproxy.jsp")]
    assert len(groups) == 3, groups  # records 3-4, 5-6 and 7 of the 7 the page announces


def test_paged_portal_page_numbers_bom_and_a_docx(db_url, seeds, serve) -> None:
    tp = testportals.paged_portal(seeds)
    reports = crawl_portal(db_url, tp, serve)
    assert any(r["url"].endswith(".docx") for r in reports)
    lists = {p for p, _, _ in tp.portal.log if p.startswith("/list.php?cat=nb")}
    assert lists == {f"/list.php?cat=nb&page={n}" for n in (1, 2, 3)}


def test_reports_listed_only_in_a_gzipped_sitemap_are_found(db_url, seeds, serve) -> None:
    tp = testportals.sitemap_portal(seeds)
    crawl_portal(db_url, tp, serve)
    paths = [p for p, _, _ in tp.portal.log]
    assert "/sitemap.xml" in paths and "/sitemaps/content.xml.gz" in paths


def test_sitemaps_are_read_when_robots_txt_is_not_obeyed(db_url, seeds, serve) -> None:
    tp = testportals.sitemap_portal(seeds)
    reports = crawl_portal(db_url, tp, serve, "-s", "ROBOTSTXT_OBEY=False")
    assert len(reports) == len(tp.expected)
    assert [p for p, _, _ in tp.portal.log].count("/robots.txt") == 1


def test_sitemaps_can_be_switched_off(db_url, seeds, serve) -> None:
    tp = testportals.sitemap_portal(seeds)
    server = serve(tp.portal)
    crawl(db_url, server.url("/"), "-s", "NIANBAO_SITEMAPS=False")
    assert cli_json(db_url, "reports") == []
    assert "/sitemap.xml" not in [p for p, _, _ in tp.portal.log]


def test_traps_are_bounded_and_robots_txt_obeyed(db_url, seeds, serve) -> None:
    tp = trap_portal(seeds)
    crawl_portal(db_url, tp, serve)
    log = tp.portal.log
    paths = [p for p, _, _ in log]
    counts = run_counts(db_url)

    # robots.txt: the disallowed report was never requested, and the refusal was counted.
    assert counts.get("skipped/robots", 0) >= 1
    # The endless calendar stops at its per-pattern allowance; the chain of unpromising
    # pages at NIANBAO_MAX_COLD_HOPS.
    calendar = [p for p in paths if p.startswith("/zwgk/rili/")]
    assert 1 <= len(calendar) <= crawl_settings.NIANBAO_TRAP_MAX_PER_PATTERN
    about = [p for p in paths if p.startswith("/about/")]
    assert 1 <= len(about) <= crawl_settings.NIANBAO_MAX_COLD_HOPS
    # Search, print and share variants are never requested.
    assert not [p for p in paths if "search" in p or "print" in p or "share" in p]
    assert counts.get("trap/search", 0) >= 1 and counts.get("trap/print_or_share", 0) >= 1
    # The redirect loop costs one pass round it.
    assert len([p for p in paths if p.startswith("/zwgk/jgzn/")]) == 2
    assert counts["skipped/redirect_loop"] == 1
    # 50 MB pages are cut off, with or without Content-Length; the binary is stopped.
    sent = {p: size for p, _, size in log}
    for huge in ("/zwgk/ndbg/202401/t20240120_7400.html", "/zwgk/ndbg/huibian.html"):
        assert sent[huge] < HUGE_BYTES / 2
    assert counts["skipped/too_large"] == 2
    assert counts["skipped/binary_as_text"] == 1
    # …while a PDF served as text/html under an extensionless address is a report.
    assert "/zwgk/ndbg/getfile.jsp?id=7600" in paths
    # The 429 was retried after the Retry-After it asked for, not at once.
    times = [t for t, p in tp.portal.times if p == "/zwgk/ndbg/index_1.html"]
    statuses = [s for p, s, _ in log if p == "/zwgk/ndbg/index_1.html"]
    assert statuses == [429, 200]
    assert times[1] - times[0] >= 1.0
    # …and the site as a whole paused meanwhile. The window opens when the 429 request
    # reached the server, so it also holds what the other download slot sent while the
    # 429 was on its way back (a request or two; more on a loaded machine). Without the
    # pause the crawl carries on at full pace: 13 requests in this window when measured.
    during = [p for t, p in tp.portal.times if times[0] < t < times[1]]
    assert len(during) <= crawl_settings.CONCURRENT_REQUESTS + 3, during
    # A User-Agent that names the project and a contact URL.
    assert tp.portal.user_agents == {crawl_settings.USER_AGENT}
    assert "nianbao" in crawl_settings.USER_AGENT and "+http" in crawl_settings.USER_AGENT


@pytest.mark.parametrize("budget", [12])
def test_page_budget_is_spent_on_the_report_column_first(db_url, seeds, serve, tmp_path, budget):
    tp = testportals.paged_portal(seeds)
    server = serve(tp.portal)
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[[sources]]\nname = "paged"\nstart_urls = ["{server.url("/")}"]\nmax_pages = {budget}\n',
        encoding="utf-8",
    )

    cli(db_url, "crawl", "--sources", str(sources), *FAST)
    fetched = [p for p, _, _ in tp.portal.log if urlsplit(p).path != "/robots.txt"]
    assert len(fetched) == budget
    assert run_counts(db_url).get("skipped/budget", 0) > 0
    found = {(r["organ"], r["year"]) for r in cli_json(db_url, "reports")}
    # Nothing of the fallback crawl (links with nothing promising about them: news,
    # other columns, page chrome) while promising pages were left.
    fallback = ["/news/", "/xwzx/index.html", "/hdjl/index.html", "/list.php?cat=czyjs&page=1"]
    assert not [p for p in fallback if p in fetched], " ".join(fetched)
    column = [p for p in fetched if p.startswith(("/show.php", "/uploads/"))]
    # Every report fetched was archived (id=103 is the landing page of the DOCX).
    reports = [p for p in column if p.startswith(("/show.php?id=1", "/uploads/"))]
    reports = [p for p in reports if p != "/show.php?id=103"]
    assert len(found) == len(reports) > 0, (found, fetched)


def test_pagination_does_not_count_toward_link_depth(db_url, seeds, serve) -> None:
    """A column paged only by 下一页 (one report per list page) is as deep as its first page."""
    titles = [seeds[k][0] for k in ("000", "002")]
    reports = [
        Report(f"80{i}", t, seeds[k][1], f"201{5 + i}-01-20")
        for i, (k, t) in enumerate(zip(("000", "002"), titles, strict=True))
    ]
    reports.append(
        Report("803", "王家山镇2018年政府信息公开工作年度报告", seeds["001"][1][2:], "2019-01-15")
    )
    portal = county_portal(reports, "方正县", per_page=1)
    server = serve(portal)
    # home (0) → 政务公开 (1) → 年度报告 list pages (2, however many) → reports (3)
    crawl(db_url, server.url("/"), "-s", "NIANBAO_MAX_DEPTH=3")
    lists = [p for p, _, _ in portal.log if p.startswith("/zwgk/ndbg/index")]
    assert lists == ["/zwgk/ndbg/index.html", "/zwgk/ndbg/index_1.html", "/zwgk/ndbg/index_2.html"]
    assert len(cli_json(db_url, "reports")) == 3
    assert "skipped/depth" in run_counts(db_url)


def test_link_depth_bounds_the_crawl(db_url, county, serve) -> None:
    server = serve(county)
    crawl(db_url, server.url("/"), "-s", "NIANBAO_MAX_DEPTH=2")
    assert cli_json(db_url, "reports") == []
    assert not [p for p, _, _ in county.log if p.startswith("/zwgk/ndbg/2")]
