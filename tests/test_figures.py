"""The figures: statistics tables parsed to cells, their rules checked, cell-level diffs.

Reports are 2021-format pages laid out as real portals render them (``tests/tables2021.py``:
rowspan/colspan headers, wrapped label cells), so the parse goes through the real cleaner.
"""

from __future__ import annotations

from nianbao.demo.server import Page, Portal
from nianbao.pipelines import figures as F
from nianbao.pipelines.derive import derive
from nianbao.pipelines.rules import across_years, check, within_report_rules
from tests import tables2021 as t
from tests.conftest import cli, cli_json, crawl
from tests.portals import html_page, link_list

ORGAN = "某县教育局"


def figures_2021(new=(5, 1, 0, 0, 0, 0), carried=(1, 0, 0, 0, 0, 0), carry_over=(1, 0, 0, 0, 0, 0)):
    return t.applications(
        list(new),
        list(carried),
        {
            "（一）予以公开": [3, 1, 0, 0, 0, 0],
            "（四）无法提供/1.本机关不掌握相关政府信息": [2, 0, 0, 0, 0, 0],
        },
        list(carry_over),
    )


def content(year: int, rows=None, four=None, stated_new: int | None = None, valid: int = 15) -> str:
    rows = rows or figures_2021()
    return t.report_html(
        ORGAN,
        year,
        t.table_three(rows),
        t.table_four(four or [1, 0, 0, 0, 1] + [0] * 10),
        t.table_two({"规章": [0, 0, 0], "行政规范性文件": [3, 1, valid], "行政许可": [1260]}),
        rows[0][6] if stated_new is None else stated_new,
    )


def title(year: int) -> str:
    return f"{ORGAN}{year}年政府信息公开工作年度报告"


def page(year: int, body: str, published: str) -> bytes:
    return html_page(
        title(year),
        f"<h1>{title(year)}</h1><div class='info'>发布时间：{published}</div>"
        f"<div class='TRS_Editor'>{body}</div>",
    )


def parsed(body: str, year: int = 2023) -> tuple[list[F.Figure], str]:
    doc = derive(page(year, body, f"{year + 1}-01-20"), "http://x.gov.cn/t.html")
    return F.parse(doc.text), doc.text


def test_a_2021_report_parses_to_the_standard_grid():
    cells, text = parsed(content(2023))
    three = [c for c in cells if c.table == "三"]
    assert len(three) == 25 * 7
    assert {c.column for c in three} == set(F.THREE_COLUMNS)
    assert {c.row for c in three} == {
        F.NEW,
        F.CARRIED,
        F.TOTAL,
        F.CARRY_OVER,
        *F.three_leaves("2021"),
    }
    by_key = {(c.table, c.row, c.column): c for c in cells}
    leaf = by_key[("三", "三、本年度办理结果/（四）无法提供/1.本机关不掌握相关政府信息", "自然人")]
    assert leaf.value == 2 and text.splitlines()[leaf.line - 1].startswith(
        "三、本年度办理结果 | （四）无法提供"
    )
    assert by_key[("四", "行政复议", "总计")].value == 1
    assert by_key[("四", "行政诉讼/复议后起诉", "尚未审结")].value == 0
    assert by_key[("二", "行政规范性文件", "现行有效件数")].value == 15
    fee = by_key[("二", "行政事业性收费", "本年收费金额")]
    assert fee.value is None and fee.unit == "万元", "a blank cell is not reported, not zero"
    assert F.detect_format(cells) == "2021"


def test_every_2021_identity_is_checked_and_holds():
    assert len(within_report_rules("2021")) == 42
    cells, text = parsed(content(2023))
    outcome = check(cells, 2023, text)
    assert outcome.format == "2021" and outcome.checked == 42 and outcome.unchecked == []
    assert outcome.violations == []


