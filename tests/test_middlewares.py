"""Retry-After parsing, back-off delays, binary sniffing."""

from __future__ import annotations

from datetime import UTC, datetime

from scrapy.http import Response
from scrapy.settings import Settings

from nianbao.crawler.middlewares import (
    BackoffRetryMiddleware,
    is_document,
    looks_binary,
    retry_after_seconds,
)


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
