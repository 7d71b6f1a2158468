"""Versions over time: one portal crawled through a sequence of states.

Each state is a real crawl (the CLI in a subprocess) of a portal served on 127.0.0.1; after
each we check the exact number of reports and versions, and what an auditor retrieves.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from nianbao.demo.portalgen import Report, list_page, split_seed, trs_page
from nianbao.demo.server import Page, Portal
from nianbao.models import queries
from nianbao.models.db import open_archive, sessionmaker_for
from tests.conftest import SEEDS, cli, cli_bytes, cli_json, crawl

ORGAN = "方正县"
P1001 = "/zwgk/ndbg/201501/t20150120_1001.html"
P1002 = "/zwgk/ndbg/201403/t20140305_1002.html"
P1003 = "/zwgk/ndbg/201901/t20190115_1003.html"
P1003_DOCX = P1003.replace(".html", ".docx")
MOVED_1001 = "/zwgk/ndbg/202001/t20200105_1001.html"
NEW_1004 = "/zwgk/ndbg/201702/t20170224_1004.html"


def set_column(portal: Portal, links: list[tuple[str, str]]) -> None:
    """Rewrite the 年度报告 column (two links per list page) to list exactly ``links``."""
    for path in [p for p in portal.paths() if re.match(r"/zwgk/ndbg/index(_\d+)?\.html$", p)]:
        portal.remove(path)
    pages = [links[i : i + 2] for i in range(0, len(links), 2)] or [[]]
    for i, chunk in enumerate(pages):
        name = "index.html" if i == 0 else f"index_{i}.html"
        nxt = f"index_{i + 1}.html" if i + 1 < len(pages) else None
        portal.set(f"/zwgk/ndbg/{name}", Page(list_page("政府信息公开年度报告", chunk, ORGAN, nxt)))


def reports_of(db: str) -> dict[int, dict]:
    """``nianbao reports --json`` by id, read in-process (the CLI's own function, faster)."""
    engine = open_archive(db)
    try:
        with sessionmaker_for(engine)() as session:
            return {r["id"]: r for r in queries.list_reports(session)}
    finally:
        engine.dispose()


def read(db: str, fn, *args):  # type: ignore[no-untyped-def]
    """Call a :mod:`models.queries` function in-process (what the read commands print)."""
    engine = open_archive(db)
    try:
        with sessionmaker_for(engine)() as session:
            return fn(session, *args)
    finally:
        engine.dispose()


def tally(db: str) -> tuple[int, int]:
    """(reports, versions) in the archive."""
    reports = reports_of(db).values()
    return len(reports), sum(r["versions"] for r in reports)


def by_url_tail(db: str) -> dict[str, dict]:
    return {r["url"].rsplit("/", 1)[1]: r for r in reports_of(db).values()}


def now() -> str:
    return datetime.now(UTC).isoformat()


def farm_page(title: str, lines: list[str]) -> bytes:
    """A content-farm copy: the report between junk today's cleaner removes (boilerplate
    rules farm-address, copyright and farm-download; the site's own nav is outside the
    content container)."""
    paras = "".join(f"<p>{line}</p>" for line in lines)
    return f"""<html><head><meta charset="utf-8"><title>{title}_范文大全</title></head><body>
<div class="nav"><a href="/">首页</a> <a href="/fanwen/index.html">范文</a></div>
<h1>{title}</h1><div class="content">{paras}
<p>本文地址：http://fanwen.example/a/1.html</p>
<p>版权声明：此文自动收集于网络，若无意中侵犯了您的版权，请联系我们删除。</p>
<p>下载本文 全文下载</p></div></body></html>""".encode()


def test_a_portal_through_every_kind_of_change(db_url, county, seeds, serve):
    server = serve(county)
    start = server.url("/")
    t1001, l1001 = seeds["002"]
    t1002, _ = seeds["000"]
    column = [
        (P1001, t1001),
        (P1002, t1002),
        (P1003, "王家山镇2018年政府信息公开工作年度报告"),
    ]

    original_1002 = county.get(P1002).body

    # 0. First crawl: three reports, one version each.
    crawl(db_url, start)
    assert tally(db_url) == (3, 3)
    ids = {tail: r["id"] for tail, r in by_url_tail(db_url).items()}
    r1001, r1002 = ids[P1001.rsplit("/", 1)[1]], ids[P1002.rsplit("/", 1)[1]]
    r1003 = ids[P1003_DOCX.rsplit("/", 1)[1]]

    # 1. Unchanged: every report URL answers 304, and so does every other page (the
    # page cache); nothing new, nothing downloaded whole but robots.txt (404s stay 404s).
    county.clear_log()
    out = crawl(db_url, start)
    assert "0 new versions" in out.stdout and "3 not modified (304)" in out.stdout
    answered = {p: status for p, status, _ in county.log}
    assert {P1001, P1002, P1003_DOCX} <= {p for p, s in answered.items() if s == 304}
    assert {p for p, s in answered.items() if s == 200} == {"/robots.txt"}
    assert tally(db_url) == (3, 3)
    caps = cli_json(db_url, "captures", str(r1001))
    assert [(c["status"], c["kind"], c["version"]) for c in caps] == [
        (200, "report", 1),
        (304, "not_modified", 1),
    ]
    assert caps[1]["body_sha256"] is None
    between_1_and_2 = now()

    # 2. A figure corrected: a second version, a one-line diff, --as-of finds the first.
    target = next(i for i, line in enumerate(l1001) if re.search(r"\d{3,}", line))
    old_number = re.search(r"\d{3,}", l1001[target]).group(0)
    new_number = str(int(old_number) + 7)
    corrected = list(l1001)
    corrected[target] = corrected[target].replace(old_number, new_number, 1)
    report_1001 = Report("1001", t1001, corrected, "2015-01-20")
    county.set(P1001, Page(trs_page(report_1001, ORGAN)))
    crawl(db_url, start)
    assert tally(db_url) == (3, 4)
    diff = cli(db_url, "diff", str(r1001), "1", "2").stdout.splitlines()
    changed = [ln for ln in diff if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert len(changed) == 2
    assert old_number in changed[0] and changed[0].startswith("-")
    assert new_number in changed[1] and changed[1].startswith("+")
    assert cli_json(db_url, "show", str(r1001), "--as-of", between_1_and_2)["n"] == 1
    after_2 = now()
    assert cli_json(db_url, "show", str(r1001), "--as-of", after_2)["n"] == 2

    # 3. Template and footer changed, text not: new bytes captured, no new version.
    _, l1002 = seeds["000"]
    restyled = (
        trs_page(Report("1002", t1002, l1002, "2014-03-05"), ORGAN)
        .decode()
        .replace("0451-57112345", "0451-57119999")
        .replace("黑ICP备05001234号-1", "黑ICP备05009999号-2")
        .replace("浏览次数：1234", "浏览次数：98765")
    )
    county.set(P1002, Page(restyled.encode()))
    crawl(db_url, start)
    assert tally(db_url) == (3, 4)
    caps = read(db_url, queries.list_captures, r1002)
    assert [(c["status"], c["version"]) for c in caps] == [(200, 1), (304, 1), (304, 1), (200, 1)]
    assert caps[0]["body_sha256"] != caps[3]["body_sha256"]
    # `raw` gives back the exact bytes received: the GBK Hanweb original, then the restyle.
    assert cli_bytes(db_url, "raw", str(caps[0]["id"]), "--decoded") == original_1002
    assert cli_bytes(db_url, "raw", str(caps[3]["id"]), "--decoded") == restyled.encode()

    # 4. Report 1001 moved to a new address: same report, same versions, URL history.
    county.remove(P1001)
    county.set(MOVED_1001, Page(trs_page(report_1001, ORGAN)))
    column[0] = (MOVED_1001, t1001)
    set_column(county, column)
    crawl(db_url, start)
    assert tally(db_url) == (3, 4)
    reports = reports_of(db_url)
    assert reports[r1001]["url"].endswith(MOVED_1001)
    assert reports[r1001]["withdrawn_at"] is None
    caps = read(db_url, queries.list_captures, r1001)
    assert caps[-1]["url"].endswith(MOVED_1001) and caps[-1]["version"] == 2
    assert any(c["status"] == 404 and c["url"].endswith(P1001) for c in caps)
    before_removal = now()

    # 5. Report 1002 removed (404, out of the column); the DOCX behind 1003 is blocked by an
    #    anti-bot gateway (412), which must never count as withdrawn.
    county.remove(P1002)
    column.pop(1)
    set_column(county, column)
    original_docx = county.get(P1003_DOCX)
    county.set(P1003_DOCX, Page(b"<html><script>$_ts=1</script></html>", status=412))
    crawl(db_url, start)
    assert tally(db_url) == (3, 4)
    reports = reports_of(db_url)
    assert reports[r1002]["withdrawn_at"] > before_removal
    assert reports[r1002]["withdrawn_reason"] == "gone"
    assert reports[r1003]["withdrawn_at"] is None
    assert "[withdrawn" in cli(db_url, "reports").stdout
    assert read(db_url, queries.get_version, r1002).n == 1  # still retrievable
    blocked = read(db_url, queries.list_captures, r1003)[-1]
    assert (blocked["status"], blocked["kind"]) == (412, "blocked")

    # 6. A new report added (and the gateway gone): four reports, five versions.
    county.set(P1003_DOCX, original_docx)
    t1004, l1004 = split_seed((SEEDS / _seed_file("003")).read_text(encoding="utf-8"))
    county.set(NEW_1004, Page(trs_page(Report("1004", t1004, l1004, "2017-02-24"), ORGAN)))
    column.append((NEW_1004, t1004))
    set_column(county, column)
    crawl(db_url, start)
    assert tally(db_url) == (4, 5)

    # 7. 1003 quietly unlinked from the column, its pages still answering: withdrawn
    #    ("unlinked"); 1002 reappears at its old address: no longer withdrawn.
    county.set(P1002, Page(restyled.encode()))
    column = [c for c in column if c[0] != P1003] + [(P1002, t1002)]
    set_column(county, column)
    crawl(db_url, start)
    assert tally(db_url) == (4, 5)
    reports = reports_of(db_url)
    assert reports[r1002]["withdrawn_at"] is None
    assert reports[r1003]["withdrawn_reason"] == "unlinked"

    # 8. 1003 linked again: restored. In the same crawl (two sources, one process), the
    #    corrected report copied onto a content farm (another host:port is another source)
    #    with junk around it: its own report, linked to the original by its hash.
    column.append((P1003, "王家山镇2018年政府信息公开工作年度报告"))
    set_column(county, column)
    farm = Portal()
    farm.set("/", Page(list_page("范文", [("/a/1.html", t1001)], "范文网", None)))
    farm.set("/a/1.html", Page(farm_page(t1001, corrected)))
    mirror = serve(farm)
    crawl(db_url, start, "--url", mirror.url("/"))
    reports = reports_of(db_url)
    assert reports[r1003]["withdrawn_at"] is None
    assert tally(db_url) == (5, 6)
    [copy] = [r for r in reports_of(db_url).values() if r["url"].startswith(mirror.url("/"))]
    assert copy["source"] != reports_of(db_url)[r1001]["source"]
    [copy_v] = cli_json(db_url, "versions", str(copy["id"]))
    assert [(o["report_id"], o["version"]) for o in copy_v["same_text_elsewhere"]] == [(r1001, 2)]
    v1, v2 = read(db_url, queries.list_versions, r1001)
    # v1 was shown by crawls 0 (200) and 1 (304); v2 by one fetch in each of crawls 2 to 8.
    assert (v1["captures"], v2["captures"]) == (2, 7)
    assert v1["same_text_elsewhere"] == []
    assert [o["report_id"] for o in v2["same_text_elsewhere"]] == [copy["id"]]
    assert "same text: report" in cli(db_url, "versions", str(copy["id"])).stdout


def _seed_file(number: str) -> str:
    return next(p.name for p in SEEDS.glob(f"{number}_*.txt"))
