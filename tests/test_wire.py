"""Real servers, real bytes (issue 11): portals that compress, chunk and mislabel are
archived, and a capture is the exchange as it crossed the network.

The regression this file exists for: a portal that gzips its pages (nearly every real one)
got nothing archived, because the binary guard judged the gzip magic on the wire as "a
binary served as text/html". Every crawl here runs against a local HTTP/1.1 server that
compresses when asked.
"""

from __future__ import annotations

import gzip
import hashlib
import subprocess

import pytest
from sqlalchemy import select

from nianbao.demo.server import ENCODERS, Page, encode
from nianbao.models.db import open_archive, sessionmaker_for
from nianbao.models.tables import Capture
from nianbao.pipelines import entity
from tests.conftest import NIANBAO, cli_json, crawl

EXPECTED_REPORTS = 3  # the county fixture's three reports


def report_captures(db_url: str) -> list[Capture]:
    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as session:
        rows = list(
            session.scalars(select(Capture).where(Capture.kind == "report").order_by(Capture.id))
        )
        session.expunge_all()
    engine.dispose()
    return rows


def raw_bytes(db_url: str, *args: str) -> bytes:
    proc = subprocess.run(
        [*NIANBAO, "raw", *args, "--db", db_url], capture_output=True, timeout=120, check=True
    )
    return proc.stdout


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw", "br", "zstd", "gzip, gzip"])
def test_a_compressing_portal_is_archived_whole(db_url, county, serve, encoding):
    """One crawl per Content-Encoding real servers send: every report archived."""
    county.encoding = encoding
    server = serve(county)
    out = crawl(db_url, server.url("/"))
    assert "0 errors" in out.stdout, out.stdout + out.stderr
    assert len(cli_json(db_url, "reports")) == EXPECTED_REPORTS
    sent = {v for v in county.encodings_sent}
    assert sent == {", ".join(ENCODERS[n.strip()][0] for n in encoding.split(","))}
    html = [c for c in report_captures(db_url) if "html" in str(c.headers)]
    assert html, "no HTML report captured"
    for capture in html:
        assert capture.body_form == "wire"
        ce = [v for k, vs in capture.headers.items() if k.lower() == "content-encoding" for v in vs]
        assert ce, capture.headers
        assert f"Content-Encoding: {ce[0]}".encode() in capture.response_head.encode("latin-1")


def test_a_gzip_capture_is_the_bytes_on_the_wire(db_url, county, serve):
    """The regression itself, and the evidence: blob = gzip bytes as sent, heads exact."""
    server = serve(county)
    crawl(db_url, server.url("/"))
    captures = report_captures(db_url)
    assert len({c.report_id for c in captures}) == EXPECTED_REPORTS
    capture = next(c for c in captures if c.url.endswith("_1001.html"))
    page = county.get("/" + capture.url.split("/", 3)[3])
    assert page is not None
    wire = raw_bytes(db_url, str(capture.id))
    assert wire[:2] == b"\x1f\x8b" and wire == gzip.compress(page.body, mtime=0)
    assert capture.body_sha256 == hashlib.sha256(wire).hexdigest()
    assert raw_bytes(db_url, str(capture.id), "--decoded") == page.body
    http = raw_bytes(db_url, str(capture.id), "--http")
    assert http.startswith(b"HTTP/1.1 200 OK\r\n") and http.endswith(wire)
    # the exchange, as sent and received
    assert capture.protocol == "HTTP/1.1" and capture.reason == "OK"
    assert capture.remote_ip == "127.0.0.1" and capture.remote_port == server.port
    request = capture.request_head.encode("latin-1")
    path = capture.url.split("/", 3)[3]
    assert request.startswith(f"GET /{path} HTTP/1.1\r\n".encode())
    assert b"\r\nHost: 127.0.0.1:" in request and b"\r\nAccept-Encoding: " in request
    assert b"\r\nUser-Agent: nianbao/" in request and request.endswith(b"\r\n\r\n")
    head = capture.response_head.encode("latin-1")
    assert head.endswith(b"\r\n\r\n") and b"\r\nServer: nginx/" in head
    assert b"\r\nSet-Cookie: JSESSIONID=" in head and b"\r\nVary: Accept-Encoding" in head
    # JSON for auditors carries the same
    listed = cli_json(db_url, "captures", str(capture.report_id))
    mine = next(c for c in listed if c["id"] == capture.id)
    assert mine["body_form"] == "wire" and mine["remote_ip"] == "127.0.0.1"
    # reprocess re-derives from the wire bytes: nothing changes with the same cleaner
    outcome = cli_json(db_url, "reprocess")
    assert outcome["unchanged"] == outcome["versions"] == len({c.version_id for c in captures})
    assert outcome["rederived"] == 0 and not outcome["errors"]


