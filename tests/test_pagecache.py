"""List pages as evidence and as the page cache: an unchanged recrawl asks for every page
conditionally and still follows the links of pages that answer 304; every list page is a
capture whenever its bytes change, its 304s small rows (crawler/conditional.py,
models/pagecache.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace

from scrapy import Request
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from sqlalchemy import delete, select

from nianbao.crawler.conditional import ConditionalRequests
from nianbao.demo.portalgen import Report, trs_page
from nianbao.demo.server import Page
from nianbao.models import pagecache, runs
from nianbao.models.archive import CaptureIn, header
from nianbao.models.db import open_archive, sessionmaker_for
from nianbao.models.tables import Capture
from tests.conftest import cli_json, crawl

COLUMN = "/zwgk/ndbg/index.html"
LATE = "/zwgk/ndbg/201901/t20190120_2001.html"  # linked before it exists
LATER = "/zwgk/ndbg/202001/t20200120_2002.html"  # added to the column later


def page_captures(db_url: str) -> list[tuple[str, int, str | None, str | None]]:
    """(path, status, ETag, body hash) of every list-page capture, oldest first."""
    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as session:
        rows = session.execute(
            select(Capture.url, Capture.status, Capture.headers, Capture.body_sha256)
            .where(Capture.report_id.is_(None), Capture.kind.in_(("page", "not_modified")))
            .order_by(Capture.id)
        ).all()
    engine.dispose()
    return [(u.split("/", 3)[3], st, header(h, "etag"), sha) for u, st, h, sha in rows]


def cached_urls(db_url: str) -> dict[str, str | None]:
    """Path → ETag of the latest page capture with a body (what the page cache is)."""
    return {path: etag for path, status, etag, sha in page_captures(db_url) if sha}


def report_page(slug: str, year: int, seeds: dict[str, tuple[str, list[str]]]) -> Page:
    _title, lines = seeds["000"]
    report = Report(
        slug, f"梨树镇{year}年政府信息公开工作年度报告", lines, f"{year + 1}-01-20", "trs"
    )
    return Page(trs_page(report, "梨树镇人民政府"))


def test_recrawl_follows_the_links_of_pages_that_answer_304(db_url, county, seeds, serve):
    # The column already links a report that is not published yet (404 on the first crawl).
    column = county.get(COLUMN)
    link = f'<li><a href="{LATE}">梨树镇2018年政府信息公开工作年度报告</a></li>'.encode()
    county.set(COLUMN, Page(column.body.replace(b"</ul>", link + b"</ul>", 1)))
    server = serve(county)
    start = server.url("/")

    crawl(db_url, start)
    assert len(cli_json(db_url, "reports")) == 3
    first = {p for p, _status, _size in county.log}
    cached = cached_urls(db_url)
    assert "/" + "zwgk/ndbg/index.html" in {"/" + u for u in cached}
    # report pages are archived as captures, not cached a second time
    assert not [u for u in cached if u.endswith(("_1001.html", "_1002.html", ".docx"))]

    # 1. The report appears at the address the unchanged column always linked to. The column
    # answers 304; its cached copy's links are followed and the report is found. Every page
    # the first crawl asked for is asked for again, also those only report pages link to
    # (a report's 304 is followed through the raw body it confirms).
    county.set(LATE, report_page("2001", 2018, seeds))
    county.clear_log()
    crawl(db_url, start)
    answered = {p: status for p, status, _ in county.log}
    assert answered[COLUMN] == 304
    assert answered[LATE] == 200
    assert first <= set(answered)
    assert {p for p, s in answered.items() if s == 200} == {"/robots.txt", LATE}
    assert len(cli_json(db_url, "reports")) == 4

    # The column's 304 is evidence too: a small row with no body.
    column_rows = [(st, sha) for p, st, _e, sha in page_captures(db_url) if p == COLUMN[1:]]
    assert column_rows[0][0] == 200 and column_rows[0][1]
    assert (304, None) in column_rows

    # 2. The column changes (a new report on it): downloaded whole, a new capture of it kept
    # beside the old one (so "first linked on" is provable), the cache is the latest.
    column = county.get(COLUMN)
    link = f'<li><a href="{LATER}">梨树镇2019年政府信息公开工作年度报告</a></li>'.encode()
    county.set(COLUMN, Page(column.body.replace(b"</ul>", link + b"</ul>", 1)))
    county.set(LATER, report_page("2002", 2019, seeds))
    county.clear_log()
    crawl(db_url, start)
    answered = {p: status for p, status, _ in county.log}
    assert answered[COLUMN] == 200 and answered[LATER] == 200
    assert len(cli_json(db_url, "reports")) == 5
    assert cached_urls(db_url)["zwgk/ndbg/index.html"] == county.get(COLUMN).etag
    bodies = [sha for p, st, _e, sha in page_captures(db_url) if p == COLUMN[1:] and sha]
    assert len(bodies) == 2 and bodies[0] != bodies[1]

    # 3. With conditional requests off, every page is downloaded whole again.
    county.clear_log()
    crawl(db_url, start, "-s", "NIANBAO_CONDITIONAL_ENABLED=False")
    assert not [p for p, s, _ in county.log if s == 304]


def _middleware(db_url: str, source: str) -> ConditionalRequests:
    crawler = get_crawler(settings_dict={"NIANBAO_DB": db_url, "NIANBAO_SOURCE": source})
    crawler.stats.open_spider()
    mw = ConditionalRequests(crawler, db_url)
    asyncio.run(mw.spider_opened(SimpleNamespace(source=source)))
    return mw


def test_a_304_is_answered_from_the_cache_or_asked_again_plainly(db_url):
    url = "http://portal.example/zwgk/index.html"
    body = "<html><body><a href='/a.html'>政务公开</a></body></html>".encode()
    engine = open_archive(db_url)
    Session = sessionmaker_for(engine)
    with Session.begin() as session:
        run = runs.start_run(session, "example", None, {})
        source_id = run.source_id
        now = datetime.now(UTC)
        saved = pagecache.save(
            session,
            source_id,
            [
                CaptureIn(
                    "example",
                    url,
                    200,
                    now,
                    {"ETag": ['"v1"'], "Content-Type": ["text/html"]},
                    body,
                ),
                # no validator to ask with: kept as evidence, never asked for conditionally
                CaptureIn("example", url + "?x", 200, now, {}, body),
                # the same bytes again: no second capture
                CaptureIn("example", url, 200, now, {"ETag": ['"v1"']}, body),
            ],
        )
    assert (saved.changed, saved.unchanged) == (2, 1)

    mw = _middleware(db_url, "example")
    try:
        request = Request(url)
        mw.process_request(request)
        assert request.headers[b"If-None-Match"] == b'"v1"'
        # POSTs (Hanweb dataproxy forms share one URL) are never conditional
        post = Request(url, method="POST")
        mw.process_request(post)
        assert b"If-None-Match" not in post.headers

        replayed = asyncio.run(mw.process_response(request, Response(url, status=304)))
        assert replayed.status == 200 and "cached" in replayed.flags
        assert replayed.body == body and replayed.css("a::attr(href)").get() == "/a.html"

        # the cached copy vanished after the crawl began: fetched again, unconditionally
        with Session.begin() as session:
            session.execute(delete(Capture).where(Capture.kind == "page"))
        again = asyncio.run(mw.process_response(request, Response(url, status=304)))
        assert isinstance(again, Request) and again.dont_filter
        assert b"If-None-Match" not in again.headers
        mw.process_request(again)
        assert b"If-None-Match" not in again.headers
        assert mw.stats.get_value("conditional/cache_missing") == 1
    finally:
        mw.spider_closed(None)
        engine.dispose()


def test_answers_to_form_posts_under_one_url_are_compared_form_by_form(db_url):
    """A CMS answers many forms under one address (jpage groups, Epoint pages): each answer
    is compared with the last answer to its own form, so an unchanged recrawl stores none
    of them again, and a changed one is stored even if another form got those bytes."""
    url = "http://portal.example/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=2"
    a, b = b"<datastore>A</datastore>", b"<datastore>B</datastore>"

    def posted(form: str, body: bytes) -> CaptureIn:
        now = datetime.now(UTC)
        return CaptureIn("example", url, 200, now, {}, body, context={"form": form})

    engine = open_archive(db_url)
    Session = sessionmaker_for(engine)
    with Session.begin() as session:
        source_id = runs.start_run(session, "example", None, {}).source_id
        first = pagecache.save(
            session, source_id, [posted("columnid=1", a), posted("columnid=2", b)]
        )
    with Session.begin() as session:
        again = pagecache.save(
            session, source_id, [posted("columnid=1", a), posted("columnid=2", b)]
        )
    with Session.begin() as session:
        swapped = pagecache.save(session, source_id, [posted("columnid=1", b)])
    engine.dispose()
    assert (first.changed, first.unchanged) == (2, 0)
    assert (again.changed, again.unchanged) == (0, 2)
    assert (swapped.changed, swapped.unchanged) == (1, 0)


def test_the_cache_answers_with_the_newest_capture_its_wire_body_decoded(db_url):
    """What a 304 is answered with: the latest 200 page capture at the URL, of this source
    only, its gzip body as sent undone, with that capture's validators and type."""
    import gzip

    url = "http://portal.example/zwgk/index.html"
    old, new = (
        f"<html><body><a href='/{n}.html'>第{n}页</a></body></html>".encode() for n in (1, 2)
    )
    engine = open_archive(db_url)
    Session = sessionmaker_for(engine)
    gz = {"Content-Encoding": ["gzip"], "Content-Type": ["text/html; charset=utf-8"]}
    with Session.begin() as session:
        mine = runs.start_run(session, "example", None, {}).source_id
        other = runs.start_run(session, "elsewhere", None, {}).source_id
        early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
        pagecache.save(
            session,
            mine,
            [CaptureIn("example", url, 200, early, gz | {"ETag": ['"v1"']}, gzip.compress(old))],
        )
        pagecache.save(
            session,
            mine,
            [CaptureIn("example", url, 200, late, gz | {"ETag": ['"v2"']}, gzip.compress(new))],
        )
        # the same URL under another source, saved last: not this source's cache
        pagecache.save(
            session,
            other,
            [CaptureIn("elsewhere", url, 200, late, {"ETag": ['"x"']}, b"<html>other</html>")],
        )
    try:
        with Session() as session:
            cached = pagecache.load(session, "example", url)
            assert pagecache.load(session, "example", url + "?nope") is None
        assert cached is not None
        assert cached.body == new and cached.etag == '"v2"'
        assert cached.content_type == "text/html; charset=utf-8"
        assert cached.fetched_at == late
    finally:
        engine.dispose()