def test_a_planted_inconsistency_is_reported_with_its_cells():
    rows = figures_2021()
    rows[2][0] = 4  # （一）予以公开 / 自然人: 4, but its row total and （七）总计 still say 3
    cells, text = parsed(content(2023, rows))
    violations = {v.rule: v for v in check(cells, 2023, text).violations}
    assert set(violations) == {
        "三/七=办理结果之和/自然人",
        "三/总计=各申请人之和/三、本年度办理结果/（一）予以公开",
    }
    v = violations["三/七=办理结果之和/自然人"]
    assert (v.expected, v.found) == (6, 5)
    assert any(
        c["cell"].endswith("（一）予以公开/自然人") and c["value"] == 4
        for c in v.as_dict()["cells"]
    )


def test_blank_cells_leave_a_rule_unchecked_instead_of_counting_zero():
    rows = figures_2021()
    rows[1][6] = None  # 二、上年结转 / 总计 left blank
    cells, text = parsed(content(2023, rows))
    outcome = check(cells, 2023, text)
    assert "三/一+二=七+四/总计" in outcome.unchecked
    assert outcome.violations == [] and outcome.checked == 40


def test_text_against_table_and_across_years():
    cells, text = parsed(content(2023, stated_new=9))
    (v,) = check(cells, 2023, text).violations
    assert v.rule == "文字=表三/本年新收/总计" and (v.expected, v.found) == (6, 9)
    lines = text.splitlines()
    prose = "全年被申请行政复议2件，未发生行政诉讼。本年度提起行政诉讼0件。"
    said = "\n".join([*lines, prose])
    found = {(v.rule, v.expected, v.found) for v in check(cells, 2023, said).violations}
    assert ("文字=表四/行政复议/总计", 1, 2) in found
    assert not any(r == "文字=表四/行政诉讼/总计" for r, _e, _f in found), "0 件 agrees"
    last_year, _ = parsed(content(2022, figures_2021(carry_over=(2, 0, 0, 0, 0, 0))), 2022)
    found = {w.rule: (w.expected, w.found) for w in across_years(last_year, cells)}
    # Both years say 行政规范性文件: 制发 3, 废止 1, 现行有效 15; 15 + 3 − 1 = 17.
    assert found == {
        "跨年/上年结转=去年结转下年度/自然人": (2, 1),
        "跨年/上年结转=去年结转下年度/总计": (2, 1),
        "跨年/现行有效件数/行政规范性文件": (17, 15),
    }


def test_values_and_labels_as_pages_write_them():
    assert F.parse_value("1,260") == (1260, True)
    assert F.parse_value("—") == (None, True) and F.parse_value("") == (None, True)
    assert F.parse_value("3件") == (3, True) and F.parse_value("予以公开") == (None, False)
    # Half-width brackets, an old flat layout with a three-column header.
    text = "\n".join(
        [
            "(本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和) | 自然人 | 商业企业 | 总计",
            "一、本年新收政府信息公开申请数量 | 3 | 0 | 3",
            "三、本年度办理结果 (一)予以公开 | 2 | 0 | 2",
            "(三)不予公开 1.属于国家秘密 | 0 | | 0",
        ]
    )
    cells = {(c.row, c.column): c.value for c in F.parse(text)}
    assert cells[(F.GROUP_ROW["（一）予以公开"], "自然人")] == 2
    assert (
        cells[("三、本年度办理结果/（三）不予公开/1.属于国家秘密", "法人或其他组织/商业企业")]
        is None
    )


def test_pre_2019_statistics_table():
    text = "统计指标 | 单位 | 统计数\n一、主动公开情况 |  | \n（一）主动公开政府信息数 | 条 | 162"
    (cell,) = F.parse(text)
    assert (cell.table, cell.row, cell.value, cell.unit, cell.line) == (
        "统计表",
        "（一）主动公开政府信息数",
        162,
        "条",
        3,
    )