def test_chunked_responses_keep_their_transfer_encoding_on_record(db_url, county, serve):
    county.chunk_every = 1  # every response chunked, none with a Content-Length
    server = serve(county)
    crawl(db_url, server.url("/"))
    captures = report_captures(db_url)
    assert len({c.report_id for c in captures}) == EXPECTED_REPORTS
    for capture in captures:
        head = capture.response_head.encode("latin-1")
        assert b"\r\nTransfer-Encoding: chunked\r\n" in head
        assert b"Content-Length" not in head
        # the blob is after transfer decoding: no chunk sizes in it
        decoded = raw_bytes(db_url, str(capture.id), "--decoded")
        assert not decoded.startswith(b"1000\r\n")


def test_gzip_label_on_a_plain_body_is_logged_and_archived_as_sent(db_url, county, serve):
    """``Content-Encoding: gzip`` on a body that is not gzip: one warning, stored raw."""
    path = "/zwgk/ndbg/201501/t20150120_1001.html"
    page = county.get(path)
    assert page is not None
    county.set(
        path,
        Page(page.body, encoding="identity", headers={"Content-Encoding": "gzip"}),
    )
    server = serve(county)
    out = crawl(db_url, server.url("/"), "-v")
    assert "kept as sent, undecoded" in out.stderr
    assert len(cli_json(db_url, "reports")) == EXPECTED_REPORTS
    capture = next(c for c in report_captures(db_url) if c.url.endswith(path))
    assert raw_bytes(db_url, str(capture.id)) == page.body
    assert "not undone" in (capture.note or "")


def test_a_wrong_content_length_is_survived(db_url, county, serve):
    """A Content-Length larger than the body (a truncated answer) neither hangs nor loses
    the other reports; the page is retried and logged."""
    path = "/zwgk/ndbg/201501/t20150120_1001.html"
    page = county.get(path)
    assert page is not None
    county.set(
        path,
        Page(page.body, encoding="identity", headers={"Content-Length": str(len(page.body) + 10)}),
    )
    server = serve(county)
    out = crawl(
        db_url, server.url("/"), "-s", "DOWNLOAD_TIMEOUT=3", "-s", "RETRY_TIMES=0", check=False
    )
    assert out.returncode in (0, 3), out.stderr
    assert len(cli_json(db_url, "reports")) >= EXPECTED_REPORTS - 1


def test_a_gzipped_binary_served_as_html_is_still_stopped(db_url, county, serve):
    """The guard judges the decoded bytes: a PNG inside gzip under text/html is stopped."""
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 400
    county.set("/zwgk/ndbg/banner.html", Page(png, encoding="gzip"))
    column = county.get("/zwgk/ndbg/index.html")
    assert column is not None
    link = b'<li><a href="/zwgk/ndbg/banner.html">2019\xe5\xb9\xb4\xe5\xb9\xb4\xe5\xba\xa6\xe6\x8a\xa5\xe5\x91\x8a</a></li>'
    county.set("/zwgk/ndbg/index.html", Page(column.body.replace(b"</ul>", link + b"</ul>", 1)))
    server = serve(county)
    out = crawl(db_url, server.url("/"), "-v")
    assert "binary body served as text/html" in out.stderr
    assert len(cli_json(db_url, "reports")) == EXPECTED_REPORTS


