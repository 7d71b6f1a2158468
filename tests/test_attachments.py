"""Attachments: DOCX text, zip bombs refused, broken PDFs reported, scans flagged."""

from __future__ import annotations

import io
import zipfile

from nianbao.portalgen import docx_bytes
from pipelines.attachments import MAX_UNCOMPRESSED, reflow, sniff
from pipelines.derive import derive


def test_docx_text_in_order(seeds):
    title, lines = seeds["000"]
    doc = derive(docx_bytes(title, lines[:5]), "http://x.gov.cn/a.docx")
    assert doc.kind == "docx"
    assert doc.blocks[0] == title and doc.blocks[1:6] == lines[:5]


def test_zip_bomb_is_refused_not_inflated():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", b"\0" * (MAX_UNCOMPRESSED + 1))
    doc = derive(buf.getvalue(), "http://x.gov.cn/bomb.docx")
    assert "unparsable" in doc.flags
    assert any("zip bomb" in e for e in doc.errors)


def test_broken_pdf_is_reported():
    doc = derive(b"%PDF-1.4\n this is not a pdf", "http://x.gov.cn/a.pdf")
    assert doc.kind == "pdf" and doc.text == ""
    assert doc.errors or "scanned_pdf" in doc.flags


def test_sniff_by_magic_before_content_type():
    assert sniff(b"%PDF-1.7", "text/html", "http://x/a.html") == "pdf"
    assert sniff(b"PK\x03\x04", "application/octet-stream", "http://x/a") == "docx"
    assert sniff(b"<html>", "text/html", "http://x/a.html") == "html"


def test_reflow_joins_lines_broken_mid_sentence():
    lines = ["一、概述", "我镇2018年政府信息公开工作", "取得新进展。", "二、主动公开"]
    assert reflow(lines) == ["一、概述", "我镇2018年政府信息公开工作取得新进展。", "二、主动公开"]
