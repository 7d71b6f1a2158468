"""The web view (issue 13): every route in-process, Memento per RFC 7089, and an XSS corpus
archived from a portal that must never come alive on the app's origin."""

from __future__ import annotations

import re
import subprocess
import urllib.error
import urllib.request
from datetime import UTC, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import lxml.html
import pytest

from nianbao.demo.portalgen import Report, trs_page
from nianbao.demo.server import Page
from nianbao.errors import NianbaoError
from nianbao.web import create_app
from tests.conftest import NIANBAO, cli_json, crawl

P1001 = "/zwgk/ndbg/201501/t20150120_1001.html"
# Markup that would run if an archived page reached the app's origin unescaped.
# (A refresh to javascript: is archived too: tests/test_middlewares.py.)
LIVE = (
    '<script>alert("s")</script><img src="x" onerror="alert(1)">'
    '<svg onload="alert(2)"><circle r="1"/></svg><a href="javascript:alert(3)">点此查看</a>'
    '<meta http-equiv="refresh" content="1000">'
    '<p onclick="alert(5)">第九条 监督检查。</p>'
)
# The same, as text in the report (escaped by the page, so it is in the clean text).
AS_TEXT = '<script>alert("t")</script><img src=x onerror=alert(6)> <a href="javascript:alert(7)">'


def links(header: str) -> list[tuple[str, dict[str, str]]]:
    """Parse an RFC 8288 Link header / RFC 6690 link-format body into (uri, params)."""
    out = []
    for match in re.finditer(r"<([^>]*)>((?:\s*;\s*[a-z]+=\"[^\"]*\")*)", header):
        params = dict(re.findall(r'([a-z]+)="([^"]*)"', match.group(2)))
        out.append((match.group(1), params))
    return out


def rels(header: str) -> dict[str, str]:
    return {rel: uri for uri, p in links(header) for rel in [p.get("rel", "")]}


@pytest.fixture
def archive(db_url, county, serve, seeds):
    """v1 of report 1001, then v2 with a one-character edit, the XSS text and live markup."""
    title, lines = seeds["002"]
    server = serve(county)
    crawl(db_url, server.url("/"))
    edited = list(lines)
    target = max(range(len(edited)), key=lambda i: len(edited[i]))
    edited[target] = edited[target][:10] + "检" + edited[target][11:]
    edited.append(AS_TEXT)
    page = trs_page(Report("1001", title, edited, "2015-01-20"), "方正县")
    page = page.replace(b'<div class="TRS_Editor">', b'<div class="TRS_Editor">' + LIVE.encode())
    county.set(P1001, Page(page))
    crawl(db_url, server.url("/"))
    reports = cli_json(db_url, "reports")
    report = next(r for r in reports if r["versions"] == 2)
    app = create_app(db_url)
    app.testing = True
    yield app.test_client(), report, server.url(P1001), db_url
    app.config["NIANBAO_ENGINE"].dispose()


def assert_inert(html: str) -> lxml.html.HtmlElement:
    """Nothing in an app page can run: no scripts, handlers, javascript: URLs, SVG, refresh."""
    doc = lxml.html.fromstring(html)
    assert not doc.xpath("//script|//svg|//object|//embed|//meta[@http-equiv]")
    for el in doc.iter():
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (el.tag, name)
            assert not value.strip().lower().startswith("javascript:"), (el.tag, name, value)
    return doc


