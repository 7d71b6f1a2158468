"""``nianbao reprocess``: re-derive versions from stored raw captures, in place, honestly."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from nianbao.models import archive, log
from nianbao.models.db import open_archive, sessionmaker_for
from nianbao.models.tables import Blob, Version
from nianbao.pipelines.derive import CLEANER_VERSION, derive
from nianbao.pipelines.normalize import normal_form
from nianbao.services.reprocess import reprocess
from tests.conftest import cli, cli_json, crawl

JUNK = "分享到：微信 微博 QQ空间"


def _versions(db_url: str) -> list[Version]:
    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as session:
        rows = list(session.scalars(select(Version).order_by(Version.id)))
    engine.dispose()
    return rows


def _pretend_an_older_cleaner_kept_junk(db_url: str) -> dict[int, str]:
    """Rewrite each version as a cleaner that kept a share bar would have stored it."""
    engine = open_archive(db_url)
    before = {}
    with sessionmaker_for(engine).begin() as session:
        for v in session.scalars(select(Version)):
            before[v.id] = v.text
            v.text = v.text + "\n" + JUNK
            v.norm_text = normal_form(v.text)
            v.sha256 = hashlib.sha256(v.norm_text.encode()).hexdigest()
            v.cleaner_version, v.removed = "0", {"items": []}
        # as that cleaner's writer would have logged them (else: tampering, and refused)
        log.relog(session, "version", list(before))
    engine.dispose()
    return before


def test_improved_cleaner_rederives_in_place_without_new_versions(db_url, county, serve):
    server = serve(county)
    crawl(db_url, server.url("/"))
    clean = {v.id: (v.sha256, v.text) for v in _versions(db_url)}
    fresh = cli_json(db_url, "reprocess")
    assert fresh["versions"] == 3 and fresh["unchanged"] == 3, "same cleaner: nothing to do"
    assert fresh["rederived"] == 0 and fresh["errors"] == []
    assert {v.id: (v.sha256, v.text) for v in _versions(db_url)} == clean
    _pretend_an_older_cleaner_kept_junk(db_url)
    stale = {v.id: v.sha256 for v in _versions(db_url)}

    out = cli(db_url, "reprocess").stdout
    assert "3 re-derived" in out and "no version was created or deleted" in out
    after = _versions(db_url)
    assert {v.id: (v.sha256, v.text) for v in after} == clean, "same ids: updated in place"
    for v in after:
        assert v.cleaner_version == CLEANER_VERSION
        [entry] = v.meta["rederived"]
        assert entry["from_sha256"] == stale[v.id] and entry["from_cleaner"] == "0"
        if v.meta["kind"] == "html":  # the DOCX has no chrome to remove
            assert v.removed["items"], "the removal record is re-derived too"
    assert [r["versions"] for r in cli_json(db_url, "reports")] == [1, 1, 1]

    again = cli_json(db_url, "reprocess")
    assert again["unchanged"] == 3 and again["rederived"] == 0, "idempotent"
    out = crawl(db_url, server.url("/"))
    assert "0 new versions" in out.stdout, "a re-crawl finds the re-derived hash"


def test_versions_that_now_clean_alike_are_kept_and_reported(db_url, seeds):
    title, lines = seeds["000"]
    page = (
        f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>"
        f"<div id='zoom'>{''.join(f'<p>{x}</p>' for x in lines)}</div></body></html>"
    ).encode()
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    engine = open_archive(db_url)
    factory = sessionmaker_for(engine)
    with factory.begin() as session:
        for i in range(2):
            doc = derive(page, "http://a.gov.cn/r.html")
            if i == 1:  # as an older cleaner would have seen a second capture
                doc.text += "\n" + JUNK
                doc.sha256 = hashlib.sha256(normal_form(doc.text).encode()).hexdigest()
            cap = archive.CaptureIn(
                source="a",
                url="http://a.gov.cn/r.html",
                status=200,
                fetched_at=t0 + timedelta(days=i),
                body=page,
                headers={"Content-Type": ["text/html; charset=utf-8"]},
            )
            archive.record_report(
                session, cap, doc, organ="苏家店镇", year=2013, published=None, cleaner_version="0"
            )
    outcome = reprocess(factory).as_dict()
    assert outcome["versions"] == 2
    assert outcome["now_identical"] == [{"report": 1, "version": 2}]
    with factory() as session:
        v1, v2 = session.scalars(select(Version).order_by(Version.n))
        assert v1.sha256 == v2.sha256 and v2.meta["same_text_as"] == 1
    assert reprocess(factory).as_dict()["unchanged"] == 2
    engine.dispose()


def test_an_unreadable_raw_body_is_reported_and_touches_nothing(db_url, seeds):
    engine = open_archive(db_url)
    factory = sessionmaker_for(engine)
    with factory.begin() as session:
        for i, key in enumerate(["000", "002"]):
            t, ls = seeds[key]
            body = (
                f"<html><head><title>{t}</title></head><body><div id='zoom'>"
                + "".join(f"<p>{x}</p>" for x in ls)
                + "</div></body></html>"
            ).encode()
            cap = archive.CaptureIn(
                source="a",
                url=f"http://a.gov.cn/{i}.html",
                status=200,
                fetched_at=datetime(2024, 3, 1, tzinfo=UTC),
                body=body,
            )
            doc = derive(body, cap.url)
            archive.record_report(
                session, cap, doc, organ=key, year=2014, published=None, cleaner_version="0"
            )
    with factory.begin() as session:
        blob = session.scalars(select(Blob).order_by(Blob.sha256)).first()
        blob.data = b"not zlib"
        broken = blob.sha256
    before = {v.id: v.cleaner_version for v in _versions(db_url)}
    proc = cli(db_url, "reprocess", check=False)
    assert proc.returncode == 1
    assert f"raw body {broken[:16]} is unreadable" in proc.stderr
    after = {v.id: v.cleaner_version for v in _versions(db_url)}
    assert sorted(after.values()) == sorted(["0", CLEANER_VERSION]), "the other one is done"
    assert after.keys() == before.keys()
    engine.dispose()


def test_same_cleaner_changes_nothing_and_every_field_is_rederived(db_url, county, serve):
    """One capture → Document path for the crawl and reprocess: with the same cleaner an
    attachment keeps what it inherited from its landing page (索引号, 发布机构, dates), and a
    version's title, organ, year and publication date are derived again, not kept."""
    server = serve(county)
    crawl(db_url, server.url("/"))
    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as session:
        before = {
            v.id: (v.title, v.organ, v.year, v.published, dict(v.meta))
            for v in session.scalars(select(Version))
        }
    docx = [k for k, (*_rest, meta) in before.items() if meta.get("kind") == "docx"]
    assert docx and before[docx[0]][4].get("published") == before[docx[0]][4]["landing_published"]
    outcome = cli_json(db_url, "reprocess")
    assert outcome["unchanged"] == outcome["versions"] == len(before), outcome
    # An older cleaner had filed the versions wrongly: reprocess files them again.
    with sessionmaker_for(engine).begin() as session:
        for v in session.scalars(select(Version)):
            v.title, v.organ, v.year, v.published = "?", "?", 1999, None
            v.meta = {k: val for k, val in v.meta.items() if k not in ("index_no", "publisher")}
        session.flush()
        # as that cleaner's writer would have logged them (else: tampering, and refused)
        log.relog(session, "version", list(before))
    outcome = cli_json(db_url, "reprocess")
    assert outcome["refreshed"] == len(before), outcome
    with sessionmaker_for(engine)() as session:
        after = {
            v.id: (v.title, v.organ, v.year, v.published, dict(v.meta))
            for v in session.scalars(select(Version))
        }
    engine.dispose()
    assert after == before
