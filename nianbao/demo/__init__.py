"""`nianbao demo`: archive a bundled offline portal, then show what the archive holds.

Two portals are served on 127.0.0.1 from the seed reports: a county portal (reports in
two CMS templates and encodings, one as a DOCX attachment, a traditional-script report
with converter pinyin garbage, look-alike pages that are not reports) and a content-farm
copy with unrelated prose pasted around a report. Nothing leaves the machine.
"""

from __future__ import annotations

import html
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from nianbao.demo.portalgen import FOOTER, Report, county_portal, seed_reports
from nianbao.demo.server import Page, Portal, PortalServer
from nianbao.models import queries
from nianbao.models.db import default_path, open_archive, resolve_url, safe_url, sessionmaker_for

# The five seed reports, shipped with the package (a copy of tests/fixtures/seeds, which
# tests/test_layers.py keeps identical): the demo runs from an installed wheel too.
SEEDS = Path(__file__).parent / "data" / "seeds"
DEMO_PORTS = (18619, 18620)


# Report 1001 as published the second time: two figures corrected, so the demo archive
# holds a report with two versions and `nianbao diff` has something to show.
EPOCH2_EDITS = (("政务信息4395条", "政务信息4396条"), ("政府网站公开972条", "政府网站公开973条"))


def demo_portals(seeds_dir: Path = SEEDS, epoch: int = 1) -> tuple[Portal, Portal]:
    """The county portal and the content farm; ``epoch`` 2 serves report 1001 corrected."""
    seeds = seed_reports(seeds_dir)
    title0, lines0 = seeds["000"]
    title1, lines1 = seeds["001"]
    title2, lines2 = seeds["002"]
    title3, lines3 = seeds["003"]
    if epoch == 2:
        for old, new in EPOCH2_EDITS:
            lines2 = [line.replace(old, new) for line in lines2]
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


def default_demo_db() -> str:
    """The demo's own archive, beside the default one: never the user's real archive."""
    return resolve_url(str(default_path().with_name("demo.sqlite")))


def _port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            return 0
    return preferred


def _crawl(sources_toml: Path, url: str, recheck: bool = False) -> subprocess.CompletedProcess[str]:
    """One ``nianbao crawl`` in a child process: Scrapy's reactor starts once per process,
    and the demo crawls twice (the report's first and second publication). ``recheck``:
    the second crawl stands for the next night's, when the revisit schedule asks every
    report fetched the night before again; run seconds later it would ask none."""
    python = [sys.executable, "-S"] if sys.flags.no_site else [sys.executable]
    command = [*python, "-m", "nianbao", "crawl", "--sources", str(sources_toml), "--db", url]
    command += ["--recheck"] if recheck else []
    for name, value in (
        ("DOWNLOAD_DELAY", "0"),
        ("AUTOTHROTTLE_ENABLED", "False"),
        ("NIANBAO_PROGRESS_INTERVAL", "0"),
    ):
        command += ["-s", f"{name}={value}"]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(command, capture_output=True, text=True, env=env)


