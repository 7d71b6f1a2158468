"""Decoding the byte strings Chinese portals really send, built here byte by byte."""

from __future__ import annotations

import codecs

import pytest

from nianbao.pipelines.decode import canonical, charset_of, declared_in_markup, decode
from nianbao.pipelines.derive import derive

# 〇, 镕 and 堃 are GBK/GB18030 but not GB2312: a strict GB2312 decoder fails on them.
REPORT = "朱镕基同志、王堃同志：二〇一八年政府信息公开工作年度报告。一、总体情况。主动公开政府信息1234条。"


def page(meta: str, text: str = REPORT) -> str:
    return f"<html><head>{meta}<title>年度报告</title></head><body><div id='zoom'><p>{text}</p></div></body></html>"


def test_gb2312_declared_with_gbk_only_characters():
    body = page('<meta http-equiv="Content-Type" content="text/html; charset=gb2312">').encode(
        "gb18030"
    )
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")
    out = decode(body)
    assert out.encoding == "gb18030"
    assert REPORT in out.text and out.dropped_count == 0 and "\ufffd" not in out.text


@pytest.mark.parametrize("text", [REPORT, "年报", "政府信息公开工作年度报告" * 40])
def test_no_declaration_gbk(text):
    body = page("", text).encode("gbk")
    out = decode(body)
    assert out.encoding == "gb18030"
    assert text in out.text


def test_no_declaration_big5_traditional():
    text = "本年度報告是根據《中華人民共和國政府信息公開條例》要求編制而成，統計時限為全年。" * 2
    body = f"<html><head><title>年度報告</title></head><body><p>{text}</p></body></html>"
    out = decode(body.encode("big5hkscs"))
    assert out.encoding == "big5hkscs" and text in out.text


def test_utf8_bom_wins_over_a_wrong_declaration():
    body = codecs.BOM_UTF8 + page('<meta charset="gb2312">').encode("utf-8")
    out = decode(body, "gbk")
    assert out.encoding == "utf-8-bom"
    assert out.text.startswith("<html>") and REPORT in out.text


def test_utf16_bom():
    out = decode(codecs.BOM_UTF16_LE + page("").encode("utf-16-le"))
    assert REPORT in out.text and out.encoding == "utf-16-le"


def test_gb2312_declared_but_utf8_bytes_people_style():
    body = page('<meta http-equiv="content-type" content="text/html;charset=GB2312"/>').encode()
    out = decode(body, "gb2312")
    assert out.encoding == "utf-8" and REPORT in out.text


def test_utf8_declared_but_gbk_bytes():
    out = decode(page('<meta charset="utf-8">').encode("gb18030"), "utf-8")
    assert out.encoding == "gb18030" and REPORT in out.text


def test_latin1_http_default_does_not_beat_cjk():
    """Servers send ISO-8859-1 by default; cp1252 would 'decode' GBK into mojibake."""
    body = page("").encode("gbk")
    assert body.decode("cp1252", "ignore")  # it would "work"
    out = decode(body, "iso-8859-1")
    assert out.encoding == "gb18030" and REPORT in out.text


def test_pure_ascii_latin1_is_fine():
    assert decode(b"<html><p>hello</p></html>", "iso-8859-1").text == "<html><p>hello</p></html>"


def test_mixed_page_utf8_template_gbk_body():
    head = '<html><head><meta charset="utf-8"><title>城关镇人民政府</title></head><body>\n'
    body = head.encode() + f"<p>{REPORT}</p>\n".encode("gb18030") + "<p>版权所有</p>\n".encode()
    out = decode(body)
    assert "城关镇人民政府" in out.text and REPORT in out.text and "版权所有" in out.text
    assert out.dropped_count == 0 and "\ufffd" not in out.text
    assert out.encoding == "gb18030+utf-8"


def test_lone_lead_byte_is_dropped_reported_and_never_replaced():
    good = "人们开始".encode("gb18030")
    body = (
        b'<meta charset="gb2312"><p>' + good + b"\xb0 &quot;" + "形式".encode("gb18030") + b"</p>"
    )
    out = decode(body)
    assert "\ufffd" not in out.text
    assert "人们开始 &quot;形式" in out.text
    assert out.dropped_count == 1 and out.dropped[0] == (body.index(b"\xb0 "), "b0")
    line = out.error_line()
    assert line and "1 undecodable" in line and "raw bytes kept" in line


