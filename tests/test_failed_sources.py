"""A source of which no page was received whole is ``failed``, with the reason (issue 11 §3).

The regression: a portal whose every page was a binary served as text/html (stopped by the
binary guard) counted its robots.txt as a "fetched page" and came out ``ok`` with exit 0,
so cron never said that nothing could be archived.
"""

from __future__ import annotations

from nianbao.demo.server import Page, Portal
from nianbao.models.runs import failure_reason, run_status, summarize
from tests.conftest import cli_json, crawl

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64


def _failed_run(db_url: str, url: str) -> tuple[str, dict]:
    out = crawl(db_url, url, check=False)
    assert out.returncode == 3, out.stdout + out.stderr
    [run] = cli_json(db_url, "runs")
    assert run["status"] == "failed", run
    return out.stdout, run


def test_every_page_a_binary_served_as_html_fails_the_source(db_url, serve):
    portal = Portal(
        {
            "/robots.txt": Page(b"User-agent: *\nDisallow: /admin/\n", "text/plain"),
            "/": Page(PNG),
        }
    )
    server = serve(portal)
    stdout, run = _failed_run(db_url, server.url("/"))
    why = "every page was stopped: binary body served as text/html (1)"
    assert f": failed ({why}); 0 pages fetched" in stdout, stdout
    assert run["errors"]["failed"] == why
    assert run["counts"].get("pages_received", 0) == 0


def test_every_page_skipped_by_robots_fails_the_source(db_url, serve):
    portal = Portal(
        {
            "/robots.txt": Page(b"User-agent: *\nDisallow: /\n", "text/plain"),
            "/": Page("<html><body><a href='/zwgk/'>政务公开</a></body></html>".encode()),
        }
    )
    server = serve(portal)
    stdout, run = _failed_run(db_url, server.url("/"))
    why = "every page was skipped: forbidden by robots.txt (2)"  # / and /sitemap.xml
    assert f": failed ({why})" in stdout, stdout
    assert run["errors"]["failed"] == why
    assert portal.log == [("/robots.txt", 200, len(b"User-agent: *\nDisallow: /\n"))]


def test_a_start_page_answering_404_fails_the_source(db_url, serve):
    portal = Portal({"/robots.txt": Page(b"User-agent: *\n", "text/plain")})
    server = serve(portal)
    stdout, run = _failed_run(db_url, server.url("/"))
    assert ": failed (every page failed: HTTP 404 (1))" in stdout, stdout


def test_run_status_counts_only_pages_received():
    # robots.txt answered, every page stopped: Scrapy counted a response, we do not
    stats = {"downloader/response_count": 1, "portal/skipped/binary_as_text": 3}
    assert run_status(stats) == "failed"
    assert run_status({"portal/pages_received": 1}) == "ok"
    assert run_status({"portal/pages_received": 1}, "shutdown") == "shutdown"
    assert run_status({"frontier/dequeued": 0}) == "idle"
    # A shared-frontier worker whose requests ended at a peer (a redirect to a page the peer
    # had): nothing received, nothing failed. Not so alone, nor with a failure counted.
    assert run_status({"frontier/dequeued": 2, "frontier/filtered": 1}) == "idle"
    assert run_status({"frontier/dequeued": 0}, "shutdown") == "failed"
    assert run_status({"frontier/dequeued": 2, "portal/skipped/error": 1}) == "failed"
    assert run_status({}) == "failed"
    # ... but what it took failed while its peers received the source's pages (a missing
    # sitemap.xml and a dead link): the source did not fail, and the summary says so.
    took_404s = {"frontier/dequeued": 2, "portal/skipped/http_404": 2}
    assert run_status(took_404s) == "failed"  # nobody received anything: failed
    assert run_status({**took_404s, "frontier/source_received": 0}) == "failed"
    peers = {**took_404s, "frontier/source_received": 12}
    assert run_status(peers) == "idle"
    assert summarize(peers, "finished").reason == (
        "12 pages received by other workers; of this one's, every page failed: HTTP 404 (2)"
    )
    assert run_status(peers, "shutdown") == "failed"
    assert failure_reason(stats) == "every page was stopped: binary body served as text/html (3)"
    mixed = {
        "portal/skipped/robots": 2,
        "portal/skipped/error": 1,
        "downloader/exception_type_count/twisted.internet.error.ConnectionRefusedError": 1,
        "portal/blocked": 4,
    }
    assert failure_reason(mixed) == (
        "every page was blocked, skipped or failed: anti-bot challenge (412/521/verification"
        " page) (4); forbidden by robots.txt (2); fetch error (connection refused) (1)"
    )
    assert failure_reason({}) == "no page could be fetched"


def test_a_source_with_one_page_received_is_ok(db_url, serve):
    portal = Portal({"/": Page("<html><body><p>政务</p></body></html>".encode())})
    server = serve(portal)
    out = crawl(db_url, server.url("/"))
    assert ": ok; 1 pages fetched" in out.stdout, out.stdout
