"""Hostile documents: parsing is bounded in memory and time whatever the file claims.

The bomb corpus of issue 15 (a PDF whose content stream inflates to 1 GiB, a DOCX whose
zip headers lie about sizes, a DOCX that honestly inflates to 1.5 GB) is parsed through
``pipelines.attachments.extract``; the children's peak RSS is measured with
``resource.getrusage(RUSAGE_CHILDREN)``.
"""

from __future__ import annotations

import io
import resource
import struct
import zipfile
import zlib

import pytest

from nianbao.pipelines.attachments import extract
from nianbao.pipelines.document import Document

MiB = 2**20


def _deflated_zeros(size: int) -> bytes:
    z = zlib.compressobj(9)
    chunk = bytes(MiB)
    return b"".join(z.compress(chunk) for _ in range(size // MiB)) + z.flush()


def pdf_bomb(size: int = 1024 * MiB) -> bytes:
    stream = _deflated_zeros(size)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for i, obj in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def docx_bomb(size: int, lie: bool) -> bytes:
    """A zip with word/document.xml of ``size`` bytes; ``lie``: headers claim 1 KiB."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(b"<w:document>")
            chunk = b"<w:p/>" * (MiB // 6)
            for _ in range(size // len(chunk)):
                member.write(chunk)
    data = bytearray(buf.getvalue())
    if lie:
        for sig, off in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
            pos = data.find(
                sig, data.find(b"word/document.xml") - 60 if sig == b"PK\x03\x04" else 0
            )
            while pos != -1:
                if data[pos + off : pos + off + 4] == b"\xff\xff\xff\xff":  # zip64 marker
                    data[pos + off : pos + off + 4] = struct.pack("<I", 1024)
                pos = data.find(sig, pos + 4)
    return bytes(data)


@pytest.fixture(scope="module")
def corpus() -> dict[str, tuple[str, bytes]]:
    return {
        "pdf stream inflating to 1 GiB": ("pdf", pdf_bomb()),
        "docx whose headers lie about sizes": ("docx", docx_bomb(1536 * MiB // 8, lie=True)),
        "docx inflating to 1.5 GB": ("docx", docx_bomb(1536 * MiB // 8, lie=False)),
    }


def test_the_bomb_corpus_is_refused_with_peak_rss_under_512_mb(corpus):
    for name, (kind, body) in corpus.items():
        doc = extract(Document(url=f"http://a.gov.cn/{kind}", body=body), kind)
        assert doc.blocks == [] or sum(map(len, doc.blocks)) < 10 * MiB, name
        assert "unparsable" in doc.flags, (name, doc.flags, doc.errors)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"peak child RSS over the bomb corpus: {peak_kib / 1024:.0f} MiB")
    assert peak_kib < 512 * 1024
    pdf = extract(
        Document(url="http://a.gov.cn/b.pdf", body=corpus["pdf stream inflating to 1 GiB"][1]),
        "pdf",
    )
    assert "bomb" in pdf.flags and "MemoryError" in pdf.errors[-1]


def test_a_parse_over_its_time_is_refused_as_timeout(monkeypatch, corpus):
    monkeypatch.setenv("NIANBAO_PARSE_TIMEOUT", "0.01")
    doc = extract(Document(url="http://a.gov.cn/a.pdf", body=b"%PDF-1.4\n"), "pdf")
    assert "timeout" in doc.flags and "refused (timeout)" in doc.errors[-1]