def test_declaration_sniffing():
    # w3lib resolves the label to its codec (GBK → its superset GB18030).
    assert declared_in_markup(b'<?xml version="1.0" encoding="GBK"?><html/>') == "gb18030"
    assert (
        declared_in_markup(b"<meta content='text/html; charset=gb2312' http-equiv=x>") == "gb2312"
    )
    assert canonical("GB2312") == "gb18030" and canonical("x-gbk") == "gb18030"
    assert canonical("no-such-charset") is None


def test_archived_text_keeps_gbk_characters_end_to_end():
    """Through the whole cleaning chain: the clean text has 镕/堃/〇 and no U+FFFD."""
    body = page('<meta charset="gb2312">', REPORT * 5).encode("gb18030")
    doc = derive(body, "http://x.gov.cn/t.html", "text/html; charset=gb2312", "gb2312")
    assert "镕" in doc.text and "堃" in doc.text and "二〇一八" in doc.text
    assert "\ufffd" not in doc.text and doc.body == body


def test_crawl_archives_every_encoding_without_mojibake(db_url, serve):
    """The real spider and pipelines on four pages whose declarations lie or are missing."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from nianbao.demo.server import Page, Portal
    from nianbao.models.tables import Version
    from tests.conftest import crawl
    from tests.pagegen import new_format_lines

    def report(organ: str, meta: str) -> str:
        paras = "".join(f"<p>{line}</p>" for line in new_format_lines(organ, 2018))
        title = f"{organ}2018年政府信息公开工作年度报告"
        return (
            f"<html><head>{meta}<title>{title}</title></head><body><h1>{title}</h1>"
            f"<div id='zoom'><p>主任：朱镕基 王堃 二〇一九年一月</p>{paras}</div></body></html>"
        )

    gb_meta = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    pages = {
        # people.com.cn style: GB2312 in header and markup, UTF-8 bytes.
        "r1.html": ("镕城镇", report("镕城镇", gb_meta).encode(), "text/html; charset=gb2312"),
        # Nothing declared anywhere, GBK bytes.
        "r2.html": ("堃山乡", report("堃山乡", "").encode("gbk"), "text/html"),
        # A UTF-8 BOM, a GB2312 declaration that is wrong.
        "r3.html": ("〇口镇", codecs.BOM_UTF8 + report("〇口镇", gb_meta).encode(), "text/html"),
        # GB2312 declared, GB18030 bytes outside GB2312.
        "r4.html": ("镕堃街道", report("镕堃街道", gb_meta).encode("gb18030"), "text/html"),
    }
    portal = Portal()
    portal.set("/robots.txt", Page(b"User-agent: *\n", "text/plain"))
    links = "".join(f"<a href='/ndbg/{name}'>年度报告{i}</a>" for i, name in enumerate(pages))
    portal.set("/", Page(f"<html><body>{links}</body></html>".encode()))
    for name, (_organ, body, ctype) in pages.items():
        portal.set(f"/ndbg/{name}", Page(body, ctype))
    server = serve(portal)
    crawl(db_url, server.url("/"))
    engine = create_engine(db_url)
    with Session(engine) as session:
        got = {v.url.rsplit("/", 1)[-1]: v for v in session.scalars(select(Version))}
        assert set(got) == set(pages)
        for name, (organ, _body, _ctype) in pages.items():
            v = got[name]
            assert v.organ == organ and v.year == 2018
            assert "朱镕基 王堃 二〇一九年一月" in v.text and "\ufffd" not in v.text
    engine.dispose()


def test_response_encoding_for_scrapy():
    from nianbao.pipelines.decode import scrapy_codec

    def response_encoding(body: bytes, ctype: str) -> str:  # as the spider asks
        return scrapy_codec(decode(body, charset_of(ctype)).encoding)

    assert response_encoding(page("").encode(), "text/html; charset=GB2312") == "utf-8"
    assert response_encoding(codecs.BOM_UTF8 + b"<p>x</p>", "text/html") == "utf-8-sig"
    assert response_encoding(page("").encode("gbk"), "text/html; charset=utf-8") == "gb18030"


def test_a_commented_out_declaration_is_not_the_page_charset():
    """A template's ``<!-- <meta charset="big5"> -->`` above the real GB2312 one (issue 11 §4)."""
    body = page('<!-- <meta charset="big5"> --><meta charset="gb2312">', REPORT).encode("gb18030")
    assert canonical(declared_in_markup(body)) == "gb18030"
    out = decode(body)
    assert out.encoding == "gb18030" and REPORT in out.text


