"""Archived text printed by show, search, explain and diff cannot drive the terminal."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from nianbao.models import archive
from nianbao.models.db import open_archive, sessionmaker_for
from nianbao.pipelines import terminal
from nianbao.pipelines.derive import derive
from tests.conftest import cli

OSC52 = "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07"  # writes the reader's clipboard
TITLE = "\x1b]0;pwned\x07"  # retitles the window
BIDI = "\u202e"  # right-to-left override
HOSTILE = "\u4f9d\u7533\u8bf7\u516c\u5f00" + OSC52 + TITLE + BIDI + "\r\x9b2J"


def test_escape_keeps_text_newlines_and_tabs_and_nothing_else():
    assert terminal.escape("年报\n\t正文") == "年报\n\t正文"
    out = terminal.escape(HOSTILE)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c == BIDI for c in out)
    assert "\\u001b]52;c;" in out and "\\u202e" in out
    assert (
        json.loads('"' + terminal.escape(json.dumps(HOSTILE, ensure_ascii=False)[1:-1]) + '"')
        == HOSTILE
    )


def test_show_search_explain_print_no_control_characters(db_url, seeds):
    title, lines = seeds["000"]
    body = (
        f"<html><head><title>{title}</title></head><body><div id='zoom'>"
        + "".join(f"<p>{x}</p>" for x in lines)
        + "</div></body></html>"
    ).encode()
    doc = derive(body, "http://a.gov.cn/1.html")
    doc.text = doc.text + "\n" + HOSTILE
    doc.title = title + TITLE
    engine = open_archive(db_url)
    with sessionmaker_for(engine).begin() as s:
        cap = archive.CaptureIn(
            "a", "http://a.gov.cn/1.html", 200, datetime(2024, 3, 1, tzinfo=UTC), body=body
        )
        archive.record_report(
            s, cap, doc, organ="方正县", year=2018, published=None, cleaner_version="t"
        )
    engine.dispose()
    for args in (["show", "1"], ["search", lines[0][:6]], ["explain", "1"], ["versions", "1"]):
        out = cli(db_url, *args).stdout
        assert "\x1b" not in out and BIDI not in out and "\r" not in out and "\x9b" not in out, args
    shown = cli(db_url, "show", "1").stdout
    assert "\\u001b]52;c;" in shown and "\\u202e" in shown
    assert json.loads(cli(db_url, "show", "1", "--json").stdout)["text"].endswith(HOSTILE)
