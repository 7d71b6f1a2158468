"""The portal spider: from a source's start URLs to every annual report on the portal.

It walks the portal's links, spending its page budget where reports are likely (links
whose text or URL names the disclosure column or a report are fetched first), hands
every page that might be a report to the pipelines with its raw response, and follows
attachments (PDF/DOC/DOCX) from report pages. URLs of reports already in the archive are
re-requested directly, so a report that left its column is still checked.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse

from crawler.items import CaptureItem
from crawler.urls import canonical, is_attachment, is_binary
from pipelines.decode import response_encoding
from pipelines.document import Document
from pipelines.metadata import page_fields
from pipelines.recognize import looks_like_candidate

# Where reports live: link text and URL fragments that lead toward the report column.
_HOT_TEXT = re.compile(r"(年度报告|年报|工作报告)")
_WARM_TEXT = re.compile(
    r"(政府信息公开|信息公开|政务公开|公开目录|信息公开目录|法定主动公开|下一页|下页|尾页|\d+)"
)
_HOT_URL = re.compile(r"(ndbg|gknb|xxgknb|zfxxgknb|nianbao|annual)", re.I)
_WARM_URL = re.compile(r"(xxgk|zwgk|gkml|zfxxgk|index_\d+|page=\d+)", re.I)
_BLOCKED = re.compile(
    r"(\$_ts|__jsluid|window\.location\.reload|challenge-platform|安全验证|访问验证)"
)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def link_priority(text: str, url: str) -> int:
    """Higher for links more likely to lead to a report."""
    score = 0
    if _HOT_TEXT.search(text) or _HOT_URL.search(url):
        score += 20
    if _WARM_TEXT.search(text) or _WARM_URL.search(url):
        score += 5
    return score


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(
        self,
        source: str | None = None,
        start_urls: Any = None,
        allowed_domains: Any = None,
        organ: str | None = None,
        max_pages: Any = None,
        known_urls: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.start_urls = _as_list(start_urls)
        if not self.start_urls:
            raise ValueError("the portal spider needs start_urls (-a start_urls=URL[,URL...])")
        self.source = source or re.sub(r"\W+", "-", self.start_urls[0].split("//")[-1]).strip("-")
        self.organ = organ
        domains = _as_list(allowed_domains) or [
            re.sub(r":\d+$", "", u.split("//", 1)[-1].split("/", 1)[0]) for u in self.start_urls
        ]
        self.allowed_domains = domains
        self.max_pages_arg = int(max_pages) if max_pages else None
        self.known_urls = _as_list(known_urls)
        self.requested = 0
        self.seen: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.max_pages = spider.max_pages_arg or crawler.settings.getint("NIANBAO_MAX_PAGES")
        spider.max_depth = crawler.settings.getint("NIANBAO_MAX_DEPTH")
        return spider

    def _allowed(self, url: str) -> bool:
        host = url.split("//", 1)[-1].split("/", 1)[0].split(":")[0].lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def _request(self, url: str, **kwargs: Any) -> scrapy.Request | None:
        """A request within the source's domains and page budget, once per canonical URL."""
        url = canonical(url)
        if url in self.seen or not self._allowed(url):
            return None
        if self.requested >= self.max_pages:
            self.crawler.stats.inc_value("portal/budget_exhausted")
            return None
        self.seen.add(url)
        self.requested += 1
        return scrapy.Request(url, **kwargs)

    async def start(self) -> AsyncIterator[Any]:
        for url in self.start_urls:
            req = self._request(url, callback=self.parse, priority=10)
            if req:
                yield req
        for url in self.known_urls:
            req = self._request(url, callback=self.parse, priority=30, meta={"known_report": True})
            if req:
                yield req

    def _item(self, response: Response, kind: str, **extra: Any) -> CaptureItem:
        headers = {
            k.decode("latin-1"): [v.decode("latin-1") for v in vs]
            for k, vs in response.headers.items()
        }
        return CaptureItem(
            source=self.source,
            url=response.url,
            status=response.status,
            fetched_at=datetime.now(UTC),
            kind=kind,
            headers=headers,
            body=response.body,
            **extra,
        )

    def _page_item(self, response: Response, **extra: Any) -> CaptureItem:
        item = self._item(response, "page", **extra)
        ctype = response.headers.get(b"Content-Type", b"").decode("latin-1")
        charset = None
        if "charset=" in ctype.lower():
            charset = ctype.lower().split("charset=", 1)[1].split(";")[0].strip()
        item.doc = Document(
            url=response.url, body=response.body, content_type=ctype, declared_charset=charset
        )
        if item.landing_title:
            item.doc.metadata["landing_title"] = item.landing_title
        return item

    def parse(self, response: Response, **_: Any) -> Iterator[Any]:
        if response.status == 304:  # answer to a conditional request: seen again, unchanged
            yield self._item(response, "not_modified")
            return
        if response.status in (404, 410):
            if response.meta.get("known_report"):
                yield self._item(response, "gone")
            return
        if response.status in (412, 521) or (
            isinstance(response, TextResponse)
            and len(response.body) < 4096
            and _BLOCKED.search(response.text)
        ):
            self.crawler.stats.inc_value("portal/blocked")
            self.logger.warning(
                "blocked by an anti-bot gateway at %s (HTTP %s)", response.url, response.status
            )
            yield self._item(response, "blocked")
            return
        # An uncompressed (all-ASCII) PDF is typed TextResponse by Scrapy's body sniffing.
        if not isinstance(response, TextResponse) or response.body[:5] == b"%PDF-":
            # A binary reached by a direct link (an attachment we already knew, or a file
            # served under an HTML-looking URL): let the pipelines decide.
            if response.meta.get("known_report") or is_attachment(response.url):
                item = self._page_item(
                    response,
                    landing_url=response.meta.get("landing_url"),
                    landing_title=response.meta.get("landing_title"),
                )
                for key, value in response.meta.get("landing_fields", {}).items():
                    item.doc.metadata[f"landing_{key}"] = value  # type: ignore[union-attr]
                if link_text := response.meta.get("landing_link_text"):
                    item.doc.metadata["landing_link_text"] = link_text  # type: ignore[union-attr]
                yield item
            return
        ctype = response.headers.get(b"Content-Type", b"").decode("latin-1")
        response = response.replace(encoding=response_encoding(response.body, ctype))
        title = " ".join(response.css("title::text").getall()).strip()
        body_text = " ".join(
            t.strip()
            for t in response.xpath(
                "//body//text()[not(ancestor::script)][not(ancestor::style)]"
            ).getall()
            if t.strip()
        )
        if looks_like_candidate(title, body_text) or response.meta.get("known_report"):
            self.crawler.stats.inc_value("portal/candidates")
            yield self._page_item(response)
            landing: dict[str, Any] = {"landing_url": response.url, "landing_title": title}
            for link in response.css("a[href]"):
                url = response.urljoin(link.attrib["href"])
                if is_attachment(url):
                    if "landing_fields" not in landing:
                        landing["landing_fields"] = page_fields(response.text)
                    text = " ".join(link.css("::text").getall()).strip()
                    meta = {**landing, "landing_link_text": text}
                    req = self._request(url, callback=self.parse, priority=25, meta=meta)
                    if req:
                        yield req
        depth = response.meta.get("depth", 0)
        if depth >= self.max_depth:
            return
        for link in response.css("a"):
            href = link.attrib.get("href", "")
            if not href or href.startswith(("javascript:", "mailto:", "tel:", "#")):
                continue
            url = response.urljoin(href)
            if is_binary(url) or is_attachment(url) or not url.startswith("http"):
                continue
            text = " ".join(link.css("::text").getall()).strip()
            req = self._request(url, callback=self.parse, priority=link_priority(text, url))
            if req:
                yield req
