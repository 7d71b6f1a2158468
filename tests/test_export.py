"""Exports (issue 13): WARC read back with warcio, JSONL and CSV, and their targets."""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from nianbao.models.db import open_archive, open_reader, sessionmaker_for
from nianbao.models.tables import Capture
from tests.conftest import cli, cli_bytes, cli_json, crawl

REPORTS = 3


def b32(hex_digest: str) -> str:
    return "sha256:" + base64.b32encode(bytes.fromhex(hex_digest)).decode()


def captures(db_url: str) -> dict[int, Capture]:
    engine = open_reader(db_url)
    with sessionmaker_for(engine)() as session:
        rows = {c.id: c for c in session.query(Capture).all()}
        session.expunge_all()
    engine.dispose()
    return rows


@pytest.fixture
def archived(db_url, county, serve):
    """The county portal crawled twice: 200s, then 304s for every report."""
    server = serve(county)
    crawl(db_url, server.url("/"))
    crawl(db_url, server.url("/"))
    return db_url


@pytest.mark.backend("sqlite", "postgresql")
def test_warc_export_reads_back_with_exact_bytes_and_digests(archived, tmp_path):
    out = tmp_path / "archive.warc.gz"
    result = json.loads(cli(archived, "export", "warc", str(out), "--json").stdout)
    stored = captures(archived)
    assert result["revisit"] >= REPORTS, result
    records = []
    with out.open("rb") as fh:
        for rec in ArchiveIterator(fh, check_digests="raise"):
            records.append((rec, rec.raw_stream.read()))
    whole = gzip.decompress(out.read_bytes())
    assert records[0][0].rec_type == "warcinfo"
    assert records[0][0].rec_headers["WARC-Type"] == "warcinfo"
    by_id = {r.rec_headers["WARC-Record-ID"]: r for r, _ in records}
    responses = [(r, body) for r, body in records if r.rec_type == "response"]
    requests = [r for r, _ in records if r.rec_type == "request"]
    revisits = [r for r, _ in records if r.rec_type == "revisit"]
    assert len(responses) == result["response"] and len(revisits) == result["revisit"]
    assert len(requests) == result["request"] >= len(responses)
    wire = {c.body_sha256: c for c in stored.values() if c.body_sha256 and c.status == 200}
    compressed = 0
    for rec, raw_body in responses:
        digest = rec.rec_headers["WARC-Payload-Digest"]
        capture = next(c for c in wire.values() if b32(c.body_sha256) == digest)
        # the head byte for byte, then the body as it was sent (gzip bytes stay gzip)
        assert hashlib.sha256(raw_body).hexdigest() == capture.body_sha256
        assert capture.response_head.encode("latin-1") + raw_body in whole
        compressed += rec.http_headers.get_header("Content-Encoding") == "gzip"
        assert rec.rec_headers["WARC-IP-Address"] == capture.remote_ip == "127.0.0.1"
        assert rec.rec_headers["WARC-Target-URI"] == capture.url
    assert compressed, "no gzip response exported"
    for rec in requests:
        capture = next(c for c in stored.values() if rec.rec_headers["WARC-Target-URI"] == c.url)
        assert capture.request_head.encode("latin-1") in whole
        assert rec.rec_headers["WARC-Concurrent-To"]
    for rec in revisits:
        assert rec.http_headers.get_statuscode() == "304"
        assert rec.rec_headers["WARC-Profile"].endswith("/revisit/server-not-modified")
        target = by_id[rec.rec_headers["WARC-Refers-To"]]
        assert target.rec_type == "response"
        assert rec.rec_headers["WARC-Refers-To-Target-URI"] == target.rec_headers["WARC-Target-URI"]
        assert rec.rec_headers["WARC-Payload-Digest"] == target.rec_headers["WARC-Payload-Digest"]
    # warcio's own validator agrees (block and payload digests of every record)
    check = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "warcio"), "check", "-v", str(out)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout
    replay_through_cdxj(archived, out, stored)


def replay_through_cdxj(db_url: str, warc: Path, stored: dict[int, Capture]) -> None:
    """What pywb does: index with cdxj-indexer, seek to a record, serve its decoded entity.

    (pywb itself pins redis==2.10.6 and werkzeug==3.1.7, which conflict with scrapy-redis in
    the dev extra, so its own indexer is used here; pywb 2.10 replayed this export by hand.)
    """
    index = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "cdxj-indexer"), str(warc)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    entries = [json.loads(line.split(" ", 2)[2]) for line in index]
    whole = [c for c in stored.values() if c.status == 200 and c.body_sha256]
    # the portal chunks every third answer: those are stored transfer-decoded, and a
    # reader must still get the entity from them
    assert any("chunked" in (c.response_head or "") for c in whole)
    assert any(c.kind == "report" for c in whole)
    for capture in whole:
        entry = next(
            e
            for e in entries
            if e["url"] == capture.url and e["digest"] == b32(capture.body_sha256)
        )
        with warc.open("rb") as fh:
            fh.seek(int(entry["offset"]))
            record = next(iter(ArchiveIterator(fh)))
            served = record.content_stream().read()  # content coding undone, as a replay does
        assert served == cli_bytes(db_url, "raw", str(capture.id), "--decoded")
    revisits = [e for e in entries if e["mime"] == "warc/revisit"]
    assert len(revisits) == sum(c.status == 304 for c in stored.values())


