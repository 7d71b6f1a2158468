"""Retry-After parsing, back-off delays, binary sniffing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from scrapy.http import Response
from scrapy.settings import Settings

from nianbao.crawler.middlewares import (
    BackoffRetryMiddleware,
    is_document,
    looks_binary,
    retry_after_seconds,
)
from nianbao.demo.server import Page, Portal
from tests.conftest import cli_json, crawl


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(b"120") == 120.0
    assert retry_after_seconds("Mon, 01 Jan 2024 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Mon, 01 Jan 2024 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds(b"soon") is None
    assert retry_after_seconds(None) is None


def test_backoff_is_exponential_capped_and_honours_retry_after() -> None:
    settings = Settings()
    settings.setmodule("nianbao.crawler.settings")
    settings.set("NIANBAO_BACKOFF_BASE", 2.0)
    settings.set("NIANBAO_BACKOFF_MAX", 20.0)
    mw = BackoffRetryMiddleware(settings)
    assert [mw.delay(n) for n in (1, 2, 3, 4, 5)] == [2.0, 4.0, 8.0, 16.0, 20.0]
    asked = Response("http://x.cn/", status=429, headers={"Retry-After": "7"})
    assert mw.delay(1, asked) == 7.0
    greedy = Response("http://x.cn/", status=503, headers={"Retry-After": "3600"})
    assert mw.delay(1, greedy) == 20.0


def test_binary_sniffing() -> None:
    assert looks_binary(b"MZ\x90\x00\x03")
    assert looks_binary(b"\x89PNG\r\n\x1a\n")
    assert looks_binary(b"<html>" + b"\x00\x00")
    assert not looks_binary("<html><title>年报</title>".encode("gb18030"))
    assert not looks_binary("\ufeff<html>".encode())
    assert is_document(b"%PDF-1.4\n") and is_document(b"PK\x03\x04")
    assert not is_document(b"<html>")


def _trickle() -> Iterator[bytes]:
    """A page at 12 bytes every 0.1 s: never finished within a test's timeouts."""
    yield b"<html><body>"
    for _ in range(300):
        time.sleep(0.1)
        yield "政府信息公开".encode()[:12]


@pytest.mark.backend("sqlite", "postgresql")
def test_a_trickling_page_is_given_up_after_the_total_download_time(db_url, serve) -> None:
    portal = Portal(
        {
            "/": Page("<html><body><a href='/slow.html'>2023年年度报告</a></body></html>".encode()),
            "/slow.html": Page(b"", stream=_trickle),
        }
    )
    server = serve(portal)
    # 1 s per attempt, 3 retries: 4 attempts (4 s) without a total limit; 2 s with one.
    limits = ["-s", "DOWNLOAD_TIMEOUT=1", "-s", "RETRY_TIMES=3", "-s", "NIANBAO_BACKOFF_BASE=0.1"]
    out = crawl(db_url, server.url("/"), *limits, "-s", "NIANBAO_MAX_DOWNLOAD_SECONDS=2")
    # arrivals, not portal.log: a streamed page is logged only once the server notices the
    # client has gone, which may be after the crawl process has exited
    attempts = [path for _, path in portal.times if path == "/slow.html"]
    assert 1 <= len(attempts) <= 2, portal.times
    [run] = cli_json(db_url, "runs")
    assert run["counts"]["skipped/timeout"] == 1, run["counts"]
    assert "fetch" not in run["summary"]["error_kinds"], run["summary"]
    assert ": ok;" in out.stdout, out.stdout


def test_without_a_total_limit_every_attempt_is_made(db_url, serve) -> None:
    portal = Portal(
        {
            "/": Page("<html><body><a href='/slow.html'>2023年年度报告</a></body></html>".encode()),
            "/slow.html": Page(b"", stream=_trickle),
        }
    )
    server = serve(portal)
    limits = ["-s", "DOWNLOAD_TIMEOUT=0.5", "-s", "RETRY_TIMES=2", "-s", "NIANBAO_BACKOFF_BASE=0"]
    crawl(db_url, server.url("/"), *limits, "-s", "NIANBAO_MAX_DOWNLOAD_SECONDS=0")
    # arrivals (see above): the last attempt's log line can come after the crawl has exited
    assert [p for _, p in portal.times if p == "/slow.html"] == ["/slow.html"] * 3


def test_time_spent_travels_with_the_retry_request() -> None:
    """A retry taken from a JOBDIR queue or a shared Redis frontier (another process,
    another clock) still counts the attempts made before it."""
    from scrapy import Request
    from scrapy.utils.test import get_crawler

    from nianbao.crawler.middlewares import DownloadTimeLimit

    crawler = get_crawler()
    settings = Settings()
    settings.setmodule("nianbao.crawler.settings")
    settings.setdict({"NIANBAO_MAX_DOWNLOAD_SECONDS": 10, "DOWNLOAD_TIMEOUT": 30})
    mw = BackoffRetryMiddleware(settings)
    mw.crawler = crawler
    fresh = Request("http://x.cn/")
    mw.process_request(fresh)
    assert fresh.meta["download_timeout"] == 10  # the total, not DOWNLOAD_TIMEOUT
    later = Request("http://x.cn/", meta={"nianbao_download_spent": 7.5})
    mw.process_request(later)
    assert 0 < later.meta["download_timeout"] <= 2.5
    spent = Request("http://x.cn/", meta={"nianbao_download_spent": 10.0})
    with pytest.raises(DownloadTimeLimit):
        mw.process_request(spent)
    assert crawler.stats.get_value("backoff/time_limit") == 1  # type: ignore[union-attr]
    # the meta survives the JSON the Redis frontier and JOBDIR queues store
    from nianbao.crawler import serializer

    assert serializer.loads(serializer.dumps(dict(later.meta)))["nianbao_download_spent"] == 7.5


REFRESH_TO_JS = b'<meta http-equiv="refresh" content="0;url=javascript:void(0)">'


def test_a_refresh_to_javascript_keeps_its_page_and_an_http_refresh_is_followed(
    db_url, county, serve
) -> None:
    """A report page whose ``<meta refresh>`` points at ``javascript:`` is still archived
    (Scrapy's middleware failed it with "Missing scheme"); a refresh to an http URL on
    another page is still followed to the page it names."""
    path = "/zwgk/ndbg/201501/t20150120_1001.html"
    page = county.get(path)
    assert page is not None
    county.set(path, Page(page.body.replace(b"<head>", b"<head>" + REFRESH_TO_JS, 1)))
    county.set("/moved.html", Page(b'<html><head><meta http-equiv="refresh" content="0;url=/">'))
    server = serve(county)
    out = crawl(db_url, server.url("/moved.html"))
    assert "Missing scheme" not in out.stdout + out.stderr
    assert len(cli_json(db_url, "reports")) == 3
