"""Terminal output lines up with Chinese text (issue 17): widths in cells, as wcwidth counts.

A CJK character is two cells wide: every read command's columns must start at the same
cell on every row, whatever the organ name's length.
"""

from __future__ import annotations

from wcwidth import wcswidth

from nianbao import table
from tests.conftest import cli, cli_json, crawl


def test_width_counts_cells_not_characters():
    assert table.width("方正县") == 6 and table.width("abc") == 3 and table.width("城關鎮a") == 7
    assert table.pad("方正", 6) == "方正  " and table.pad("7", 3, ">") == "  7"
    assert (
        table.cut("方正县人民政府", 7) == "方正县…"
        and table.width(table.cut("方正县人民政府", 7)) <= 7
    )
    lines = table.columns([["1", "方正县", "x"], ["22", "王家山镇", "y"], ["3", "?", "z"]], ">")
    assert lines == [" 1  方正县    x", "22  王家山镇  y", " 3  ?         z"]


def _starts(lines: list[str], cells: list[str]) -> set[int]:
    """The display column at which ``cells[i]`` starts on ``lines[i]``."""
    return {wcswidth(line[: line.index(cell)]) for line, cell in zip(lines, cells, strict=True)}


def test_every_read_command_lines_up_with_cjk_organs(db_url, serve, county):
    server = serve(county)
    crawl(db_url, server.url("/"))
    reports = cli_json(db_url, "reports")
    organs = {r["organ"] for r in reports}
    assert len({table.width(o) for o in organs if o}) > 1, organs  # names of different widths

    lines = cli(db_url, "reports").stdout.splitlines()[::2]  # every other line is the URL
    assert len(_starts(lines, [r["title"] for r in reports])) == 1, lines
    assert len(_starts(lines, [f"v{r['versions']}" for r in reports])) == 1, lines

    hits = cli_json(db_url, "search", "政府信息")
    lines = cli(db_url, "search", "政府信息").stdout.splitlines()[::2]
    assert len(hits) > 1 and len(_starts(lines, [h["title"] for h in hits])) == 1, lines

    caps = cli_json(db_url, "captures", str(reports[0]["id"]))
    lines = cli(db_url, "captures", str(reports[0]["id"])).stdout.splitlines()
    assert len(_starts(lines, [c["url"] for c in caps])) == 1, lines

    runs = cli_json(db_url, "runs")
    lines = [x for x in cli(db_url, "runs").stdout.splitlines() if not x.startswith(" " * 7)]
    assert len(_starts(lines, [r["source"] for r in runs])) == 1, lines


def test_search_snippet_is_the_published_text_and_explain_is_not_cut(db_url, serve, county):
    server = serve(county)
    crawl(db_url, server.url("/"))
    # The traditional-script query finds the simplified report, and the snippet is the
    # report's own words (no normalised text: its spaces and punctuation are kept).
    [hit, *_] = cli_json(db_url, "search", "依申請公開")
    text = cli_json(db_url, "show", str(hit["report_id"]))["text"]
    assert "依申请公开" in hit["snippet"]
    assert hit["snippet"] in " ".join(text.split()), hit["snippet"]

    removed = cli_json(db_url, "explain", str(hit["report_id"]))["removed"]
    longest = max((" ".join(str(r["text"] or "").split()) for r in removed), key=len)
    out = cli(db_url, "explain", str(hit["report_id"])).stdout
    assert longest in out
    if table.width(longest) > 20:
        cut = cli(db_url, "explain", str(hit["report_id"]), "--width", "20").stdout
        assert longest not in cut and table.cut(longest, 20) in cut


def test_long_texts_go_through_the_pager_only_on_a_terminal(db_url, serve, county, tmp_path):
    import os
    import pty
    import subprocess

    from tests.conftest import NIANBAO

    server = serve(county)
    crawl(db_url, server.url("/"))
    rid = str(cli_json(db_url, "reports")[0]["id"])
    paged = tmp_path / "paged.txt"
    pager = tmp_path / "pager.sh"
    pager.write_text(f"#!/bin/sh\ncat > {paged}\n")
    pager.chmod(0o755)
    env = {**os.environ, "PAGER": str(pager), "PYTHONIOENCODING": "utf-8"}
    env.pop("NIANBAO_DB", None)

    # Not a terminal: plain output, no pager.
    cli(db_url, "show", rid, env={"PAGER": str(pager)})
    assert not paged.exists()

    main, child = pty.openpty()
    proc = subprocess.run(
        [*NIANBAO, "show", rid, "--db", db_url],
        stdin=child, stdout=child, stderr=subprocess.PIPE, env=env, timeout=120,
    )  # fmt: skip
    os.close(child)
    os.close(main)
    assert proc.returncode == 0, proc.stderr
    text = cli_json(db_url, "show", rid)["text"]
    assert text.splitlines()[-1] in paged.read_text(encoding="utf-8")