@pytest.mark.backend("sqlite", "postgresql")
def test_pages_list_report_diff_replay(archive):
    client, report, url, _db = archive
    page = client.get("/")
    assert page.status_code == 200
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert_inert(page.text)
    assert page.text.count("/reports/") == 3
    # filters: status, year, organ, full text in another script, source, paging
    assert client.get("/?status=changed").text.count("/reports/") == 1
    assert client.get("/?status=withdrawn").text.count("/reports/") == 0
    assert client.get(f"/?year={report['year']}").text.count(f'/reports/{report["id"]}"') == 1
    assert client.get("/?q=監督檢查").text.count("/reports/") >= 1  # traditional finds simplified
    assert client.get("/?q=没有这样的文字").text.count("/reports/") == 0
    assert client.get("/?source=nope").text.count("/reports/") == 0
    assert client.get("/?page=2").status_code == 200
    matrix = client.get(f"/?source={report['source']}")
    assert f"/sources/{report['source']}/matrix" in matrix.text
    doc = assert_inert(client.get(f"/sources/{report['source']}/matrix").text)
    cells = doc.xpath("//td/a/@href")
    assert f"/reports/{report['id']}" in cells and len(cells) == 3
    assert client.get("/sources/nope/matrix").status_code == 404
    assert client.get("/?year=abc").status_code == 400

    page = client.get(f"/reports/{report['id']}")
    assert page.status_code == 200
    doc = assert_inert(page.text)
    assert AS_TEXT in doc.text_content()  # shown, as text
    assert "&lt;script&gt;" in page.text
    assert f"/reports/{report['id']}/diff?a=1&amp;b=2" in page.text
    assert client.get(f"/reports/{report['id']}?version=1").text.count(AS_TEXT) == 0
    assert client.get("/reports/999999").status_code == 404

    page = client.get(f"/reports/{report['id']}/diff?a=1&b=2")
    assert page.status_code == 200
    doc = assert_inert(page.text)
    dels = [d.text_content() for d in doc.xpath("//del")]
    inss = [i.text_content() for i in doc.xpath("//ins")]
    # character level: the edited character, not its paragraph
    assert min(len(d) for d in dels) == 1 and "检" in inss
    assert any(AS_TEXT in i for i in inss)
    assert doc.xpath('//*[@id="change-0"]') and doc.xpath('//a[@href="#change-1"]')

    captures = {c["id"]: c for c in cli_json(_db, "captures", str(report["id"]))}
    latest = max(i for i, c in captures.items() if c["status"] == 200)
    page = client.get(f"/captures/{latest}")
    assert page.status_code == 200
    doc = assert_inert(page.text)
    assert "第九条 监督检查。" in doc.text_content()  # the page's text, scripts gone
    assert 'alert("s")' not in page.text
    assert "User-Agent" in page.text and "HTTP/1.1 200" in page.text
    (frame,) = doc.xpath("//iframe")
    assert frame.get("sandbox") == ""
    original = client.get(frame.get("src"))
    assert original.headers["Content-Security-Policy"] == "sandbox"
    assert b"<script>" in original.data  # the original bytes, only ever sandboxed
    raw = client.get(f"/captures/{latest}/raw")
    assert raw.headers["Content-Security-Policy"] == "sandbox"
    assert raw.headers["Content-Disposition"].startswith("attachment")
    assert raw.headers["Content-Type"] == "application/octet-stream"
    assert raw.data[:2] == b"\x1f\x8b"  # as sent: gzip
    assert client.get("/captures/999999").status_code == 404


