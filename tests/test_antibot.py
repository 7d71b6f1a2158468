"""Anti-bot answers real portals give are ``blocked`` captures, never reports nor
withdrawals (issue 11 §1): 瑞数 (Ruishu) 412 with its ``$_ts`` script, 加速乐 (Jiasule)
521 with ``__jsluid_s`` and a ``__jsl_clearance`` challenge, and a WAF's 200 verification
page. Served gzip-compressed, as those gateways do, on a first crawl and on a recrawl of a
report already archived at the challenged address.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from nianbao.demo.server import Page, Portal
from nianbao.models.db import open_archive, sessionmaker_for
from nianbao.models.tables import Capture
from tests.conftest import cli_json, crawl

RUISHU = Page(
    b"<!DOCTYPE html><html><head>"
    b'<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
    b"<script>$_ts=window['$_ts'];if(!$_ts)$_ts=window['$_ts']={};$_ts.nsd=29341;"
    b'$_ts.cd="qbxrrpAlcGqvcs3mqEQGqEkqqAk3rIaPDIEvcL9qcEYmqsEDqGm";</script>'
    b'<script type="text/javascript" charset="utf-8" src="/aHw8KDLh8oFf/c.FxJzG50F.dfe1675.js"'
    b" r='m'></script></head><body></body></html>",
    status=412,
    headers={"Set-Cookie": "NOh8RTWx6K2dO=5xD2C4hSr3G; Path=/; HttpOnly"},
)
JIASULE = Page(
    b"<html><body><script>document.cookie=('_')+('_')+('j')+('s')+('l')+('_')+('c')+('l')"
    b"+('e')+('a')+('r')+('a')+('n')+('c')+('e')+('_')+('s')+('=')+(-~[]+'6917')+"
    b"('8').concat(-~{}+'.')+'|-1|'+'ZcjAlE0dlW'+('%3D;max-age=3600;path=/');"
    b"location.href=location.pathname+location.search</script></body></html>",
    status=521,
    headers={
        "Set-Cookie": "__jsluid_s=9f1c0b7e2d4a6c8e0f1a3b5c7d9e1f20; max-age=31536000; path=/; HttpOnly"
    },
)
WAF = Page(
    "<html><head><title>安全验证</title></head><body><div id='challenge-platform'>"
    "正在进行安全验证，请稍候……</div><script>setTimeout(function(){window.location.reload()},"
    "2000)</script></body></html>".encode()
)
CHALLENGES = {"ruishu": RUISHU, "jiasule": JIASULE, "waf": WAF}
REPORT = "/zwgk/ndbg/201501/t20150120_1001.html"  # the county fixture's first report
COLUMN = "/zwgk/ndbg/index.html"


def captures(db_url: str, kind: str) -> list[Capture]:
    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as session:
        rows = list(session.scalars(select(Capture).where(Capture.kind == kind)))
        session.expunge_all()
    engine.dispose()
    return rows


def test_challenges_are_blocked_captures_never_reports(db_url, county: Portal, serve):
    """Each challenge, linked from the report column under a report's title and sent
    gzip-compressed: a blocked capture with its status and bytes; the reports still in."""
    links = b""
    for name, page in CHALLENGES.items():
        path = f"/zwgk/ndbg/202401/t20240101_{name}.html"
        county.set(path, page)
        title = f"{name}镇2023年政府信息公开工作年度报告".encode()
        links += b'<li><a href="' + path.encode() + b'">' + title + b"</a></li>"
    column = county.get(COLUMN)
    assert column is not None
    county.set(COLUMN, Page(column.body.replace(b"</ul>", links + b"</ul>", 1)))
    server = serve(county)
    out = crawl(db_url, server.url("/"))
    assert ": ok" in out.stdout, out.stdout + out.stderr
    reports = cli_json(db_url, "reports")
    assert len(reports) == 3 and not any("t20240101_" in r["url"] for r in reports), reports
    blocked = {c.url.rsplit("_", 1)[-1]: c for c in captures(db_url, "blocked")}
    assert {k: c.status for k, c in blocked.items()} == {
        "ruishu.html": 412,
        "jiasule.html": 521,
        "waf.html": 200,
    }
    for capture in blocked.values():
        assert capture.report_id is None and capture.version_id is None
        head = capture.response_head.encode("latin-1")
        assert b"\r\nContent-Encoding: gzip\r\n" in head, head
    assert b"\r\nSet-Cookie: __jsluid_s=" in blocked["jiasule.html"].response_head.encode()
    runs = cli_json(db_url, "runs")
    assert runs[0]["status"] == "ok" and runs[0]["counts"]["blocked"] == 3


@pytest.mark.parametrize("name", sorted(CHALLENGES))
@pytest.mark.parametrize("where", ["report", "column"])
def test_a_challenge_on_recrawl_withdraws_nothing(db_url, county: Portal, serve, name, where):
    """An archived report (or its column) that starts answering with a challenge: the
    report is not withdrawn, and its captures show it was tried and blocked."""
    server = serve(county)
    crawl(db_url, server.url("/"))
    before = {r["url"].split("/", 3)[3]: r for r in cli_json(db_url, "reports")}
    rid = before[REPORT.lstrip("/")]["id"]
    county.set(REPORT if where == "report" else COLUMN, CHALLENGES[name])
    out = crawl(db_url, server.url("/"))
    assert ": ok" in out.stdout, out.stdout + out.stderr
    after = cli_json(db_url, "reports")
    assert len(after) == 3
    assert all(r["withdrawn_at"] is None for r in after), after
    if where == "report":
        listed = cli_json(db_url, "captures", str(rid))
        blocked = [c for c in listed if c["kind"] == "blocked"]
        assert len(blocked) == 1, listed
        assert blocked[0]["status"] == CHALLENGES[name].status
        assert len(cli_json(db_url, "versions", str(rid))) == 1
    else:
        assert [c.url.split("/", 3)[3] for c in captures(db_url, "blocked")] == [COLUMN.lstrip("/")]
    runs = cli_json(db_url, "runs")
    assert runs[0]["counts"].get("blocked") == 1
