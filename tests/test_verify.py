"""``nianbao verify``: re-hash every raw body and version text; damage means exit 4."""

from __future__ import annotations

import hashlib
import json
import zlib
from datetime import UTC, datetime

from sqlalchemy import text

from nianbao.models import archive
from nianbao.models.db import open_archive, sessionmaker_for
from nianbao.pipelines.derive import derive
from tests.conftest import cli

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def _archive_two_reports(db_url: str, seeds) -> list[str]:
    engine = open_archive(db_url)
    shas = []
    with sessionmaker_for(engine)() as session:
        for number, url in (("000", "http://a.gov.cn/1.html"), ("002", "http://a.gov.cn/2.html")):
            title, lines = seeds[number]
            body = f"<html><head><title>{title}</title></head><body><div id='zoom'>{''.join(f'<p>{x}</p>' for x in lines)}</div></body></html>".encode()
            doc = derive(body, url)
            cap = archive.CaptureIn(source="a", url=url, status=200, fetched_at=T0, body=body)
            archive.record_report(
                session, cap, doc, organ=title[:3], year=2018, published=None, cleaner_version="t"
            )
            shas.append(archive.put_blob(session, body))
        session.commit()
    engine.dispose()
    return shas


def _h(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sql(db_url: str, statement: str, **params) -> None:
    engine = open_archive(db_url)
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()


def test_intact_archive_passes(db_url, seeds):
    _archive_two_reports(db_url, seeds)
    out = cli(db_url, "verify")
    assert "checked 2 raw bodies and 2 versions: all intact" in out.stdout


def test_a_corrupted_blob_and_an_edited_version_are_caught(db_url, seeds):
    first, second = _archive_two_reports(db_url, seeds)
    # Bit rot in a stored body: same length, one byte changed, still valid zlib.
    engine = open_archive(db_url)
    with engine.connect() as conn:
        packed = conn.execute(
            text("SELECT data FROM blobs WHERE sha256 = :s"), {"s": first}
        ).scalar()
    engine.dispose()
    body = bytearray(zlib.decompress(packed))
    body[100] ^= 0x01
    _sql(
        db_url,
        "UPDATE blobs SET data = :d WHERE sha256 = :s",
        d=zlib.compress(bytes(body)),
        s=first,
    )
    # Garbage instead of zlib data.
    _sql(db_url, "UPDATE blobs SET data = :d WHERE sha256 = :s", d=b"not zlib", s=second)
    # Someone "fixed" a figure in the archived text.
    _sql(db_url, "UPDATE versions SET norm_text = norm_text || '1' WHERE report_id = 2")

    proc = cli(db_url, "verify", check=False)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert f"MISMATCH blob {first}: body hashes to" in proc.stdout
    assert f"MISMATCH blob {second}: does not decompress" in proc.stdout
    assert "MISMATCH version 2/1: normalised text hashes to" in proc.stdout
    assert "3 damaged" in proc.stdout
    report = json.loads(cli(db_url, "verify", "--json", check=False).stdout)
    assert (report["blobs"], report["versions"], len(report["problems"])) == (2, 2, 3)


def test_the_search_index_follows_an_update_and_verify_checks_it(db_url, seeds):
    """reprocess updates versions in place: search must find the new text, not the old;
    an index that missed an update is damage ``verify`` reports (SQLite FTS5)."""
    _archive_two_reports(db_url, seeds)
    if not db_url.startswith("sqlite"):
        return  # PostgreSQL's trigram index is an ordinary index: nothing to fall behind
    # New versions wait in the index's queue (migration 0013) until indexed.
    assert "search index: 2 versions indexed" in cli(db_url, "index").stdout
    new = "全新的唯一文本内容甲乙丙"
    _sql(db_url, "UPDATE versions SET norm_text = :t, sha256 = :h WHERE id = 1", t=new, h=_h(new))
    hits = json.loads(cli(db_url, "search", "唯一文本内容", "--json").stdout)
    assert [h["report_id"] for h in hits] == [1]
    # Without the trigger (an archive reprocessed before migration 0005), verify notices.
    _sql(db_url, "DROP TRIGGER versions_fts_update")
    new = "又一段从未索引过的文字"
    _sql(db_url, "UPDATE versions SET norm_text = :t, sha256 = :h WHERE id = 2", t=new, h=_h(new))
    proc = cli(db_url, "verify", check=False)
    assert proc.returncode == 4
    assert "version 2/1: the search index does not find this version's text" in proc.stdout
