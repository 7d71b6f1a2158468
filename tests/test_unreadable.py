"""Empty or failed text never identifies or moves a report: it is evidence, flagged."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from nianbao.models import archive
from nianbao.models.db import open_archive, sessionmaker_for
from nianbao.models.tables import Capture, Report
from nianbao.pipelines.derive import derive
from tests.conftest import cli

T0 = datetime(2024, 3, 1, tzinfo=UTC)
BROKEN = {
    "http://a.gov.cn/1.pdf": (b"%PDF-1.4 truncated", "application/pdf"),
    "http://a.gov.cn/2.docx": (b"PK\x03\x04 not a docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "http://a.gov.cn/3.pdf": (b"%PDF-1.7 another broken one", "application/pdf"),
}  # fmt: skip


def test_three_unparsable_attachments_are_three_flagged_captures_and_no_report(db_url):
    engine = open_archive(db_url)
    with sessionmaker_for(engine).begin() as s:
        for url, (body, ctype) in BROKEN.items():
            doc = derive(body, url, ctype)
            assert doc.norm_text == "" and doc.errors
            cap = archive.CaptureIn("a", url, 200, T0, body=body, headers={"Content-Type": [ctype]})
            stored = archive.record_report(
                s, cap, doc, organ=None, year=None, published=None, cleaner_version="t"
            )
            assert stored.report_id is None and not stored.new_report
    with sessionmaker_for(engine)() as s:
        assert s.scalars(select(Report)).all() == []
        kept = s.scalars(select(Capture).order_by(Capture.id)).all()
        assert [c.kind for c in kept] == ["unreadable"] * 3
        assert all(c.body_sha256 and "no text could be read" in c.note for c in kept)
        assert "pdf: cannot parse" in kept[0].note
    engine.dispose()
    assert "all intact" in cli(db_url, "verify").stdout  # logged like any capture


def test_a_failed_parse_of_a_known_report_is_not_a_new_version(db_url, seeds):
    title, lines = seeds["000"]
    url = "http://a.gov.cn/r.html"
    page = (
        f"<html><head><title>{title}</title></head><body><div id='zoom'>"
        + "".join(f"<p>{x}</p>" for x in lines)
        + "</div></body></html>"
    ).encode()
    engine = open_archive(db_url)
    with sessionmaker_for(engine).begin() as s:
        cap = archive.CaptureIn("a", url, 200, T0, body=page)
        first = archive.record_report(
            s,
            cap,
            derive(page, url),
            organ="方正县",
            year=2018,
            published=None,
            cleaner_version="t",
        )
        broken = b"%PDF-1.4 truncated"
        cap = archive.CaptureIn("a", url, 200, T0, body=broken)
        doc = derive(broken, url, "application/pdf")
        again = archive.record_report(
            s, cap, doc, organ="方正县", year=2018, published=None, cleaner_version="t"
        )
    engine.dispose()
    assert first.new_report and not again.new_version and again.report_id == first.report_id
    assert cli(db_url, "versions", "1", "--json").stdout.count('"n"') == 1