def test_entity_decoding_is_bounded():
    """A bomb stops at the limit, whatever the coding; a wrong label keeps the bytes."""
    bomb = b"\0" * (8 << 20)
    for name in ("gzip", "deflate", "deflate-raw", "br", "zstd"):
        coded = encode(bomb, name)
        with pytest.raises(entity.TooLarge):
            entity.decode(coded, [ENCODERS[name][0]], 1 << 20)
        assert entity.decode(coded, [ENCODERS[name][0]], 16 << 20).body == bomb
    plain = "<html>年度报告</html>".encode()
    got = entity.decode(plain, ["gzip"], 1 << 20)
    assert got.body == plain and got.error
    assert entity.decode(encode(plain, "gzip, gzip"), ["gzip, gzip"], 1 << 20).body == plain


# The pool's connections close (a timer at 0 s queued first) in the same reactor pass as
# the handler's give-up timer fires: Scrapy's close fired the deferred twice and Twisted
# logged "CRITICAL: while handling timed call ... AlreadyCalledError".
CLOSE_RACE = """
import asyncio
from scrapy.utils.reactor import install_reactor
install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
from scrapy.utils.test import get_crawler
from twisted.internet import defer, reactor
from twisted.logger import globalLogPublisher
from nianbao.crawler.wire import WireDownloadHandler

failures = []
globalLogPublisher.addObserver(
    lambda event: failures.append(event["log_failure"]) if "log_failure" in event else None
)
handler = WireDownloadHandler(get_crawler())
handler._disconnect_timeout = 0

def closing():
    d = defer.Deferred()
    reactor.callLater(0, d.callback, None)
    return d

handler._pool.closeCachedConnections = closing

async def main():
    try:
        await handler.close()
        await asyncio.sleep(0.05)  # the give-up timer's turn, had it not been cancelled
    finally:
        reactor.stop()

reactor.callWhenRunning(lambda: defer.Deferred.fromFuture(asyncio.ensure_future(main())))
reactor.run()
print("failures:", [f.type.__name__ for f in failures])
"""


def test_closing_the_handler_as_its_give_up_timer_fires_logs_nothing() -> None:
    proc = subprocess.run(
        [NIANBAO[0], "-c", CLOSE_RACE], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "failures: []", proc.stderr[-2000:]


def test_decoding_never_guesses_the_charset_of_the_compressed_body(monkeypatch):
    """Scrapy's ``Response.replace`` reads the old response's ``encoding``; for "text/html"
    without a charset that guesses one from the body (charset_normalizer, ≈ 10 ms), which
    here was the still-gzipped body: wasted on every such page. The decoded response works
    its charset out from its own bytes, declared in the page or guessed, as before."""
    from scrapy.http import HtmlResponse, Request, TextResponse
    from scrapy.utils.test import get_crawler

    from nianbao.crawler.wire import ContentDecoding, Wire

    guessed: list[bytes] = []
    original = TextResponse._body_inferred_encoding

    def spy(self):
        guessed.append(self.body)
        return original(self)

    monkeypatch.setattr(TextResponse, "_body_inferred_encoding", spy)
    page = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    page += "<title>年度报告</title></head><body>政府信息公开</body></html>"
    body = page.encode("gb18030")

    def decode(url: str, body: bytes):
        """A gzip "text/html" answer without a charset, through the middleware."""
        request = Request(url, meta={"nianbao_wire": Wire()})
        response = HtmlResponse(
            url,
            body=gzip.compress(body),
            headers={"Content-Type": "text/html", "Content-Encoding": "gzip"},
            request=request,
        )
        return mw.process_response(request, response)

    mw = ContentDecoding.from_crawler(get_crawler(settings_dict={"COMPRESSION_ENABLED": True}))
    decoded = decode("http://127.0.0.1/r.html", body)
    assert guessed == []
    assert decoded.body == body and b"Content-Encoding" not in decoded.headers
    assert "年度报告" in decoded.text and decoded.encoding == "gb18030"
    # Nothing declared anywhere: the decoded body is guessed from, the compressed one never.
    plain = "<html><body>政府信息公开工作年度报告，依申请公开。</body></html>".encode()
    decoded = decode("http://127.0.0.1/p.html", plain)
    assert guessed == []
    assert "年度报告" in decoded.text
    assert guessed == [plain]
