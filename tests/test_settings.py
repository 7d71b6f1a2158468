"""Crawl settings: what a crawler built from the project settings runs."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.extensions.remote_control import RemoteControl
from scrapy.extensions.telnet import TelnetConsole
from scrapy.utils.misc import is_generator_with_return_value

from nianbao.crawl import crawl_settings
from nianbao.crawler.spiders.portal import PortalSpider


@pytest.mark.parametrize("extension", [RemoteControl, TelnetConsole])
def test_no_listening_server_in_a_crawl(extension: type, tmp_path) -> None:
    """Scrapy 2.19 enables RemoteControl (an HTTP server executing posted code) by default;
    no crawl of ours listens on a port (issue 11 §4)."""
    crawler = Crawler(PortalSpider, crawl_settings(f"sqlite:///{tmp_path / 'a.db'}"))

    async def build() -> object:
        # RemoteControl asks for a running asyncio loop before anything else.
        return extension.from_crawler(crawler)

    with pytest.raises(NotConfigured):
        asyncio.run(build())


def test_no_spider_callback_is_a_generator_that_returns_a_value():
    """What WARN_ON_GENERATOR_RETURN_VALUE checked on every response (switched off in the
    settings: it parsed the callback's source each time), checked once here."""
    generators = [
        fn for _name, fn in inspect.getmembers(PortalSpider) if inspect.isgeneratorfunction(fn)
    ]
    assert len(generators) >= 4  # parse, parse_robots, parse_sitemap, _follow, ...
    assert not [fn.__name__ for fn in generators if is_generator_with_return_value(fn)]


def test_extensions_that_are_off_are_not_even_imported(tmp_path) -> None:
    """RemoteControl and TelnetConsole are off; loading them only to hear so imported
    aiohttp and twisted.conch (0.25-0.4 s of every crawl process's start-up). Scrapy imports
    every key of EXTENSIONS, even one set to None, so they must be out of EXTENSIONS_BASE.
    In a fresh interpreter: this one has imported both for the test above."""
    import subprocess
    import sys

    script = f"""
import sys
from scrapy.crawler import Crawler
from scrapy.utils.reactor import install_reactor
from nianbao.crawl import crawl_settings
from nianbao.crawler.spiders.portal import PortalSpider
install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
crawler = Crawler(PortalSpider, crawl_settings({f"sqlite:///{tmp_path / 'a.db'}"!r}))
crawler._apply_settings()
print(sorted(type(e).__name__ for e in crawler.extensions.middlewares))
print([m for m in ("aiohttp", "twisted.conch") if m in sys.modules])
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    ).stdout.splitlines()
    assert "CoreStats" in out[0] and "LinkWatch" in out[0] and "AutoThrottle" in out[0]
    assert out[1] == "[]"


def test_cookie_domains_are_judged_without_the_network(tmp_path) -> None:
    """Scrapy asks tldextract whether a cookie's Domain is a public suffix; with no cached
    Public Suffix List (a new machine) tldextract downloaded one, with no timeout, on the
    reactor's thread. The crawl's cookie middleware reads tldextract's bundled snapshot.
    In a fresh interpreter with an empty tldextract cache and every DNS look-up recorded
    (and refused): nothing is looked up, a cookie for a public suffix is refused, one for
    the site is kept."""
    import os
    import subprocess
    import sys

    script = f"""
import socket
tried = []
def refuse(host, *args, **kwargs):
    tried.append(host)
    raise socket.gaierror(-2, "offline")
socket.getaddrinfo = refuse
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, Request
from scrapy.utils.misc import build_from_crawler, load_object
from nianbao.crawl import crawl_settings
from nianbao.crawler.spiders.portal import PortalSpider
crawler = Crawler(PortalSpider, crawl_settings({f"sqlite:///{tmp_path / 'a.db'}"!r}))
enabled = crawler.settings.getwithbase("DOWNLOADER_MIDDLEWARES")
[name] = [k for k, v in enabled.items() if v is not None and "CookiesMiddleware" in k]
mw = build_from_crawler(load_object(name), crawler)
page = "http://www.a.gov.cn/zwgk/"
headers = {{"Set-Cookie": ["wide=1; Domain=.gov.cn; Path=/", "site=2; Domain=a.gov.cn; Path=/"]}}
mw.process_response(Request(page), HtmlResponse(page, headers=headers, body=b"<html></html>"))
nxt = Request("http://www.a.gov.cn/ndbg/")
mw.process_request(nxt)
print(tried)
print(nxt.headers.get("Cookie"))
"""
    env = dict(os.environ, TLDEXTRACT_CACHE=str(tmp_path / "psl-cache"))
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr[-2000:]
    tried, cookie = out.stdout.splitlines()[-2:]
    assert tried == "[]", out.stderr[-2000:]
    assert cookie == "b'site=2'"
