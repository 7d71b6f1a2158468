"""Character-level diffs (issue 13): a changed character is marked, not its paragraph."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from nianbao.demo.portalgen import Report, trs_page
from nianbao.demo.server import Page
from nianbao.services.diff import changes, marked, unified
from tests.conftest import cli, cli_json, crawl

P1001 = "/zwgk/ndbg/201501/t20150120_1001.html"
PARAGRAPH = "本机关纪委" + "依法依规开展监督检查工作，" * 20  # a 268-character paragraph, roughly


def test_one_character_edit_marks_one_character():
    a = f"第一段。\n{PARAGRAPH}\n第三段\n"
    b = a.replace("纪委", "纪检")
    (edit,) = changes(a, b)
    assert (edit.op, edit.a_text, edit.b_text, edit.a_line, edit.b_line) == (
        "replace",
        "委",
        "检",
        2,
        2,
    )
    assert a[edit.a_start : edit.a_end] == "委" and b[edit.b_start : edit.b_end] == "检"
    lines = list(unified(a, b, "A", "B"))
    minus = next(i for i, line in enumerate(lines) if line.startswith("-本"))
    assert lines[minus] == "-" + PARAGRAPH  # the unified-diff line itself is unchanged
    # the guide puts ^^ (a CJK character is two columns) under 委 only
    assert lines[minus + 1] == "?" + " " * 8 + "^^"
    assert lines[minus + 3] == "?" + " " * 8 + "^^"
    coloured = list(unified(a, b, "A", "B", colour=True))
    assert "纪\x1b[31;7m委\x1b[0m依法" in "".join(coloured)
    assert not [line for line in lines if "\x1b" in line]


def test_inserted_and_deleted_lines():
    a = "甲\n乙\n丙"
    b = "甲\n丙\n丁"
    edits = changes(a, b)
    assert [(e.op, e.a_text, e.b_text) for e in edits] == [
        ("delete", "乙\n", ""),
        ("insert", "", "\n"),  # 丙 was the last line, without its "\n"
        ("insert", "", "丁"),
    ]
    assert list(unified(a, a, "A", "B")) == []


@given(
    st.text(alphabet="甲乙丙丁ab\n，。", max_size=40),
    st.text(alphabet="甲乙丙丁ab\n，。", max_size=40),
)
def test_changes_rebuild_the_new_text(a, b):
    """Applying the edits to A gives B, and the marked runs are exactly the texts."""
    edits = changes(a, b)
    out, pos = [], 0
    for e in edits:
        assert e.a_start >= pos
        out.append(a[pos : e.a_start] + e.b_text)
        assert a[e.a_start : e.a_end] == e.a_text
        pos = e.a_end
    assert "".join(out) + a[pos:] == b
    assert "\n".join("".join(s for s, _ in line) for line in marked(b, [])) == b.removesuffix("\n")


def test_cli_diff_marks_characters_and_selects_by_time(db_url, county, serve, seeds):
    title, lines = seeds["002"]
    server = serve(county)
    crawl(db_url, server.url("/"))
    between = datetime.now(UTC).isoformat()
    target = max(range(len(lines)), key=lambda i: len(lines[i]))
    edited = list(lines)
    old_char = edited[target][len(edited[target]) // 2]
    new_char = "检" if old_char != "检" else "查"
    middle = len(edited[target]) // 2
    edited[target] = edited[target][:middle] + new_char + edited[target][middle + 1 :]
    county.set(P1001, Page(trs_page(Report("1001", title, edited, "2015-01-20"), "方正县")))
    crawl(db_url, server.url("/"))
    report = next(r for r in cli_json(db_url, "reports") if r["versions"] == 2)["id"]

    data = cli_json(db_url, "diff", str(report), "1", "2")
    assert [(c["op"], c["a_text"], c["b_text"]) for c in data["changes"]] == [
        ("replace", old_char, new_char)
    ]
    assert (data["a"]["n"], data["b"]["n"], data["same_text"]) == (1, 2, False)
    by_time = json.loads(
        cli(
            db_url, "diff", str(report), "--as-of", between, "--as-of", "2999-01-01", "--json"
        ).stdout
    )
    assert by_time["changes"] == data["changes"]
    plain = cli(db_url, "diff", str(report), "1", "2").stdout.splitlines()
    guides = [line for line in plain if line.startswith("?")]
    assert len(guides) == 2 and all(g.strip("? ") == "^^" for g in guides)
    assert "\x1b" not in "".join(plain)  # a pipe gets no colour
    forced = cli(db_url, "diff", str(report), "1", "2", "--color").stdout
    assert f"\x1b[32;7m{new_char}\x1b[0m" in forced
    bad = cli(db_url, "diff", str(report), "1", check=False)
    assert bad.returncode == 2 and "two versions" in bad.stderr
