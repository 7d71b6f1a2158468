"""The first slice end to end: a local portal, the real spider and pipelines, a SQLite file."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime

import pytest

from nianbao.demo.portalgen import Report, trs_page
from nianbao.demo.server import Page
from tests.conftest import cli, cli_json, crawl


@pytest.mark.backend("sqlite", "postgresql")
def test_crawl_archives_every_report_once_and_nothing_else(db_url, county, serve):
    server = serve(county)
    out = crawl(db_url, server.url("/"))
    assert "3 new versions" in out.stdout
    reports = cli_json(db_url, "reports")
    assert sorted((r["organ"], r["year"]) for r in reports) == [
        ("方正县", 2014),
        ("桦川县苏家店镇", 2013),
        ("王家山镇", 2018),
    ]
    for r in reports:
        assert set(r) >= {
            "id",
            "organ",
            "year",
            "title",
            "url",
            "versions",
            "first_seen",
            "last_seen",
        }
        assert r["versions"] == 1
        assert datetime.fromisoformat(r["first_seen"]).utcoffset() is not None
    titles = " ".join(r["title"] for r in reports)
    assert "通知" not in titles and "政府工作报告" not in titles and "指南" not in titles


def test_unchanged_recrawl_keeps_one_version(db_url, county, serve):
    server = serve(county)
    crawl(db_url, server.url("/"))
    first = {r["id"]: r for r in cli_json(db_url, "reports")}
    out = crawl(db_url, server.url("/"))
    assert "0 new versions" in out.stdout
    again = {r["id"]: r for r in cli_json(db_url, "reports")}
    assert again.keys() == first.keys()
    for rid, r in again.items():
        assert r["versions"] == 1
        assert r["last_seen"] > first[rid]["last_seen"]


@pytest.mark.backend("sqlite", "postgresql")
def test_changed_figure_makes_a_second_version_with_diff_and_as_of(db_url, seeds, county, serve):
    server = serve(county)
    crawl(db_url, server.url("/"))
    [fangzheng] = [r for r in cli_json(db_url, "reports") if r["organ"] == "方正县"]
    between = datetime.now().astimezone().isoformat()

    title, lines = seeds["002"]
    target = next(i for i, line in enumerate(lines) if re.search(r"\d{3,}", line))
    old_number = re.search(r"\d{3,}", lines[target]).group(0)
    new_number = str(int(old_number) + 7)
    changed = list(lines)
    changed[target] = changed[target].replace(old_number, new_number, 1)
    path = "/zwgk/ndbg/201501/t20150120_1001.html"
    county.set(path, Page(trs_page(Report("1001", title, changed, "2015-01-20"), "方正县")))

    out = crawl(db_url, server.url("/"))
    assert "1 new versions" in out.stdout
    versions = cli_json(db_url, "versions", str(fangzheng["id"]))
    assert [v["n"] for v in versions] == [1, 2]
    assert versions[0]["sha256"] != versions[1]["sha256"]

    diff = cli(db_url, "diff", str(fangzheng["id"]), "1", "2").stdout
    minus = [
        line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")
    ]
    plus = [
        line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")
    ]
    assert len(minus) == len(plus) == 1
    assert old_number in minus[0] and new_number in plus[0]

    old = cli_json(db_url, "show", str(fangzheng["id"]), "--as-of", between)
    assert old["n"] == 1 and old_number in old["text"]
    latest = cli_json(db_url, "show", str(fangzheng["id"]))
    assert latest["n"] == 2 and new_number in latest["text"]
    assert set(latest) == {
        "id",
        "n",
        "sha256",
        "title",
        "organ",
        "year",
        "published",
        "text",
        "url",
        "first_seen",
        "last_seen",
        "report_withdrawn_at",
        "report_withdrawn_reason",
    }
    assert latest["published"] == "2015-01-20"


def test_show_errors_are_specific(db_url, county, serve):
    server = serve(county)
    crawl(db_url, server.url("/"))
    proc = cli(db_url, "show", "999", check=False)
    assert proc.returncode == 1 and "no report with id 999" in proc.stderr
    proc = cli(db_url, "show", "1", "--version", "9", check=False)
    assert proc.returncode == 1 and "has no version 9" in proc.stderr
    proc = cli(db_url, "show", "1", "--as-of", "yesterday", check=False)
    assert proc.returncode == 2 and "ISO 8601" in proc.stderr


def test_sources_file_and_failed_source_exit_code(db_url, county, serve, tmp_path):
    server = serve(county)
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[[sources]]\nname = "county"\norgan = "方正县人民政府"\nstart_urls = ["{server.url("/")}"]\n'
        '[[sources]]\nname = "dead"\nstart_urls = ["http://127.0.0.1:9/"]\n',
        encoding="utf-8",
    )
    proc = cli(
        db_url,
        "crawl",
        "--sources",
        str(sources),
        "-s",
        "DOWNLOAD_DELAY=0",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        "RETRY_TIMES=0",
        check=False,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "county: ok" in proc.stdout and "dead: failed" in proc.stdout
    assert "failed entirely: dead" in proc.stderr
    assert len(cli_json(db_url, "reports")) == 3


def test_scrapy_crawl_from_repo_root_uses_the_same_settings(db_url, county, serve, tmp_path):
    server = serve(county)
    repo = __import__("pathlib").Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "portal",
            "-a",
            f"start_urls={server.url('/')}",
            "-s",
            f"NIANBAO_DB={db_url}",
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "AUTOTHROTTLE_ENABLED=False",
            "-s",
            "LOG_LEVEL=WARNING",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(cli_json(db_url, "reports")) == 3


def test_db_upgrade_on_a_new_file(tmp_path):
    db = f"sqlite:///{tmp_path / 'new.sqlite'}"
    out = cli(db, "db", "upgrade")
    assert "latest schema" in out.stdout
    assert cli_json(db, "reports") == []