def test_header_charset_parsing():
    assert charset_of('text/html; charset="GB2312"') == "gb18030"
    assert charset_of("text/html;charset=utf-8") == "utf-8"
    assert charset_of("text/html") is None and charset_of(None) is None


_REPORT = (
    "<html><head><title>方正县2018年政府信息公开工作年度报告</title></head><body>"
    + "<p>依申请公开政府信息情况，本年度共收到申请12件。</p>\n" * 20
    + "</body></html>"
)


@pytest.mark.parametrize("at", [200, 201, 202, 500])
@pytest.mark.parametrize("declared", ["utf-8", None, "gbk"])
def test_one_stray_byte_in_a_utf8_page_keeps_it_utf8(at, declared):
    """GB18030 decodes almost any bytes: one stray byte must not turn the page to mojibake."""
    body = _REPORT.encode()
    out = decode(body[:at] + b"\xff" + body[at:], declared)
    assert out.encoding == "utf-8"
    assert "方正县2018年政府信息公开工作年度报告" in out.text
    assert out.text.count("依申请公开") == 20
    assert 1 <= out.dropped_count <= 4 and out.error_line()


def test_a_big5_header_on_gbk_bytes_does_not_lose_the_report():
    out = decode(_REPORT.encode("gbk"), "big5")
    assert out.encoding == "gb18030" and "方正县2018年政府信息公开工作年度报告" in out.text


def test_a_true_big5_page_with_a_big5_header_stays_big5():
    text = "<html><body>" + "<p>政府資訊公開工作年度報告，依申請公開。</p>" * 6 + "</body></html>"
    out = decode(text.encode("big5"), "big5")
    assert out.encoding.startswith("big5") and "政府資訊公開工作年度報告" in out.text


def _bodies() -> list[bytes]:
    """Real pages as saved (tests/fixtures/real) and the byte strings this file builds:
    UTF-8, GBK, Big5, BOMs, a stray byte, GBK and UTF-8 lines mixed."""
    from pathlib import Path

    real = sorted((Path(__file__).parent / "fixtures" / "real" / "pages").glob("*.html"))
    text = page("", REPORT)
    mixed = page("").encode("gbk") + b"\n" + "<p>第二行：年度报告</p>".encode() + b"\n"
    return [p.read_bytes() for p in real] + [
        text.encode(),
        text.encode("gbk"),
        "<html><body><p>本年度報告是根據條例編制而成。</p></body></html>".encode("big5"),
        codecs.BOM_UTF8 + text.encode(),
        codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        text.encode()[:120] + b"\xff" + text.encode()[120:],
        mixed,
        b"",
    ]


@pytest.mark.parametrize("declared", [None, "utf-8", "gb2312", "big5", "iso-8859-1"])
def test_what_the_spider_found_gives_the_cleaner_the_same_answer(declared):
    """The cleaning worker takes the spider's look at the bytes (``known``) instead of
    looking again: for every body and declaration, the same text, encoding and drops."""
    for body in _bodies():
        full = decode(body, declared)
        fast = decode(body, declared, known=full.encoding)
        assert (fast.text, fast.encoding, fast.dropped_count, fast.dropped) == (
            full.text,
            full.encoding,
            full.dropped_count,
            full.dropped,
        ), (body[:60], declared, full.encoding)


def test_a_crawled_report_page_is_cleaned_the_same_with_the_spiders_look():
    from nianbao.pipelines.derive import clean, document_for

    for body in _bodies():
        ctype = "text/html; charset=gb2312"
        looked = decode(body, charset_of(ctype)).encoding
        plain = clean(document_for(body, "http://x.gov.cn/a.html", ctype))
        doc = document_for(body, "http://x.gov.cn/a.html", ctype)
        doc.decoded_as = looked
        told = clean(doc)
        assert (told.text, told.encoding, told.errors) == (plain.text, plain.encoding, plain.errors)
