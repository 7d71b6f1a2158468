"""The compliance ledger: deadlines by organ type and year, status from the evidence."""

from __future__ import annotations

from datetime import date

import pytest

from nianbao.demo.server import Page, Portal
from nianbao.pipelines.deadlines import deadline, organ_type
from nianbao.sources import SourcesError, load
from tests.conftest import FAST, cli, cli_json
from tests.portals import html_page, link_list
from tests.test_antibot import RUISHU
from tests.test_figures import content


def test_organ_types_from_names():
    assert organ_type("方正县人民政府") == "government"
    assert organ_type("王家山镇人民政府") == "government"
    assert organ_type("城关街道办事处") == "government"
    assert organ_type("某县教育局") == "department"
    assert organ_type("某县发展和改革委员会") == "department"
    assert organ_type("某县人民政府办公室") == "department"
    assert organ_type("某县政务服务中心") == "department"
    assert organ_type("某某") is None and organ_type(None) is None


def test_deadlines_by_regulation_and_organ_type():
    assert deadline(2018, "department")[0] == date(2019, 3, 31), "2008 Regulation: one date"
    assert deadline(2019, "department")[0] == date(2020, 1, 31)
    assert deadline(2023, "government")[0] == date(2024, 3, 31)
    assert deadline(2023, None)[0] == date(2024, 3, 31)


def test_organ_type_in_the_sources_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        '[[sources]]\nname = "a"\nstart_urls = ["http://a.gov.cn/"]\norgan_type = "department"\n'
    )
    assert load(path)[0].organ_type == "department"
    path.write_text(
        '[[sources]]\nname = "a"\nstart_urls = ["http://a.gov.cn/"]\norgan_type = "county"\n'
    )
    with pytest.raises(SourcesError, match="organ_type"):
        load(path)


def _site(organ: str, year: int | None, published: str | None, body: str | None = None) -> Portal:
    links = []
    pages = {}
    if year is not None:
        title = f"{organ}{year}年政府信息公开工作年度报告"
        url = f"/xxgk/ndbg/t{year}_1.html"
        links.append((url, title))
        pages[url] = Page(
            html_page(
                title,
                f"<h1>{title}</h1><div class='info'>发布时间：{published}</div>"
                f"<div class='TRS_Editor'>{body or content(year)}</div>",
            )
        )
    pages["/"] = Page(html_page(organ, "<a href='/xxgk/ndbg/index.html'>政府信息公开年度报告</a>"))
    pages["/xxgk/ndbg/index.html"] = Page(
        html_page(
            "政府信息公开年度报告", f"<ul>{link_list(links)}</ul><p>本栏目共{len(links)}条</p>"
        )
    )
    return Portal(pages)


def _crawl(db: str, tmp_path, entries: list[tuple[str, str, str, str | None]]) -> None:
    toml = ""
    for name, organ, url, kind in entries:
        toml += f'[[sources]]\nname = "{name}"\norgan = "{organ}"\nstart_urls = ["{url}"]\n'
        toml += f'organ_type = "{kind}"\n' if kind else ""
    (tmp_path / "sources.toml").write_text(toml, encoding="utf-8")
    cli(db, "crawl", "--sources", str(tmp_path / "sources.toml"), *FAST, check=False)


def test_ledger_on_time_late_missing_and_unknown(db_url, serve, tmp_path):
    sites = {
        "ontime": ("某县教育局", _site("某县教育局", 2023, "2024-01-20"), None),
        "late": ("某县卫生健康局", _site("某县卫生健康局", 2023, "2024-02-20"), None),
        # Late for a department, on time for a government: sources.toml says which it is.
        "override": (
            "某县自然资源中心",
            _site("某县自然资源中心", 2023, "2024-03-10"),
            "government",
        ),
        "none": ("某县交通运输局", _site("某县交通运输局", None, None), None),
    }
    blocked = Portal({"/": RUISHU, "/robots.txt": Page(b"User-agent: *\nAllow: /\n" * 20)})
    entries = [(n, organ, serve(p).url("/"), kind) for n, (organ, p, kind) in sites.items()]
    entries.append(("blocked", "某镇人民政府", serve(blocked).url("/"), None))
    _crawl(db_url, tmp_path, entries)

    rows = {r["source"]: r for r in cli_json(db_url, "compliance", "--year", "2023")}
    assert {s: r["status"] for s, r in rows.items()} == {
        "ontime": "on_time",
        "late": "late",
        "override": "on_time",
        "none": "missing",
        "blocked": "unknown",
    }
    assert (
        rows["late"]["deadline"] == "2024-01-31"
        and rows["late"]["basis"] == "the report states 2024-02-20"
    )
    assert (
        rows["override"]["organ_type_from"] == "sources.toml"
        and rows["override"]["deadline"] == "2024-03-31"
    )
    assert (
        rows["blocked"]["deadline"] == "2024-03-31"
        and rows["blocked"]["organ_type"] == "government"
    )
    first = rows["ontime"]["first_capture"]
    linked = rows["ontime"]["first_linked_by"]
    assert first["url"].endswith("/xxgk/ndbg/t2023_1.html")
    assert (
        linked["url"].endswith("/xxgk/ndbg/index.html")
        and linked["fetched_at"] <= first["fetched_at"]
    )
    assert rows["ontime"]["edits_after_deadline"] == []

    # The organ edits its report after the deadline: the new version is listed with its date.
    organ, portal, _ = sites["ontime"]
    title = f"{organ}2023年政府信息公开工作年度报告"
    edited = content(2023).replace("本机关未收取信息处理费。", "本机关未收取信息处理费，特此更正。")
    portal.set(
        "/xxgk/ndbg/t2023_1.html",
        Page(
            html_page(
                title,
                f"<h1>{title}</h1><div class='info'>发布时间：2024-01-20</div><div class='TRS_Editor'>{edited}</div>",
            )
        ),
    )
    _crawl(db_url, tmp_path, entries[:1])
    (row,) = cli_json(db_url, "compliance", "--source", "ontime")
    assert row["status"] == "on_time" and [e["version"] for e in row["edits_after_deadline"]] == [2]
    text = cli(db_url, "compliance", "--source", "ontime").stdout
    assert "on_time" in text and "edited after the deadline: v2" in text
    assert cli(db_url, "compliance", "--source", "nosuch", check=False).returncode == 1
    import csv

    ledger = list(
        csv.DictReader(cli(db_url, "compliance", "--year", "2023", "--csv").stdout.splitlines())
    )
    by_source = {r["source"]: r for r in ledger}
    assert by_source["late"]["status"] == "late" and by_source["none"]["report"] == ""
    assert by_source["ontime"]["edits_after_deadline"].startswith("v2@")
