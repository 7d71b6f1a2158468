"""robots.txt answering 5xx means "disallow all" for the crawl (RFC 9309 §2.3.1.4); 4xx
means there is none: allow all (issue 15)."""

from __future__ import annotations

import pytest

from nianbao.demo.server import Page, Portal
from tests.conftest import cli_json, crawl

HOME = "<html><body><a href='/zwgk/'>政务公开</a></body></html>".encode()
FAST_RETRY = ["-s", "NIANBAO_BACKOFF_BASE=0", "-s", "RETRY_TIMES=1", "-v"]


@pytest.mark.backend("sqlite", "postgresql")
def test_robots_txt_answering_503_disallows_the_whole_host(db_url, serve):
    portal = Portal(
        {
            "/robots.txt": Page(b"<h1>Service Unavailable</h1>", status=503),
            "/": Page(HOME),
            "/zwgk/": Page("<html><body><p>政务公开</p></body></html>".encode()),
        }
    )
    server = serve(portal)
    out = crawl(db_url, server.url("/"), *FAST_RETRY, check=False)
    assert out.returncode == 3, out.stdout + out.stderr
    # robots.txt asked twice (one retry), nothing else of the host
    assert {path for path, *_ in portal.log} == {"/robots.txt"}, portal.log
    assert len(portal.log) == 2, portal.log
    [run] = cli_json(db_url, "runs")
    assert run["status"] == "failed"
    why = "robots.txt answered a server error, read as disallow all"
    assert run["errors"]["failed"].startswith(f"every page was skipped: {why} ("), run
    assert f"failed (every page was skipped: {why}" in out.stdout, out.stdout
    # logged once, however many requests it refused
    assert out.stderr.count("answered HTTP 503: nothing of") == 1, out.stderr


def test_robots_txt_answering_404_allows_everything(db_url, serve):
    portal = Portal(
        {
            "/robots.txt": Page(b"not found", status=404),
            "/": Page(HOME),
            "/zwgk/": Page("<html><body><p>政务公开</p></body></html>".encode()),
        }
    )
    server = serve(portal)
    out = crawl(db_url, server.url("/"), *FAST_RETRY)
    assert ": ok;" in out.stdout, out.stdout
    assert {"/", "/zwgk/"} <= {path for path, *_ in portal.log}
    [run] = cli_json(db_url, "runs")
    assert run["status"] == "ok"