def test_warc_export_filters_and_refuses_to_overwrite(archived, tmp_path):
    out = tmp_path / "a.warc"
    first = json.loads(cli(archived, "export", "warc", str(out), "--json").stdout)
    again = cli(archived, "export", "warc", str(out), check=False)
    assert again.returncode == 2 and "exists; pass --force" in again.stderr
    later = json.loads(
        cli(
            archived, "export", "warc", str(out), "--since", "2999-01-01", "--force", "--json"
        ).stdout
    )
    assert later["captures"] == 0 and first["captures"] > 0
    other = cli(
        archived, "export", "warc", str(tmp_path / "b.warc"), "--source", "nope", check=False
    )
    assert other.returncode == 1 and "no source named 'nope'" in other.stderr
    assert not (tmp_path / "b.warc").exists()
    source = cli_json(archived, "reports")[0]["source"]
    mine = json.loads(
        cli(archived, "export", "warc", str(out), "--source", source, "--force", "--json").stdout
    )
    assert mine["captures"] == first["captures"]  # one source crawled: all of them


@pytest.mark.backend("sqlite", "postgresql")
def test_jsonl_and_csv_exports(archived, tmp_path):
    out = tmp_path / "versions.jsonl"
    cli(archived, "export", "jsonl", str(out))
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == REPORTS
    stored = captures(archived)
    for line in lines:
        assert hashlib.sha256(line["text"].encode()).hexdigest() != ""  # text present
        assert line["text"] and line["version"] == 1 and line["source"]
        # provenance: every capture named showed this version, 200 and 304 alike
        shown = [stored[i] for i in line["captures"]]
        assert {c.status for c in shown} == {200, 304}
        assert all(c.report_id == line["report"] for c in shown)
    target = tmp_path / "csv"
    cli(archived, "export", "csv", str(target))
    with (target / "versions.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["sha256"] for r in rows] == [line["sha256"] for line in lines]
    assert rows[0]["text"] == lines[0]["text"]  # multi-line Chinese text survives CSV quoting
    with (target / "captures.csv").open(encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == len(stored)
    assert sorted(p.name for p in target.iterdir()) == [
        "captures.csv",
        "reports.csv",
        "versions.csv",
    ]


def test_exports_write_nowhere_but_their_target(archived, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "out.jsonl"
    link.symlink_to(victim)
    refused = cli(archived, "export", "jsonl", str(link), check=False)
    assert refused.returncode == 2 and "exists" in refused.stderr
    cli(archived, "export", "jsonl", str(link), "--force")
    assert victim.read_text() == "keep me"  # the link was replaced, not followed
    assert not link.is_symlink() and link.read_text(encoding="utf-8").count("\n") == REPORTS
    # a CSV directory with one existing file: nothing at all is written without --force
    target = tmp_path / "csv"
    target.mkdir()
    (target / "captures.csv").write_text("mine")
    refused = cli(archived, "export", "csv", str(target), check=False)
    assert refused.returncode == 2 and "captures.csv exists" in refused.stderr
    assert sorted(p.name for p in target.iterdir()) == ["captures.csv"]
    assert not [p for p in Path(tmp_path).rglob("*.part")]


def test_warc_export_marks_captures_made_before_wire_capture(archived, tmp_path):
    """A ``decoded`` capture (before migration 0004) only has the entity: a resource record
    that says so, never a response claiming to be what was received."""
    engine = open_archive(archived)
    with sessionmaker_for(engine)() as session:
        old = session.scalars(
            select(Capture).where(Capture.kind == "report", Capture.status == 200).limit(1)
        ).one()
        old.body_form = "decoded"
        old_id, old_sha = old.id, old.body_sha256
        session.commit()
    engine.dispose()
    out = tmp_path / "old.warc.gz"
    result = json.loads(cli(archived, "export", "warc", str(out), "--json").stdout)
    assert result["resource"] == 1
    with out.open("rb") as fh:
        (record,) = [
            (r, r.content_stream().read())
            for r in ArchiveIterator(fh, check_digests="raise")
            if r.rec_type == "resource"
        ]
    rec, body = record
    assert rec.rec_headers["WARC-Nianbao-Body-Form"] == "decoded"
    assert "before nianbao kept the bytes on the wire" in rec.rec_headers["WARC-Nianbao-Note"]
    assert rec.rec_headers["WARC-Payload-Digest"] == b32(old_sha)
    assert rec.rec_headers["WARC-Target-URI"] == captures(archived)[old_id].url
    assert hashlib.sha256(body).hexdigest() == old_sha
