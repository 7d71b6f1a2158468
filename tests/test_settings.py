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
