"""Attachments: PDF (text and scanned), DOCX, DOC/WPS, broken files and zip bombs.

Files are generated here: PDFs with reportlab (its built-in STSong-Light CID font needs no
font file), DOC/WPS with the compound-file writer in ``tests/olegen.py``.
"""

from __future__ import annotations

import io
import logging
import zipfile

import pytest

from nianbao.demo.portalgen import Report, docx_bytes, trs_page
from nianbao.pipelines.attachments import MAX_UNCOMPRESSED, cid_share, reflow, sniff
from nianbao.pipelines.derive import derive
from nianbao.pipelines.document import Document
from nianbao.pipelines.recognize import run as recognize_run
from tests.olegen import compound_file, word_doc
from tests.pagegen import new_format_lines, pdf_bytes
from tests.recognition_set import derive_doc

TITLE = "王家山镇2018年政府信息公开工作年度报告"


def scanned_pdf() -> bytes:
    """A PDF whose pages are pictures: shapes only, no text layer."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    for _page in range(2):
        c.setFillGray(0.2)
        for y in range(100, 780, 14):
            c.rect(60, y, 470, 6, fill=1, stroke=0)  # "lines of text" as a scanner sees them
        c.showPage()
    c.save()
    return buf.getvalue()


def with_landing(body: bytes, url: str, landing_title: str | None) -> Document:
    doc = Document(url=url, body=body, content_type="application/octet-stream")
    if landing_title:
        doc.metadata["landing_title"] = landing_title
    return derive_doc(doc)


def test_pdf_chinese_text_is_extracted_and_reflowed():
    lines = new_format_lines("王家山镇", 2018)
    doc = derive(pdf_bytes([TITLE, *lines], width=30), "http://x.gov.cn/a.pdf")
    assert doc.kind == "pdf" and "report" in doc.flags
    # The 60-odd-character paragraph was printed on three lines; it is one block again.
    para = next(line for line in lines if line.startswith("2018年，王家山镇"))
    assert para in doc.blocks
    assert "一、总体情况" in doc.blocks and "二、主动公开政府信息情况" in doc.blocks
    assert doc.title == TITLE


def test_reflow_rules():
    lines = [
        "王家山镇2018年政府信息公开工作",
        "年度报告",
        "一、概述",
        "我镇2018年政府信息公开工作在深化公开内容、建立和完善各项制度、规范",
        "公开载体形式等方面取得了新的进展，主动公开政府信息三百一十六条，",
        "依申请公开两件。",
        "项目  单位  数量",
        "主动公开  条  316",
        "按照Government Information Disclosure Regulations的要求，我镇进一步规范了政府",
        "信息公开工作流程和保密审查机制，确保信息公开准确及时规范有序进行。",
        "王家山镇人民政府",
        "2019年1月15日",
    ]
    out = reflow(lines)
    assert out[0] == "王家山镇2018年政府信息公开工作"  # a short title line stays a line
    assert out[2] == "一、概述"
    assert out[3].startswith("我镇2018年") and out[3].endswith("依申请公开两件。")
    assert "项目  单位  数量" in out and "主动公开  条  316" in out
    assert out[-2:] == ["王家山镇人民政府", "2019年1月15日"]


def test_pdf_page_numbers_are_removed_and_recorded():
    doc = derive(pdf_bytes([TITLE, "- 1 -", "第 2 页 共 3 页", "正文。"]), "http://x/a.pdf")
    assert not any("页" in b or b == "- 1 -" for b in doc.blocks)
    assert {r.text for r in doc.removed if r.rule == "pdf:page-number"} >= {"- 1 -"}


def test_scanned_pdf_is_flagged_and_becomes_the_report_of_its_landing_page(caplog):
    body = scanned_pdf()
    with caplog.at_level(logging.WARNING, logger="nianbao.pipelines.attachments"):
        doc = with_landing(body, "http://x.gov.cn/ndbg/a.pdf", TITLE)
    assert "scanned_pdf" in doc.flags and "report" in doc.flags
    assert doc.body == body and doc.title == TITLE
    assert any("no text layer" in r.message for r in caplog.records)
    # Without a landing page that names the genre, a scan is not claimed to be a report.
    lone = with_landing(body, "http://x.gov.cn/files/a.pdf", "附件下载")
    assert "scanned_pdf" in lone.flags and "report" not in lone.flags


def test_a_scanned_part_of_a_report_is_not_filed_as_the_report():
    doc = Document(url="http://x/t.pdf", body=scanned_pdf(), content_type="application/pdf")
    doc.metadata.update(landing_title=TITLE, landing_link_text="附件2：政府信息公开情况统计表")
    doc = derive_doc(doc)
    assert "scanned_pdf" in doc.flags and "report" not in doc.flags


def test_broken_pdf_gives_a_clear_error_and_keeps_the_bytes(caplog):
    body = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage"
    with caplog.at_level(logging.WARNING, logger="nianbao.pipelines.attachments"):
        doc = with_landing(body, "http://x.gov.cn/a.pdf", TITLE)
    assert doc.kind == "pdf" and doc.text == "" and doc.body == body
    assert "unparsable" in doc.flags or "scanned_pdf" in doc.flags
    assert "report" in doc.flags  # archived raw under the landing page's title
    assert any(e.startswith("pdf: ") for e in doc.errors)
    assert any("http://x.gov.cn/a.pdf" in r.getMessage() for r in caplog.records)


def test_docx_text_and_tables_in_order(seeds):
    title, lines = seeds["000"]
    doc = derive(docx_bytes(title, lines[:5]), "http://x.gov.cn/a.docx")
    assert doc.kind == "docx"
    # The file's heading is its title: removed from the text (and recorded), as on a page.
    assert doc.title == title and doc.blocks[0:5] == lines[:5]
    assert any(r.rule == "title" and r.text == title for r in doc.removed)


def test_same_report_as_page_and_as_docx_hashes_the_same(seeds):
    for key in ("000", "002"):
        title, lines = seeds[key]
        page = derive(
            trs_page(Report("1", title, lines, "2015-01-20"), "方正县"), "http://x/a.html"
        )
        docx = derive(docx_bytes(title, lines), "http://x/a.docx")
        assert page.sha256 == docx.sha256, key


def test_zip_bomb_is_refused_not_inflated():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", b"\0" * (MAX_UNCOMPRESSED + 1))
    doc = derive(buf.getvalue(), "http://x.gov.cn/bomb.docx")
    assert "unparsable" in doc.flags
    assert any("zip bomb" in e for e in doc.errors)


def test_zip_bomb_by_ratio_below_the_size_limit():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", b"\0" * (40 * 1024 * 1024))
    assert len(buf.getvalue()) < 100_000
    doc = derive(buf.getvalue(), "http://x.gov.cn/bomb.docx")
    assert "unparsable" in doc.flags and any("zip bomb" in e for e in doc.errors)


def test_zip_that_is_not_a_docx():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    doc = derive(buf.getvalue(), "http://x.gov.cn/a.docx")
    assert "unparsable" in doc.flags and doc.errors[0].startswith("docx: cannot parse")


@pytest.mark.parametrize("ext", ["doc", "wps"])
def test_word_binary_doc_and_wps(ext):
    paras = [
        TITLE,
        "一、总体情况",
        '全年主动公开\x13 HYPERLINK "http://x" \x14政府信息\x15316条。',
        "项目\x07数量\x07\x07主动公开\x07316\x07\x07",
        *new_format_lines("王家山镇", 2018)[5:],
    ]
    body = word_doc(paras, ascii_prefix="Draft 2\r")
    doc = derive(body, f"http://x.gov.cn/a.{ext}", "application/octet-stream")
    assert doc.kind == "doc" and not doc.errors
    assert doc.title == TITLE and any(r.rule == "title" for r in doc.removed)
    assert doc.blocks[:3] == ["Draft 2", "一、总体情况", "全年主动公开政府信息316条。"]
    assert "项目 | 数量" in doc.blocks and "主动公开 | 316" in doc.blocks
    assert "report" in doc.flags and doc.title == TITLE


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        ({"flags": 0x0200 | 0x0100}, "encrypted"),
        ({"nfib": 0x0065}, "Word 6/95 format"),
        ({"flags": 0}, "table stream 0Table is missing"),
    ],
)
def test_word_files_we_cannot_read_say_why(kwargs, reason):
    doc = with_landing(word_doc([TITLE, "正文。"], **kwargs), "http://x.gov.cn/a.doc", TITLE)
    assert "unparsable" in doc.flags and reason in doc.errors[0]
    assert "report" in doc.flags  # archived raw under the landing page's title


def test_old_wps_format_is_refused_clearly_and_kept(caplog):
    body = b"\xff\x57\x50\x53" + "王家山镇".encode("gbk") * 10  # not a compound file
    with caplog.at_level(logging.WARNING, logger="nianbao.pipelines.attachments"):
        doc = with_landing(body, "http://x.gov.cn/a.wps", TITLE)
    assert "unparsable" in doc.flags and "not an OLE2 compound file" in doc.errors[0]
    assert "report" in doc.flags and doc.body == body


def test_compound_file_without_piece_table_falls_back_to_text_runs():
    text = "\r".join([TITLE, *new_format_lines("王家山镇", 2018)])
    body = compound_file({"WpsContent": text.encode("utf-16-le")})
    doc = derive(body, "http://x.gov.cn/a.wps")
    assert "heuristic_text" in doc.flags
    assert doc.title == TITLE  # the heading, found in the UTF-16 runs, is the title


def test_sniff_by_magic_before_content_type():
    assert sniff(b"%PDF-1.7", "text/html", "http://x/a.html") == "pdf"
    assert sniff(b"PK\x03\x04", "application/octet-stream", "http://x/a") == "docx"
    assert sniff(word_doc(["x"]), "application/octet-stream", "http://x/a") == "doc"
    assert sniff(b"<html>", "text/html", "http://x/a.html") == "html"


def test_recognize_stage_is_idempotent_on_attachment_docs():
    doc = with_landing(scanned_pdf(), "http://x.gov.cn/a.pdf", TITLE)
    again = recognize_run(doc)
    assert again.flags.count("report") == 1


def _landing(title: str, href: str, date: str) -> bytes:
    return f"""<html><head><meta charset="utf-8"><title>{title}</title></head><body>
