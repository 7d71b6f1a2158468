"""Scrapy's cookie middleware, with the Public Suffix List it needs read offline.

Scrapy (2.19) asks ``tldextract`` whether a cookie's ``Domain`` attribute is a public
suffix, through a module-level ``TLDExtract`` built with tldextract's defaults: on its first
use in a process with no cached copy (a new machine, a new virtualenv) it downloads the list
from publicsuffix.org, then from raw.githubusercontent.com, with no timeout, on the
reactor's thread. A portal's first ``Set-Cookie: ...; Domain=...`` could therefore hold the
whole crawl for as long as the operating system waits on a blocked connection (both hosts
are often unreachable from mainland China, and from firewalled archive servers), and an
offline machine logged two tracebacks before tldextract fell back to its bundled snapshot.

Here that lookup uses the snapshot that ships with tldextract, and no disk cache: no
network, the same answer on every machine with the same package versions. Scrapy has no
setting for it, so the middleware swaps the module's extractor when it is built (checked by
``tests/test_settings.py``: a Scrapy that renames it fails there, not in a crawl).
"""

from __future__ import annotations

from typing import Any

from scrapy.downloadermiddlewares import cookies as scrapy_cookies
from tldextract import TLDExtract

OFFLINE_PSL = TLDExtract(
    cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True, include_psl_private_domains=True
)


class CookiesMiddleware(scrapy_cookies.CookiesMiddleware):
    """Scrapy's, unchanged, except where the Public Suffix List comes from (module docstring)."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> Any:
        scrapy_cookies._split_domain = OFFLINE_PSL
        return super().from_crawler(crawler)
