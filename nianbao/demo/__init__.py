"""`nianbao demo`: archive a bundled offline portal, then show what the archive holds.

Two portals are served on 127.0.0.1 from the seed reports: a county portal (reports in
two CMS templates and encodings, one as a DOCX attachment, a traditional-script report
with converter pinyin garbage, look-alike pages that are not reports) and a content-farm
copy with unrelated prose pasted around a report. Nothing leaves the machine.
"""

from __future__ import annotations

import html
import socket
from pathlib import Path

import click

from nianbao import crawl
from nianbao.demo.portalgen import FOOTER, Report, county_portal, seed_reports
from nianbao.demo.server import Page, Portal, PortalServer
from nianbao.models import queries
from nianbao.models.db import open_archive, resolve_url, safe_url, sessionmaker_for
from nianbao.sources import SourceConfig

# The five seed reports, shipped with the package (a copy of tests/fixtures/seeds, which
# tests/test_layers.py keeps identical): the demo runs from an installed wheel too.
SEEDS = Path(__file__).parent / "data" / "seeds"
DEMO_PORTS = (18619, 18620)


def demo_portals(seeds_dir: Path = SEEDS) -> tuple[Portal, Portal]:
    seeds = seed_reports(seeds_dir)
    title0, lines0 = seeds["000"]
    title1, lines1 = seeds["001"]
    title2, lines2 = seeds["002"]
    title3, lines3 = seeds["003"]
    reports = [
        Report("1001", title2, lines2, "2015-01-20", "trs"),
        Report("1002", title0, lines0, "2014-03-05", "hanweb"),
        Report(
            "1003",
            "王家山镇2018年政府信息公开工作年度报告",
            lines1[2:],
            "2019-01-15",
            attachment=True,
        ),
        Report("1004", title3, lines3, "2017-02-24", "trs"),
    ]
    county = county_portal(reports, "方正县")
    farm = Portal()
    farm_text = (seeds_dir / "004_1daf26a3e70fc96d.txt").read_text(encoding="utf-8")
    paras = "\n".join(f"<p>{html.escape(p)}</p>" for p in farm_text.splitlines() if p.strip())
    farm_title = "乡镇政府信息公开工作年度报告范文"
    farm.set(
        "/",
        Page(
            f'<html><head><meta charset="utf-8"><title>范文网</title></head><body>'
            f'<a href="/fanwen/nianbao.html">{farm_title}</a></body></html>'.encode()
        ),
    )
    farm.set(
        "/fanwen/nianbao.html",
        Page(
            f'<html><head><meta charset="utf-8"><title>{farm_title}</title></head><body>'
            f'<h1>{farm_title}</h1><div class="content">{paras}</div>'
            f"<p>下载本文 | 复制全文 | VIP会员免费下载</p>{FOOTER.format(organ='范文网')}</body></html>".encode()
        ),
    )
    return county, farm


def _port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            return 0
    return preferred


def main(db: str | None) -> int:
    url = resolve_url(db)
    county, farm = demo_portals()
    with (
        PortalServer(county, _port(DEMO_PORTS[0])) as a,
        PortalServer(farm, _port(DEMO_PORTS[1])) as b,
    ):
        sources = [
            SourceConfig("demo-county", [a.url("/")], organ="方正县人民政府"),
            SourceConfig("demo-farm", [b.url("/")]),
        ]
        click.echo(f"serving the demo portals at {a.url('/')} and {b.url('/')}", err=True)
        results = crawl.run(
            sources,
            url,
            {
                "DOWNLOAD_DELAY": "0",
                "AUTOTHROTTLE_ENABLED": "False",
                "LOG_LEVEL": "WARNING",
                "NIANBAO_PROGRESS_INTERVAL": "0",
            },
        )
    for r in results:
        click.echo(
            f"{r.name}: {r.status}"
            + (f" ({r.reason})" if r.reason else "")
            + f"; {r.pages} pages fetched, {r.reports} report captures, "
            f"{r.new_reports} new reports, {r.new_versions} new versions, {r.errors} errors"
        )
    engine = open_archive(url)
    with sessionmaker_for(engine)() as session:
        rows = queries.list_reports(session)
    engine.dispose()
    click.echo(f"\nThe archive at {safe_url(url)} holds {len(rows)} reports:")
    for row in rows:
        click.echo(
            f"  {row['id']:>3}  {row['year'] or '----'}  {row['organ'] or '?'}  "
            f"({row['versions']} version(s))  {row['title']}"
        )
    first = rows[0]["id"] if rows else 1
    click.echo(
        "\nNext, try:\n"
        "  .venv/bin/nianbao reports\n"
        f"  .venv/bin/nianbao show {first}\n"
        f"  .venv/bin/nianbao versions {first} --json\n"
        f"  .venv/bin/nianbao explain {first}        # what the cleaner removed, and why\n"
        f"  .venv/bin/nianbao captures {first}       # where and when it was fetched\n"
        "  .venv/bin/nianbao search 依申请公开\n"
        "  .venv/bin/nianbao crawl --sources sources.toml   # real portals (needs internet)"
    )
    return 3 if any(r.failed for r in results) else 0