def _portal(reports: dict[int, tuple[str, str]]) -> Portal:
    links = [(f"/xxgk/ndbg/{y}/t{y}_1.html", title(y)) for y in sorted(reports)]
    pages = {
        "/": Page(
            html_page("某县人民政府", "<a href='/xxgk/ndbg/index.html'>政府信息公开年度报告</a>")
        ),
        "/xxgk/ndbg/index.html": Page(
            html_page("政府信息公开年度报告", f"<ul>{link_list(links)}</ul>")
        ),
    }
    for year, (body, published) in reports.items():
        pages[f"/xxgk/ndbg/{year}/t{year}_1.html"] = Page(page(year, body, published))
    return Portal(pages)


def test_tables_check_and_cell_diff_from_the_archive(db_url, serve):
    rows = figures_2021()
    rows[2][0] = 4  # planted
    portal = _portal(
        {
            2022: (content(2022, figures_2021(carry_over=(1, 0, 0, 0, 0, 0))), "2023-01-18"),
            2023: (content(2023, rows, valid=17), "2024-01-20"),
        }
    )
    server = serve(portal)
    crawl(db_url, server.url("/"))
    reports = {r["year"]: r["id"] for r in cli_json(db_url, "reports")}
    tables = cli_json(db_url, "tables", str(reports[2023]))
    assert tables["format"] == "2021" and len(tables["cells"]) == 25 * 7 + 15 + 10
    assert (
        "表三\t一、本年新收政府信息公开申请数量\t自然人\t5 件"
        in cli(db_url, "tables", str(reports[2023])).stdout
    )

    proc = cli(db_url, "check", "--json", check=False)
    assert proc.returncode == 5
    import json

    result = json.loads(proc.stdout)
    assert result["with_tables"] == 2 and result["violations"] == 2
    assert cli(db_url, "check", str(reports[2022])).returncode == 0
    import csv

    violations = list(
        csv.DictReader(cli(db_url, "check", "--csv", check=False).stdout.splitlines())
    )
    assert {v["rule"] for v in violations} == {
        "三/七=办理结果之和/自然人",
        "三/总计=各申请人之和/三、本年度办理结果/（一）予以公开",
    }
    cells = list(
        csv.DictReader(cli(db_url, "tables", str(reports[2023]), "--csv").stdout.splitlines())
    )
    assert len(cells) == len(tables["cells"]) and cells[0]["table"] == "二"
    assert [c["value"] for c in cells if c["row"] == "行政事业性收费"] == [""], "blank stays blank"

    fixed = figures_2021()  # the organ corrects its table: a new version
    portal.set(
        "/xxgk/ndbg/2023/t2023_1.html",
        Page(page(2023, content(2023, fixed, valid=17), "2024-01-20")),
    )
    crawl(db_url, server.url("/"))
    assert cli(db_url, "check", str(reports[2023])).returncode == 0
    diff = cli_json(db_url, "diff", "--cells", str(reports[2023]), "1", "2")
    assert [(c["cell"], c["from"], c["to"]) for c in diff["changes"]] == [
        ("三/三、本年度办理结果/（一）予以公开/自然人", 4, 3)
    ]
    text = cli(db_url, "diff", "--cells", str(reports[2023]), "1", "2").stdout
    assert text.startswith("三/三、本年度办理结果/（一）予以公开/自然人: 4 → 3, first seen ")


def test_reprocess_fills_the_cells_of_versions_archived_without_them(db_url, serve):
    from sqlalchemy import delete

    from nianbao.models.db import open_archive, sessionmaker_for
    from nianbao.models.tables import Figure, FiguresPending

    server = serve(_portal({2023: (content(2023), "2024-01-20")}))
    crawl(db_url, server.url("/"))
    (report,) = cli_json(db_url, "reports")
    before = cli_json(db_url, "tables", str(report["id"]))["cells"]
    engine = open_archive(db_url)
    with sessionmaker_for(engine).begin() as session:
        session.execute(delete(Figure))  # as an archive upgraded to 0006 from an older one
        session.execute(delete(FiguresPending))  # (a busy crawl writer may have queued it)
    engine.dispose()
    assert cli_json(db_url, "tables", str(report["id"]))["cells"] == []
    out = cli_json(db_url, "reprocess")
    assert out["figures"] == 1 and out["versions"] == 1
    assert cli_json(db_url, "tables", str(report["id"]))["cells"] == before
    assert cli_json(db_url, "reprocess")["figures"] == 0, "idempotent"


