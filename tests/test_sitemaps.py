"""Sitemap reading: robots.txt lines, indexes, gzip, garbage."""

from __future__ import annotations

import gzip

from scrapy.http import Response, TextResponse

from nianbao.crawler.sitemaps import default_sitemap, from_robots, parse, robots_url

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def test_robots_sitemap_lines_are_absolute() -> None:
    robots = TextResponse(
        "http://x.cn/robots.txt",
        body=b"User-agent: *\nDisallow: /admin/\nSitemap: /sm/index.xml\nSitemap: http://x.cn/b.xml\n",
    )
    assert from_robots(robots) == ["http://x.cn/sm/index.xml", "http://x.cn/b.xml"]
    assert robots_url("http://x.cn:8080/a/b.html") == "http://x.cn:8080/robots.txt"
    assert default_sitemap("https://x.cn/a") == "https://x.cn/sitemap.xml"


def test_index_and_gzipped_urlset() -> None:
    index = Response(
        "http://x.cn/sitemap.xml",
        body=f"<sitemapindex {NS}><sitemap><loc>/s/1.xml.gz</loc></sitemap></sitemapindex>".encode(),
    )
    entries = parse(index, max_size=1 << 20)
    assert entries.sitemaps == ["http://x.cn/s/1.xml.gz"] and entries.pages == []
    urlset = f"<urlset {NS}><url><loc>http://x.cn/content/post_1.html</loc></url></urlset>"
    gz = Response("http://x.cn/s/1.xml.gz", body=gzip.compress(urlset.encode()))
    assert parse(gz, max_size=1 << 20).pages == ["http://x.cn/content/post_1.html"]


def test_garbage_and_oversized_sitemaps_yield_nothing(caplog) -> None:
    assert parse(Response("http://x.cn/sitemap.xml", body=b"<html>404</html>"), 1 << 20).pages == []
    bomb = gzip.compress(b"<urlset>" + b" " * 200_000 + b"</urlset>")
    assert parse(Response("http://x.cn/s.xml.gz", body=bomb), max_size=10_000).pages == []
    assert "cannot inflate" in caplog.text