def _sources_toml(path: Path, sources: list[tuple[str, str, str | None]]) -> Path:
    lines = []
    for name, start, organ in sources:
        lines += [
            "[[sources]]",
            f"name = {json.dumps(name)}",
            f"start_urls = [{json.dumps(start)}]",
        ]
        lines += [f"organ = {json.dumps(organ, ensure_ascii=False)}"] if organ else []
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main(db: str | None) -> int:
    """Serve the demo portals, crawl them (twice into a new archive), say what to try next.

    Without ``--db`` the archive is the demo's own file (:func:`default_demo_db`). The
    ports are fixed, so the sources are the same every run and a second demo is a quick
    incremental recrawl (304s); if a port is taken the source gets a name of its own
    rather than asking for addresses on a port that now serves something else.
    """
    url = resolve_url(db) if db else default_demo_db()
    engine = open_archive(url)
    with sessionmaker_for(engine)() as session:
        first_time = not queries.list_runs(session)
    engine.dispose()
    county, farm = demo_portals(epoch=1 if first_time else 2)
    wanted = os.environ.get("NIANBAO_DEMO_PORTS")  # "PORT,PORT": tests run demos side by side
    ports = [_port(int(p)) for p in wanted.split(",")] if wanted else [_port(p) for p in DEMO_PORTS]
    failed = False
    with (
        PortalServer(county, ports[0]) as a,
        PortalServer(farm, ports[1]) as b,
        tempfile.TemporaryDirectory() as tmp,
    ):
        names = [
            "demo-county" if ports[0] else f"demo-county-{a.port}",
            "demo-farm" if ports[1] else f"demo-farm-{b.port}",
        ]
        toml = _sources_toml(
            Path(tmp) / "sources.toml",
            [(names[0], a.url("/"), "方正县人民政府"), (names[1], b.url("/"), None)],
        )
        click.echo(f"serving the demo portals at {a.url('/')} and {b.url('/')}", err=True)
        click.echo(f"archiving them into {safe_url(url)}", err=True)
        epochs = [1, 2] if first_time else [2]
        for epoch in epochs:
            if epoch == 2 and first_time:
                click.echo("the county corrects two figures in a report; crawling again", err=True)
                corrected, _ = demo_portals(epoch=2)
                for path, page in corrected._pages.items():
                    county.set(path, page)
            proc = _crawl(toml, url, recheck=epoch == 2 and first_time)
            if proc.returncode not in (0, 3):
                click.echo(proc.stdout + proc.stderr, err=True)
                return proc.returncode
            failed = failed or proc.returncode == 3
    engine = open_archive(url)
    with sessionmaker_for(engine)() as session:
        rows = queries.list_reports(session)
        last = queries.list_runs(session, None, len(names))
    engine.dispose()
    click.echo("the last crawl:")
    for run in reversed(last):
        s = run["summary"]
        click.echo(
            f"  {run['source']}: {run['status']}"
            + (f" ({s['reason']})" if s["reason"] else "")
            + f"; {s['pages']} pages fetched, {s['not_modified']} unchanged (304), "
            + (
                f"{s['not_due']} reports not due (checked recently, not asked), "
                if s.get("not_due")
                else ""
            )
            + f"{s['new_reports']} new reports, {s['new_versions']} new versions, "
            f"{s['errors']} errors"
        )
    click.echo(f"\nThe archive at {safe_url(url)} holds {len(rows)} reports:")
    for row in rows:
        click.echo(
            f"  {row['id']:>3}  {row['year'] or '----'}  {row['organ'] or '?'}  "
            f"({row['versions']} version(s))  {row['title']}"
        )
    # Suggest a report of the county (not the content-farm copy), the one with two
    # versions if there is one.
    county_rows = [r for r in rows if r["source"] == names[0]] or rows
    pick = max(county_rows, key=lambda r: (r["versions"], r["year"] or 0), default=None)
    first = pick["id"] if pick else 1
    db_arg = "" if db else f" --db {url.removeprefix('sqlite:///')}"
    nb = ".venv/bin/nianbao"
    click.echo(
        "\nNext, try:\n"
        f"  {nb} reports{db_arg}\n"
        f"  {nb} show {first}{db_arg}\n"
        f"  {nb} versions {first}{db_arg}\n"
        + (
            f"  {nb} diff {first} 1 2{db_arg}      # the corrected figures\n"
            if pick and pick["versions"] > 1
            else ""
        )
        + f"  {nb} explain {first}{db_arg}        # what the cleaner removed, and why\n"
        f"  {nb} captures {first}{db_arg}       # where and when it was fetched\n"
        f"  {nb} search 依申请公开{db_arg}\n"
        f"  {nb} crawl --sources sources.toml   # real portals (needs internet)"
    )
    return 3 if failed else 0
