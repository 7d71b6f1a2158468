"""What the spider reads off a fetched page, in one function of the page's bytes.

The portal spider acts on a page (:meth:`~crawler.spiders.portal.PortalSpider.parse`) from
what it reads off it: the charset, the title and whether the page may be a report, its
links, what it points to (for :mod:`crawler.linkwatch`), the list pages a CMS reaches
without links, and a landing page's labelled fields for its attachments. Reading is the
costly part: decoding, parsing into a tree and walking it. It needs nothing of the crawl
but the page and a few facts of its request (:class:`ReadJob`), so a crawl with a cleaning
pool reads its pages there (:func:`read_job`), and a report candidate is cleaned in the
same job, where its bytes already are.

Why: the crawl process is the crawl's one serial stage, and bare Scrapy's pages/s is the
bar. Reading a page was about a quarter of that process's CPU on a county portal (py-spy,
30 portals x 40 reports, 2026-12-03: the parse, the links, the link targets and the
decoding), and a report candidate's bytes then went to a cleaning worker to be parsed
again. With the reading in the pool, a page's bytes cross to a worker once and the crawl
process only fetches and acts. Without a pool (no item pipelines, ``NIANBAO_CLEAN_WORKERS``
0) the spider calls :func:`read` on its own response: the same function, so the two ways
cannot read a page differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from scrapy.http import TextResponse

from nianbao.crawler import cms
from nianbao.crawler import links as linkmod
from nianbao.crawler.cms.base import ListPage
from nianbao.crawler.urls import is_attachment
from nianbao.pipelines.decode import charset_of, decode, scrapy_codec
from nianbao.pipelines.document import Sealed
from nianbao.pipelines.metadata import page_fields
from nianbao.pipelines.recognize import (
    HEAD_CHARS,
    head_looks_like_candidate,
    title_names_genre,
)

_ATTACHMENT_TEXT = re.compile(r"\.(pdf|docx?|wps)\s*$", re.I)
# Asked of the page's lxml tree directly, as plain strings: through parsel, every text node
# became a Selector (a few hundred a page), the costliest part of parsing a page.
_TITLE_TEXT = etree.XPath("descendant-or-self::title/text()", smart_strings=False)
# Script and style content is raw text in the HTML parser's tree (never elements): its
# text nodes are their element's children, so the parent test is enough. The ancestor
# test it replaces took a quarter more of the reactor's time on real pages (245 → 192 µs
# a page over 400 of them, the same text nodes on every one, 2026-12-02).
_BODY_TEXT = etree.XPath(
    "//body//text()[not(parent::script or parent::style)]", smart_strings=False
)


def body_head(root: Any, limit: int = HEAD_CHARS) -> str:
    """The page's text as the pre-filter reads it (its text nodes outside scripts and
    styles, each stripped, the empty ones dropped, joined by spaces), only as far as
    ``limit`` characters: the whole, or a prefix of it at least ``limit`` long."""
    parts: list[str] = []
    size = 0
    for text in _BODY_TEXT(root):
        if text := text.strip():
            parts.append(text)
            size += len(text) + 1
            if size > limit:
                break
    return " ".join(parts)


@dataclass
class PageReading:
    """What the spider acts on: everything it needs of the page but its response."""

    encoding: str  # decode()'s verdict on the bytes: Scrapy's text and the cleaning use it
    json: bool = False  # a CMS list API's answer: no HTML, only ``cms``
    title: str = ""
    candidate: bool = False  # the pre-filter's verdict: a report, perhaps
    links: list[linkmod.Link] = field(default_factory=list)
    targets: set[str] | None = None  # every address it points to (status 200 only)
    # its labelled fields, for the attachments a candidate links (None: it links none)
    landing_fields: dict[str, str] | None = None
    cms: list[tuple[str, ListPage]] = field(default_factory=list)  # (adapter, page)
    # read in a worker: the candidate's document, cleaned there, and each stage's CPU-ms
    doc: Sealed | None = None
    spent: dict[str, float] | None = None


def to_attachment(link: linkmod.Link) -> bool:
    """A link to a PDF/DOC/DOCX/WPS, by its address or by its text (``…报告.pdf``)."""
    return bool(is_attachment(link.url) or _ATTACHMENT_TEXT.search(link.text))


def cms_pages(text: str, url: str, came_from: Any) -> list[tuple[str, ListPage]]:
    """The list pages (and items) the CMS adapters find in ``text``; ``came_from`` is
    ``(adapter, state)`` when an adapter asked for this page (its request's ``cms``)."""
    out: list[tuple[str, ListPage]] = []
    for adapter in cms.ADAPTERS:
        state = came_from[1] if came_from and came_from[0] == adapter.name else None
        if came_from and state is None:
            continue  # an answer to another adapter's request
        out.extend((adapter.name, page) for page in adapter.next_lists(text, url, state))
    return out


def read(
    response: TextResponse, found: str, came_from: Any, cms_url: str, known_report: bool
) -> PageReading:
    """Read ``response`` (decoded as ``found``); ``cms_url`` is the address the CMS
    adapters are told (a start page as the user gave it)."""
    text = response.text
    if response.selector.type == "json":
        return PageReading(found, json=True, cms=cms_pages(text, cms_url, came_from))
    root = response.selector.root
    title = " ".join(_TITLE_TEXT(root)).strip()
    # the pre-filter's verdict, reading the page's text only when the title says no
    candidate = title_names_genre(title) or head_looks_like_candidate(body_head(root))
    page_links = linkmod.links(response.selector, response.url, text)
    targets = None
    if response.status == 200:  # the same extraction tells linkwatch what is linked
        targets = linkmod.targets(response.selector, response.url, text, page_links)
    fields = None
    if (candidate or known_report) and any(map(to_attachment, page_links)):
        fields = page_fields(text)  # the page's 索引号, 发布机构, dates …
    return PageReading(
        found,
        title=title,
        candidate=candidate,
        links=page_links,
        targets=targets,
        landing_fields=fields,
        cms=cms_pages(text, cms_url, came_from),
    )


@dataclass
class ReadJob:
    """A page as a worker reads it: its response class (HTML, XML, JSON: Scrapy chose it
    from the headers), address, status and entity (content codings undone), the facts of
    its request :func:`read` needs, and, to clean a candidate there, the context its
    capture keeps (None: not cleaned there)."""

    cls: type[TextResponse]
    url: str
    status: int
    body: bytes
    content_type: str
    came_from: Any
    cms_url: str
    known_report: bool
    clean: dict[str, Any] | None


def read_job(job: ReadJob) -> PageReading:
    """In a cleaning worker: the page decoded as the spider decodes it, read, and a
    candidate (or a known report) cleaned when ``job.clean`` says so."""
    found = decode(job.body, charset_of(job.content_type)).encoding
    response = job.cls(url=job.url, status=job.status, body=job.body, encoding=scrapy_codec(found))
    reading = read(response, found, job.came_from, job.cms_url, job.known_report)
    if job.clean is not None and not reading.json and (reading.candidate or job.known_report):
        from nianbao.pipelines.derive import document_for
        from nianbao.pipelines.stage import finish_sealed

        doc = document_for(job.body, job.url, job.content_type, job.clean)
        doc.decoded_as = found
        reading.doc, reading.spent = finish_sealed(doc)
    return reading
