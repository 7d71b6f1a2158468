"""The archive's Merkle log: every tamper case of issue 15 is caught, an untouched archive
passes, checkpoints pin the past; on SQLite and (with NIANBAO_TEST_PG) PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from nianbao.models import archive, checkpoint, log, merkle, pagecache
from nianbao.models.db import open_archive, open_reader, resolve_url, sessionmaker_for
from nianbao.models.tables import Capture
from nianbao.models.verify import verify
from nianbao.pipelines.derive import derive
from nianbao.pipelines.document import Removal
from tests.conftest import NIANBAO, cli

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def _page(title: str, lines: list[str]) -> bytes:
    paras = "".join(f"<p>{x}</p>" for x in lines)
    return (
        f"<html><head><title>{title}</title></head><body><div id='zoom'>{paras}</div></body></html>"
    ).encode()


def _report(session, url: str, title: str, lines: list[str], when: datetime, organ: str):
    body = _page(title, lines)
    doc = derive(body, url)
    cap = archive.CaptureIn(
        source="a",
        url=url,
        status=200,
        fetched_at=when,
        body=body,
        headers={"Content-Type": ["text/html; charset=utf-8"], "ETag": ['"x1"']},
        response_head=b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n",
        request_head=b"GET / HTTP/1.1\r\nHost: a.gov.cn\r\n\r\n",
    )
    return archive.record_report(
        session, cap, doc, organ=organ, year=2018, published="2019-01-20", cleaner_version="t",
        meta={"index_no": "000-2019-1"},
    )  # fmt: skip


def build(db_url: str, seeds) -> None:
    """Two reports (the first with two versions), a 304, a list page, a 404."""
    engine = open_archive(db_url)
    t0, l0 = seeds["000"]
    t2, l2 = seeds["002"]
    with sessionmaker_for(engine).begin() as s:
        _report(s, "http://a.gov.cn/1.html", t0, l0, T0, "方正县")
        _report(s, "http://a.gov.cn/2.html", t2, l2, T0, "伊汉通")
    with sessionmaker_for(engine).begin() as s:
        _report(s, "http://a.gov.cn/1.html", t0, l0[:-1], T0 + timedelta(days=1), "方正县")
        archive.record_not_modified(
            s, archive.CaptureIn("a", "http://a.gov.cn/2.html", 304, T0 + timedelta(days=1))
        )
        source_id = archive.get_or_create_source(s, "a").id
        page = archive.CaptureIn(
            "a", "http://a.gov.cn/list.html", 200, T0, body=b"<a href='1.html'>x</a>" * 20
        )
        pagecache.save(s, source_id, [page])
        archive.record_gone(s, archive.CaptureIn("a", "http://a.gov.cn/3.html", 404, T0))
    engine.dispose()


def tamper(db_url: str, *statements: str, **params) -> None:
    """What an attacker with the database does: no foreign keys, no triggers in the way."""
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(make_url(db_url).database)
        for statement in statements:
            conn.execute(statement, {k: v for k, v in params.items() if f":{k}" in statement})
        conn.commit()
        conn.close()
        return
    engine = create_engine(resolve_url(db_url))
    with engine.begin() as conn:
        conn.execute(text("SET session_replication_role = replica"))  # FKs off
        for statement in statements:
            conn.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
    engine.dispose()


def check(db_url: str, checkpoints=()):
    engine = open_reader(db_url)
    with sessionmaker_for(engine)() as s:
        result = verify(s, list(checkpoints))
    engine.dispose()
    return result


def _problems(result) -> dict[str, str]:
    return {f"{p.kind} {p.key}": p.detail for p in result.problems}


def _h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_an_untouched_archive_is_intact_and_every_row_is_logged(db_url, seeds):
    build(db_url, seeds)
    result = check(db_url)
    assert result.ok, result.problems
    # 2 reports + 3 versions + 6 captures (3 report, one 304, one page, one 404)
    assert (result.reports, result.versions, result.captures) == (2, 3, 6)
    assert result.log_size == 11
    proc = cli(db_url, "verify")
    assert "log: 11 leaves, root " in proc.stdout
    assert "all intact" in proc.stdout


# Each attack: SQL an attacker runs, and the damaged row verify must name.
ATTACKS = {
    "edited text (what show prints)": (
        ["UPDATE versions SET text = text || '0' WHERE id = 1"],
        "version 1/1",
    ),
    "consistent rewrite of text, norm_text and sha256": (
        ["UPDATE versions SET text = :t, norm_text = :t, sha256 = :h WHERE id = 2"],
        "version 2/1",
    ),
    "deleted capture": (["DELETE FROM captures WHERE id = 4"], "capture 4"),
    "deleted version": (
        ["DELETE FROM captures WHERE version_id = 3", "DELETE FROM versions WHERE id = 3"],
        "version v3",
    ),
    "deleted report with everything of it": (
        [
            "DELETE FROM captures WHERE report_id = 2",
            "DELETE FROM versions WHERE report_id = 2",
            "DELETE FROM report_urls WHERE report_id = 2",
            "DELETE FROM reports WHERE id = 2",
        ],
        "report 2",
    ),
    "back-dated fetched_at": (
        ["UPDATE captures SET fetched_at = '2020-01-01 00:00:00' WHERE id = 1"],
        "capture 1",
    ),
    "back-dated version first_seen": (
        ["UPDATE versions SET first_seen = '2020-01-01 00:00:00' WHERE id = 1"],
        "version 1/1",
    ),
    "back-dated report first_seen": (
        ["UPDATE reports SET first_seen = '2020-01-01 00:00:00' WHERE id = 1"],
        "report 1",
    ),
    "edited capture context (the crawl's context, a POST's form)": (
        ["UPDATE captures SET context = '{\"form\": {\"page\": \"9\"}}' WHERE id = 1"],
        "capture 1",
    ),
    "edited version title": (["UPDATE versions SET title = 'x' WHERE id = 1"], "version 1/1"),
    "edited version organ": (["UPDATE versions SET organ = 'x' WHERE id = 1"], "version 1/1"),
    "edited version year": (["UPDATE versions SET year = 2017 WHERE id = 1"], "version 1/1"),
    "edited version metadata": (
        ["UPDATE versions SET meta = '{\"index_no\": \"forged\"}' WHERE id = 1"],
        "version 1/1",
    ),
    "edited report title": (["UPDATE reports SET title = 'x' WHERE id = 1"], "report 1"),
    "edited report organ and year": (
        ["UPDATE reports SET organ = 'x', year = 2017 WHERE id = 1"],
        "report 1",
    ),
    "edited response head": (
        ["UPDATE captures SET response_head = 'HTTP/1.1 200 OK' WHERE id = 1"],
        "capture 1",
    ),
    "body rewritten and its capture repointed": (
        [
            "INSERT INTO blobs (sha256, size, compression, data) VALUES (:h, 6, 'none', :b)",
            "UPDATE captures SET body_sha256 = :h WHERE id = 1",
        ],
        "capture 1",
    ),
    "deleted body": (["DELETE FROM blobs WHERE sha256 = (SELECT body_sha256 FROM captures WHERE id = 2)"], "capture 2"),
    "row added behind the log's back": (
        [
            "INSERT INTO captures (source_id, url, fetched_at, status, headers, kind, body_form)"
            " VALUES (1, 'http://a.gov.cn/9.html', '2024-01-01 00:00:00', 200, '{}', 'gone', 'wire')"
        ],
        "capture 7",
    ),
}  # fmt: skip


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_every_attack_is_caught_and_names_the_row(db_url, seeds, attack):
    statements, damaged = ATTACKS[attack]
    build(db_url, seeds)
    forged = "伪造的报告全文内容"
    tamper(db_url, *statements, t=forged, h=_h("forged"), b=b"forged")
    result = check(db_url)
    assert not result.ok, attack
    assert damaged in _problems(result), (attack, _problems(result))


def test_verify_exits_4_naming_the_row_and_raw_survives_a_deleted_body(db_url, seeds):
    build(db_url, seeds)
    tamper(
        db_url, "DELETE FROM blobs WHERE sha256 = (SELECT body_sha256 FROM captures WHERE id = 2)"
    )
    proc = cli(db_url, "verify", check=False)
    assert proc.returncode == 4
    assert "MISMATCH capture 2: its raw body" in proc.stdout
    raw = cli(db_url, "raw", "2", check=False)
    assert raw.returncode == 1 and "Traceback" not in raw.stderr
    assert "capture 2: its body" in raw.stderr and "missing" in raw.stderr


@pytest.mark.backend("sqlite")
def test_invalid_utf8_in_a_row_is_reported_not_a_crash(db_url, seeds):
    build(db_url, seeds)
    tamper(db_url, "UPDATE versions SET text = CAST(X'e5b9b4ff' AS TEXT) WHERE id = 1")
    proc = cli(db_url, "verify", check=False)
    assert proc.returncode == 4, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "MISMATCH version v1: unreadable" in proc.stdout


def test_a_missing_archive_is_refused(tmp_path):
    proc = cli(str(tmp_path / "typo.sqlite"), "verify", check=False)
    assert proc.returncode == 1 and "no archive at" in proc.stderr
    assert not (tmp_path / "typo.sqlite").exists()


def _keygen(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NIANBAO, "log", "keygen", str(path)], capture_output=True, text=True)


def test_keygen_makes_a_private_key_file_and_never_overwrites(tmp_path):
    key = tmp_path / "log.key"
    made = _keygen(key)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    again = _keygen(key)
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr
    assert key.read_bytes() == before


def _checkpoint(db_url: str, key: Path, where: Path) -> dict:
    proc = cli(db_url, "log", "checkpoint", "--key", str(key))
    where.write_text(proc.stdout)
    return json.loads(proc.stdout)


def test_a_checkpoint_pins_the_past_even_against_a_rewritten_log(db_url, seeds, tmp_path):
    build(db_url, seeds)
    key, cp_file = tmp_path / "log.key", tmp_path / "cp.json"
    assert _keygen(key).returncode == 0
    cp = _checkpoint(db_url, key, cp_file)
    assert cp["size"] == 11 and checkpoint.parse(cp_file.read_bytes(), "cp").signature_ok()

    # Growth after the checkpoint is consistent with it.
    engine = open_archive(db_url)
    with sessionmaker_for(engine).begin() as s:
        archive.record_gone(s, archive.CaptureIn("a", "http://a.gov.cn/4.html", 404, T0))
    engine.dispose()
    assert cli(db_url, "verify", "--checkpoint", str(cp_file)).returncode == 0

    # An attacker who knows the log's format rewrites a text and its leaf in place:
    # every row matches its leaf again, only the checkpoint can tell.
    forged = "伪造的报告全文内容"
    tamper(db_url, "UPDATE versions SET text = :t, norm_text = :t, sha256 = :h WHERE id = 2",
           t=forged, h=_h(forged))  # fmt: skip
    engine = open_reader(db_url)
    with engine.connect() as conn:
        row = log.load_rows(conn, "version", [2])[2]
        leaf = log.leaf_of("version", row)
    engine.dispose()
    tamper(db_url, "UPDATE log_leaves SET leaf_hash = :l WHERE kind = 'version' AND row_id = 2",
           l=leaf)  # fmt: skip
    assert cli(db_url, "verify").returncode == 0  # without a checkpoint: undetectable
    proc = cli(db_url, "verify", "--checkpoint", str(cp_file), check=False)
    assert proc.returncode == 4
    assert f"MISMATCH checkpoint {cp_file}: the log's first 11 leaves no longer hash" in proc.stdout


def test_a_truncated_log_or_forged_checkpoint_is_caught(db_url, seeds, tmp_path):
    build(db_url, seeds)
    key, cp_file = tmp_path / "log.key", tmp_path / "cp.json"
    assert _keygen(key).returncode == 0
    cp = _checkpoint(db_url, key, cp_file)
    forged = dict(cp, size=3)
    forged_file = tmp_path / "forged.json"
    forged_file.write_text(json.dumps(forged))
    # The newest capture and its leaf removed together: rows and log agree, the tree shrank.
    tamper(db_url, "DELETE FROM captures WHERE id = 6", "DELETE FROM log_leaves WHERE idx = 10")
    proc = cli(db_url, "verify", "--checkpoint", str(cp_file), "--checkpoint", str(forged_file),
               check=False)  # fmt: skip
    assert proc.returncode == 4
    assert "signed a log of 11 leaves; the log has 10" in proc.stdout
    assert f"MISMATCH checkpoint {forged_file}: its signature does not verify" in proc.stdout
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    proc = cli(db_url, "verify", "--checkpoint", str(bad), check=False)
    assert proc.returncode == 2 and "is not a nianbao checkpoint" in proc.stderr


def test_prove_gives_an_inclusion_proof_that_checks(db_url, seeds):
    build(db_url, seeds)
    proof = json.loads(cli(db_url, "log", "prove", "v2").stdout)
    assert proof["kind"] == "version" and proof["row_matches_leaf"] and proof["verified"]
    assert merkle.verify_inclusion(
        proof["leaf_index"],
        proof["tree_size"],
        merkle.leaf_hash(proof["leaf_data"].encode()),
        [bytes.fromhex(p) for p in proof["proof"]],
        bytes.fromhex(proof["root"]),
    )
    assert json.loads(cli(db_url, "log", "prove", "3").stdout)["kind"] == "capture"
    missing = cli(db_url, "log", "prove", "99", check=False)
    assert missing.returncode == 1 and "has no capture 99" in missing.stderr
    bad = cli(db_url, "log", "prove", "x1", check=False)
    assert bad.returncode == 2 and "is not CAPTURE_ID" in bad.stderr


def test_the_migration_logs_an_archive_made_before_the_log(db_url, seeds):
    from alembic import command
    from nianbao.models.db import alembic_config

    build(db_url, seeds)
    url = resolve_url(db_url)
    command.downgrade(alembic_config(url), "0005")
    command.upgrade(alembic_config(url), "head")
    result = check(db_url)
    assert result.ok and result.log_size == 11


def test_reprocess_logs_the_new_state_and_refuses_a_tampered_version(db_url, seeds, tmp_path):
    """The archive was built with cleaner "t": reprocess refreshes every version (a
    legitimate change, re-logged); the one an attacker edited first is refused, not
    laundered into the log."""
    build(db_url, seeds)
    key, cp_file = tmp_path / "log.key", tmp_path / "cp.json"
    assert _keygen(key).returncode == 0
    _checkpoint(db_url, key, cp_file)
    tamper(db_url, "UPDATE versions SET title = 'x' WHERE id = 1")
    proc = cli(db_url, "reprocess", check=False)
    assert proc.returncode == 1
    assert "report 1 v1: does not match the archive's log" in proc.stderr
    cp = checkpoint.parse(cp_file.read_bytes(), str(cp_file))
    after = check(db_url, [(str(cp_file), cp)])
    assert set(_problems(after)) == {"version 1/1"}
    assert after.log_size == 13  # versions 2 and 3 re-logged after the checkpoint
    assert sorted(after.notes) == [
        f"version v2 changed after checkpoint {cp_file} (re-logged as leaf 12)",
        f"version v3 changed after checkpoint {cp_file} (re-logged as leaf 11)",
    ]


def test_a_real_crawl_is_fully_logged_and_a_checkpoint_survives_a_recrawl(
    db_url, county, serve, tmp_path
):
    from tests.conftest import crawl

    server = serve(county)
    crawl(db_url, server.url("/"))
    key, cp_file = tmp_path / "log.key", tmp_path / "cp.json"
    assert _keygen(key).returncode == 0
    cp = _checkpoint(db_url, key, cp_file)
    first = check(db_url)
    assert first.ok, first.problems
    assert cp["size"] == first.reports + first.versions + first.captures
    crawl(db_url, server.url("/"))  # 304s and unchanged pages: more captures, more leaves
    proc = cli(db_url, "verify", "--checkpoint", str(cp_file))
    assert "all intact" in proc.stdout
    again = check(db_url)
    assert again.log_size > cp["size"] and again.captures > first.captures
    # A list page's capture back-dated: the evidence "linked from its column on" is forged.
    tamper(db_url, "UPDATE captures SET fetched_at = '2001-01-01 00:00:00' "
           "WHERE id = (SELECT min(id) FROM captures WHERE kind = 'page')")  # fmt: skip
    proc = cli(db_url, "verify", "--checkpoint", str(cp_file), check=False)
    assert proc.returncode == 4 and "does not match its log entry" in proc.stdout


def test_0011_logs_the_context_of_captures_written_before_it(db_url, seeds):
    """Captures written under 0010 hold a context their leaf did not cover: the upgrade
    re-logs exactly those, and from then on an edit to the context fails ``verify``."""
    from alembic import command
    from nianbao.models.db import alembic_config

    build(db_url, seeds)
    before = check(db_url)
    url = resolve_url(db_url)
    command.downgrade(alembic_config(url), "0010")
    tamper(db_url, 'UPDATE captures SET context = \'{"list": "年报"}\' WHERE id IN (1, 2)')
    command.upgrade(alembic_config(url), "head")
    after = check(db_url)
    assert after.ok and after.log_size == before.log_size + 2
    tamper(db_url, 'UPDATE captures SET context = \'{"list": "别的"}\' WHERE id = 2')
    assert "capture 2" in _problems(check(db_url))


def _learns_then_fails(session, url: str, title: str, lines: list[str]) -> None:
    _report(session, url, title, lines, T0 + timedelta(hours=3), "方正县")
    raise ValueError("fails after writing")


def test_a_writer_batch_logs_each_row_as_it_was_when_logged(db_url, seeds, monkeypatch):
    """A writer's batch inserts its leaves at its end: they are the leaves of the rows as
    written (read back here), in the order logged, and a job rolled back leaves none. A report that learns its organ and year later in the same batch keeps
    the leaf of its URL-keyed state first."""
    from nianbao.models import writer

    # One batch, however slow the machine: a batch that has worked MAX_BATCH_SECONDS
    # commits and leaves the rest (on a loaded CI machine, after the first job).
    monkeypatch.setattr(writer, "MAX_BATCH_SECONDS", 3600.0)
    engine = open_archive(db_url)
    factory = sessionmaker_for(engine)
    (t0, l0), (t2, l2) = seeds["000"], seeds["002"]
    u1, u2 = "http://a.gov.cn/1.html", "http://a.gov.cn/2.html"
    batch = [
        (0, _report, (u1, t0, l0, T0, None), {}),  # URL-keyed: no organ
        (1, _report, (u1, t0, l0, T0 + timedelta(hours=1), "方正县"), {}),  # learns its organ
        (2, _learns_then_fails, (u2, t2, l2), {}),
        (3, _report, (u2, t2, l2, T0 + timedelta(hours=2), "伊汉通"), {}),
    ]
    outcomes, rest = writer._write(factory, batch)
    assert [ok for _, ok, _ in outcomes] == [True, True, False, True] and not rest
    stored = [value for _, ok, value in outcomes if ok]
    (c1, r1), (c2, _), (c3, r2) = [(v.capture_id, v.report_id) for v in stored]
    with factory() as s:
        v1, v2 = (s.get(Capture, c).version_id for c in (c1, c3))
        leaves = log.all_leaves(s)
        assert [(kind, rid) for _, kind, rid, _ in leaves] == [
            ("report", r1), ("version", v1), ("capture", c1),
            ("report", r1), ("capture", c2),
            ("report", r2), ("version", v2), ("capture", c3),
        ]  # fmt: skip
        first = dict(log.load_rows(s, "report", [r1])[r1])
        assert first["key"] != f"url|{u1}" and first["organ"] == "方正县"
        first.update(key=f"url|{u1}", organ=None)  # year 2018 from the start
        assert leaves[0][3] == log.leaf_of("report", first)
        for _, kind, rid, leaf in leaves[1:]:
            assert leaf == log.leaf_of(kind, log.load_rows(s, kind, [rid])[rid])
    engine.dispose()
    result = check(db_url)
    assert result.ok and result.log_size == 8


def test_leaves_of_inserted_rows_match_the_rows_read_back(db_url, seeds):
    """A version's and a capture's leaf is computed from the values inserted, not read back
    (log.append_inserted): with values that a database could plausibly change on the way
    in (a zone other than UTC and microseconds, JSON with Chinese text, nested lists and
    an empty string, line ends and a surrogate-pair character in the text), every leaf is
    still the leaf of its row as read, on each backend, and ``verify`` finds it intact."""
    from nianbao.models.tables import Version

    title, lines = seeds["001"]
    lines = [*lines, "表情 🙂 结尾\r\n行尾空格   "]
    when = datetime(2024, 3, 1, 16, 0, 0, 123457, tzinfo=timezone(timedelta(hours=8)))
    body = _page(title, lines)
    doc = derive(body, "http://a.gov.cn/x.html")
    doc.removed.append(Removal("relevance", "relevance:model", "无关 段落", why="p=0.91"))
    cap = archive.CaptureIn(
        "a", "http://a.gov.cn/x.html", 200, when, body=body,
        headers={"Content-Type": ["text/html"], "Set-Cookie": ["a=1", "b=2"], "X-站点": ["政务"]},
        request_head=b"GET /x.html HTTP/1.1\r\n\r\n", response_head=b"HTTP/1.1 200 \xe6\r\n\r\n",
        context={"landing": "http://a.gov.cn/", "form": {"q": ["年报", ""]}, "depth": 2},
    )  # fmt: skip
    engine = open_archive(db_url)
    with sessionmaker_for(engine).begin() as s:
        pending = log.defer(s)  # as the writer does
        stored = archive.record_report(
            s, cap, doc, organ="方正县", year=2018, published="2019-01-20", cleaner_version="t",
            meta={"index_no": "000-2019-1", "errors": [], "nested": {"a": ["甲", None, True]}},
        )  # fmt: skip
        assert [kind for kind, _, _ in pending] == ["report", "version", "capture"]
        assert all(leaf is not None for _, _, leaf in pending)  # none read back
        log.write_deferred(s)
    with sessionmaker_for(engine)() as s:
        version_id = s.get(Capture, stored.capture_id).version_id
        assert "🙂" in s.get(Version, version_id).text
        for kind, rid in (("version", version_id), ("capture", stored.capture_id)):
            assert log.matches(s, kind, rid), kind
    engine.dispose()
    assert check(db_url).ok