def test_a_busy_writer_queues_the_cells_and_every_reader_sees_them_meanwhile(db_url):
    """Migration 0016: a writer behind a saturated crawl stores the version without its
    cells and queues it; ``tables``, ``check`` and the cell diff parse its text meanwhile,
    and ``nianbao index`` stores exactly the cells storing at once would have."""
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from nianbao.models import archive, neardup
    from nianbao.models import figures as store
    from nianbao.models.db import open_archive, sessionmaker_for
    from nianbao.models.tables import Figure, FiguresPending

    rows = figures_2021()
    rows[2][0] = 4  # planted: ``check`` must find it in the queued version too
    body = page(2023, content(2023, rows), "2024-01-20")
    engine = open_archive(db_url)
    Session = sessionmaker_for(engine)
    versions = {}
    for source, behind in (("at-once", False), ("queued", True)):
        url = f"http://{source}.gov.cn/t.html"
        with Session.begin() as session:
            session.info[neardup.DEFER] = behind
            cap = archive.CaptureIn(source, url, 200, datetime(2024, 3, 1, tzinfo=UTC), body=body)
            stored = archive.record_report(
                session,
                cap,
                derive(body, url),
                organ=ORGAN,
                year=2023,
                published=None,
                cleaner_version="t",
            )
            versions[source] = stored.report_id

    def stored_cells(report_id: int) -> int:
        with Session() as session:
            version = store.version_of(session, report_id, None)
            return int(
                session.scalar(
                    select(func.count()).select_from(Figure).where(Figure.version_id == version.id)
                )
                or 0
            )

    at_once, queued = versions["at-once"], versions["queued"]
    with Session() as session:
        assert store.pending(session) == 1
        assert session.scalar(select(FiguresPending.version_id)) is not None
    assert stored_cells(at_once) == 25 * 7 + 15 + 10 and stored_cells(queued) == 0

    shown = cli_json(db_url, "tables", str(queued))
    assert shown["cells"] == cli_json(db_url, "tables", str(at_once))["cells"]
    assert len(shown["cells"]) == 25 * 7 + 15 + 10
    import json

    checked = json.loads(cli(db_url, "check", "--json", check=False).stdout)
    assert checked["with_tables"] == 2 and checked["violations"] == 4  # the planted two, twice

    assert "figures: 1 versions parsed" in cli(db_url, "index").stdout
    assert stored_cells(queued) == stored_cells(at_once)
    engine.dispose()
    assert cli_json(db_url, "tables", str(queued)) == shown
    assert "figures: 0 versions parsed" in cli(db_url, "index").stdout


def test_the_gold_sets_2021_pages_parse_and_add_up():
    """The project's own 2021-format fixture (benchmarks/goldnew.py) in three page templates:
    its 表三 header spans three label columns over one-column rows, as sloppy pages do."""
    from benchmarks.goldnew import new_format_pages

    for gold in new_format_pages():
        doc = derive(gold.body, gold.url, gold.content_type, gold.charset)
        cells = F.parse(doc.text)
        rows = {c.row for c in cells if c.table == "三"}
        assert {F.NEW, F.CARRIED, F.TOTAL, F.CARRY_OVER, *F.three_leaves("2021")} <= rows, gold.name
        assert len([c for c in cells if c.table == "四"]) == 15, gold.name
        outcome = check(cells, 2021, doc.text)
        assert (outcome.format, outcome.checked, outcome.violations) == ("2021", 42, []), gold.name