<h1>{title}</h1><div class="info">发布时间：{date} 来源：方正县政务公开办</div>
<div class="TRS_Editor"><p>{title}详见附件。</p><p>附件1：<a href="{href}">{title}</a></p>
<p>附件2：<a href="{href}.table.pdf">政府信息公开情况统计表</a></p></div>
</body></html>""".encode()


def test_crawl_archives_attachments_as_reports_with_flags(db_url, serve):
    """PDF, scanned PDF, DOC and an unparsable PDF behind landing pages: all archived."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from nianbao.demo.server import Page, Portal
    from nianbao.models.tables import Blob, Capture, Version
    from tests.conftest import crawl

    broken = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 99999 >>\nstream\n\x00\x01"
    files = {
        "a.pdf": (
            "方正县教育局2021年政府信息公开工作年度报告",
            "application/pdf",
            pdf_bytes(new_format_lines("方正县教育局", 2021)),
        ),
        "b.pdf": ("方正县财政局2021年政府信息公开工作年度报告", "application/pdf", scanned_pdf()),
        "c.doc": (
            "宝兴乡2021年政府信息公开工作年度报告",
            "application/msword",
            word_doc(["宝兴乡2021年政府信息公开工作年度报告", *new_format_lines("宝兴乡", 2021)]),
        ),
        "d.pdf": ("方正镇2021年政府信息公开工作年度报告", "application/pdf", broken),
    }
    portal = Portal()
    portal.set("/robots.txt", Page(b"User-agent: *\nAllow: /\n", "text/plain"))
    links = "".join(f'<li><a href="/ndbg/{n}.html">{t}</a></li>' for n, (t, _, _) in files.items())
    portal.set(
        "/", Page("<html><body><a href='/ndbg/index.html'>年度报告</a></body></html>".encode())
    )
    portal.set("/ndbg/index.html", Page(f"<html><body><ul>{links}</ul></body></html>".encode()))
    for name, (title, ctype, body) in files.items():
        portal.set(f"/ndbg/{name}.html", Page(_landing(title, f"/ndbg/files/{name}", "2022-01-20")))
        portal.set(f"/ndbg/files/{name}", Page(body, ctype))
        # A second, scanned attachment that is a part of the report, not the report.
        portal.set(f"/ndbg/files/{name}.table.pdf", Page(scanned_pdf(), "application/pdf"))
    server = serve(portal)
    crawl(db_url, server.url("/"))

    engine = create_engine(db_url)
    with Session(engine) as session:
        versions = {v.url.rsplit("/", 1)[-1]: v for v in session.scalars(select(Version))}
        # Neither the landing pages nor the scanned 统计表 beside each report are reports.
        assert set(versions) == set(files), versions.keys()
        for name, (title, _ctype, body) in files.items():
            v = versions[name]
            assert (v.organ, v.year, v.title) == (title[: title.index("2021")], 2021, title)
            assert v.meta["landing_url"].endswith(f"/ndbg/{name}.html")
            # The landing page's 发布时间 and 来源 are the attachment's context.
            assert v.published == "2022-01-20" and v.meta["source"] == "方正县政务公开办"
            cap = session.scalars(select(Capture).where(Capture.version_id == v.id)).one()
            assert session.get(Blob, cap.body_sha256).size == len(body)  # raw bytes kept
        assert "总体情况" in versions["a.pdf"].text and "总体情况" in versions["c.doc"].text
        assert "scanned_pdf" in versions["b.pdf"].flags["items"]
        assert (
            "unparsable" in versions["d.pdf"].flags["items"]
            or "scanned_pdf" in versions["d.pdf"].flags["items"]
        )
        assert versions["d.pdf"].meta["errors"]
    engine.dispose()


def test_unmapped_cid_text_is_recognised_as_no_text_layer():
    garbage = "(cid:1234)(cid:88)(cid:4021) (cid:77)(cid:5)\n(cid:12)(cid:901) 1"
    assert cid_share(garbage) > 0.8
    assert cid_share("政府信息公开工作年度报告(cid:12)") < 0.1
    assert cid_share("") == 0.0