@pytest.mark.backend("sqlite", "postgresql")
def test_memento_rfc7089(archive):
    client, _report, url, _db = archive
    base = "http://localhost"
    # TimeMap (RFC 7089 §5.1.1): original, self with from/until, timegate, mementos
    tm = client.get(f"/web/timemap/link/{url}")
    assert tm.status_code == 200 and tm.headers["Content-Type"] == "application/link-format"
    entries = links(tm.text)
    assert entries[0] == (url, {"rel": "original"})
    assert entries[1][1]["rel"] == "self" and entries[1][1]["type"] == "application/link-format"
    assert {"from", "until"} <= set(entries[1][1])
    assert entries[2] == (f"{base}/web/{url}", {"rel": "timegate"})
    mementos = entries[3:]
    assert len(mementos) == 2
    assert mementos[0][1]["rel"] == "first memento" and mementos[-1][1]["rel"] == "last memento"
    times = [parsedate_to_datetime(p["datetime"]) for _u, p in mementos]
    assert times[0] < times[1]
    assert entries[1][1]["from"] == mementos[0][1]["datetime"]
    first, last = (u for u, _p in mementos)
    assert re.fullmatch(rf"{base}/web/\d{{14}}/{re.escape(url)}", first)

    # TimeGate (§4.1.1): 302 to the closest memento, Vary, Link original + timemap
    early = format_datetime(times[0] - timedelta(days=365), usegmt=True)
    gate = client.get(f"/web/{url}", headers={"Accept-Datetime": early})
    assert gate.status_code == 302 and gate.headers["Location"] == first
    assert gate.headers["Vary"] == "accept-datetime"
    gate_links = rels(gate.headers["Link"])
    assert gate_links["original"] == url
    assert gate_links["timemap"] == f"{base}/web/timemap/link/{url}"
    later = format_datetime(times[1] + timedelta(seconds=1), usegmt=True)
    assert client.get(f"/web/{url}", headers={"Accept-Datetime": later}).headers["Location"] == last
    assert client.get(f"/web/{url}").headers["Location"] == last  # no header: the latest
    bad = client.get(f"/web/{url}", headers={"Accept-Datetime": "yesterday"})
    assert bad.status_code == 400

    # Memento (§4.1.2 / §5.1.1): Memento-Datetime, Link original/timegate/timemap/first/next
    m = client.get(first.removeprefix(base))
    assert m.status_code == 200
    assert m.headers["Memento-Datetime"] == mementos[0][1]["datetime"]
    assert m.headers["Content-Security-Policy"] == "sandbox"
    m_links = rels(m.headers["Link"])
    assert m_links["original"] == url and m_links["timegate"] == f"{base}/web/{url}"
    assert m_links["first memento"] == first and m_links["last memento"] == last
    assert m_links["next memento"] == last and "prev memento" not in m_links
    m2 = client.get(last.removeprefix(base))
    assert rels(m2.headers["Link"])["prev memento"] == first
    assert "alert(" in m2.text  # the archived markup, served only under the sandbox CSP
    # a datetime between mementos redirects to the closest one
    stamp = (times[0] - timedelta(days=1)).astimezone(UTC).strftime("%Y%m%d%H%M%S")
    near = client.get(f"/web/{stamp}/{url}")
    assert near.status_code == 302 and near.headers["Location"] == first

    js = client.get(f"/web/timemap/json/{url}").get_json()
    assert js["original_uri"] == url and len(js["mementos"]["list"]) == 2
    assert js["mementos"]["first"]["uri"] == first
    assert client.get("/web/http://127.0.0.1:1/nothing.html").status_code == 404
    assert client.get("/web/timemap/link/http://127.0.0.1:1/nothing.html").status_code == 404


def test_nianbao_serve_answers_memento_over_http(archive):
    """The real command: `nianbao serve` on a free port, a TimeGate asked over HTTP."""
    _client, _report, url, db = archive
    proc = subprocess.Popen(
        [*NIANBAO, "serve", "--db", db, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # printed once the socket listens
        port = int(re.search(r"read-only on http://127\.0\.0\.1:(\d+)/", line).group(1))
        opener = urllib.request.build_opener(NoRedirect)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/web/{url}",
            headers={"Accept-Datetime": "Thu, 01 Jan 2015 00:00:00 GMT"},
        )
        with pytest.raises(urllib.error.HTTPError) as answer:
            opener.open(request, timeout=30)
        answer.value.close()
        assert answer.value.code == 302
        assert answer.value.headers["Vary"] == "accept-datetime"
        location = answer.value.headers["Location"]
        assert location.startswith(f"http://127.0.0.1:{port}/web/")
        with urllib.request.urlopen(location, timeout=30) as memento:
            assert memento.headers["Memento-Datetime"]
            assert memento.headers["Content-Security-Policy"] == "sandbox"
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def test_serve_refuses_a_missing_archive(tmp_path):
    with pytest.raises(NianbaoError, match="nianbao"):
        create_app(f"sqlite:///{tmp_path / 'none.sqlite'}")
