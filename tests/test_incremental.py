"""Scheduled, incremental crawls: crashes, graceful interruption, several crawls at once.

The crawl runs as a real ``nianbao crawl`` subprocess; a portal page that blocks until the
test releases it holds the crawl mid-way, so the test can kill or interrupt it at a known
point without timing guesses.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from nianbao.demo.server import Page, Portal
from nianbao.models import queries
from nianbao.models.db import open_archive, sessionmaker_for
from nianbao.models.tables import Capture, Version
from tests.conftest import FAST, NIANBAO, cli, cli_json, crawl

REPO = Path(__file__).resolve().parent.parent
GATE = "/zwgk/ndbg/index_1.html"  # the second list page: 1003 is only linked from there
EXPECTED = [("方正县", 2014), ("桦川县苏家店镇", 2013), ("王家山镇", 2018)]


class Gate:
    """Make one path of a portal block until released; note when it was asked for."""

    def __init__(self, portal: Portal, path: str) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        original: Callable[[str], Page | None] = portal.get

        def get(p: str) -> Page | None:
            if p == path and not self.release.is_set():
                self.entered.set()
                self.release.wait(60)
            return original(p)

        portal.get = get  # type: ignore[method-assign]


def start_crawl(db: str, url: str, *extra: str, group: bool = False) -> subprocess.Popen[str]:
    """``nianbao crawl`` in the background; with ``group``, in a process group of its own
    (a terminal's job, a systemd unit's control group)."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("NIANBAO_DB", None)
    return subprocess.Popen(
        [*NIANBAO, "crawl", "--url", url, *FAST, *extra, "--db", db],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=group,
    )


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def count(db: str, what) -> int:  # type: ignore[no-untyped-def]
    """Rows of a table; for captures, those of reports (list pages are captures too)."""
    engine = open_archive(db)
    query = select(func.count()).select_from(what)
    if what is Capture:
        query = query.where(Capture.report_id.is_not(None))
    try:
        with sessionmaker_for(engine)() as session:
            return int(session.scalar(query) or 0)
    finally:
        engine.dispose()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll a condition on the archive (there is no event to wait on across processes)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def archived(db: str) -> list[tuple[str, int, int]]:
    return sorted((r["organ"], r["year"], r["versions"]) for r in cli_json(db, "reports"))


def test_sigkill_mid_crawl_then_rerun_loses_and_duplicates_nothing(db_url, county, serve, tmp_path):
    server = serve(county)
    gate = Gate(county, GATE)
    jobdir = tmp_path / "jobs"
    proc = start_crawl(db_url, server.url("/"), "--jobdir", str(jobdir))
    try:
        assert gate.entered.wait(60), "the crawl never reached the gated page"
        wait_for(lambda: count(db_url, Version) >= 2, "two versions archived before the kill")
        proc.send_signal(signal.SIGKILL)
    finally:
        gate.release.set()
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert count(db_url, Version) == 2  # 1003 sits behind the gate: not archived yet
    before = count(db_url, Capture)

    county.clear_log()
    out = crawl(db_url, server.url("/"), "--jobdir", str(jobdir))
    assert "died without stopping" in out.stderr and "starting over" in out.stderr
    assert archived(db_url) == [(o, y, 1) for o, y in sorted(EXPECTED)]
    # The two reports archived before the crash were only confirmed (304), not re-fetched.
    statuses = {p: s for p, s, _ in county.log}
    assert [s for p, s in statuses.items() if p.endswith("_1001.html")] == [304]
    assert [s for p, s in statuses.items() if p.endswith("_1002.html")] == [304]
    assert count(db_url, Capture) == before + 3
    runs = cli_json(db_url, "runs")
    assert [r["status"] for r in runs] == ["ok", "crashed"]
    assert "ended without finishing" in runs[1]["errors"]["crashed"]
    assert runs[0]["counts"]["conditional_not_modified"] == 2
    text = cli(db_url, "runs").stdout.splitlines()
    # each run's line, then the reports it changed, indented
    runs_lines = [line for line in text if not line.startswith(" ")]
    assert "ok; " in runs_lines[0] and "2 not modified" in runs_lines[0]
    assert "crashed; " in runs_lines[1]


@pytest.mark.parametrize("to", ["crawl", "group"])
def test_sigint_stops_gracefully_and_the_next_crawl_resumes(db_url, county, serve, tmp_path, to):
    """SIGINT to the crawl alone (``kill -INT``), and to its whole process group: what a
    terminal's Ctrl-C and the README's systemd unit (``KillSignal=SIGINT``, to the unit's
    every process) send, the writer and the cleaning workers included."""
    server = serve(county)
    gate = Gate(county, GATE)
    jobdir = tmp_path / "jobs"
    proc = start_crawl(db_url, server.url("/"), "--jobdir", str(jobdir), group=to == "group")
    try:
        assert gate.entered.wait(60), "the crawl never reached the gated page"
        wait_for(lambda: count(db_url, Version) >= 2, "two versions archived")
        if to == "group":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
    finally:
        gate.release.set()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "0 errors" in out, out  # nothing in flight was lost on the way out
    if to == "group":  # and the helpers went with it
        wait_for(lambda: not _group_alive(proc.pid), "the crawl's helpers to end")
    first_run = [p for p, _s, _b in county.log]
    state = (jobdir / next(jobdir.iterdir()).name / "nianbao-state.json").read_text()
    assert '"interrupted"' in state

    county.clear_log()
    out = crawl(db_url, server.url("/"), "--jobdir", str(jobdir))
    assert "(resumed)" in out.stdout
    resumed = [p for p, _s, _b in county.log]
    assert "/" not in resumed and "/zwgk/index.html" not in resumed  # not started over
    assert set(first_run) | set(resumed) >= {GATE, "/zwgk/ndbg/201901/t20190115_1003.docx"}
    assert archived(db_url) == [(o, y, 1) for o, y in sorted(EXPECTED)]
    # Finished normally: the job directory is emptied, the next crawl starts fresh.
    assert [p.name for p in next(jobdir.iterdir()).iterdir()] == [".lock"]
    county.clear_log()
    crawl(db_url, server.url("/"), "--jobdir", str(jobdir))
    assert "/" in [p for p, _s, _b in county.log]


def test_two_crawls_of_one_portal_at_once_into_one_sqlite_file(db_url, county, serve):
    """WAL + a busy timeout + BEGIN IMMEDIATE: both succeed, nothing is duplicated."""
    server = serve(county)
    # Neither crawl gets past the second list page until both have asked for it: they
    # certainly overlap, and both still have a report to write after meeting there.
    both = threading.Barrier(2, timeout=60)
    original = county.get

    def get(path: str) -> Page | None:
        if path == GATE:
            both.wait()
        return original(path)

    county.get = get  # type: ignore[method-assign]
    cli(db_url, "db", "upgrade")  # migrate first, as a deploy would
    procs = [start_crawl(db_url, server.url("/")) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err
        assert "0 errors" in out, out
    assert archived(db_url) == [(o, y, 1) for o, y in sorted(EXPECTED)]
    assert count(db_url, Capture) == 6  # each crawl captured each report once
    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as session:
        runs = queries.list_runs(session)
    engine.dispose()
    assert [r["status"] for r in runs] == ["ok", "ok"]


def test_the_readme_cron_line_and_systemd_unit_work_as_written(db_url, county, serve, tmp_path):
    """Run the README's cron command and the unit's ExecStart, with /srv/nianbao → a temp dir.

    Only the politeness delays are switched off (``-s`` appended after ``crawl``), or the
    test would wait on AutoThrottle for half a minute.
    """
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    cron = re.search(r"```cron\n(.+?)\n```", readme, re.S).group(1).strip()
    unit = re.search(r"nianbao-crawl\.service`\n\n```ini\n(.+?)```", readme, re.S).group(1)
    fields = cron.split(None, 5)
    assert len(fields) == 6 and fields[:5] == ["30", "2", "*", "*", "*"]
    home = tmp_path / "srv"
    home.mkdir()
    (home / ".venv").symlink_to(Path(sys.prefix))
    server = serve(county)
    (home / "sources.toml").write_text(
        f'[[sources]]\nname = "county"\nstart_urls = ["{server.url("/")}"]\n', encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if k != "NIANBAO_DB"}
    fast = " ".join(FAST)
    proc = subprocess.run(
        [
            "sh",
            "-c",
            fields[5].replace("/srv/nianbao", str(home)).replace(" crawl ", f" crawl {fast} "),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "county: ok" in (home / "crawl.log").read_text(encoding="utf-8")
    archive_db = f"sqlite:///{home / 'archive.sqlite'}"
    assert len(cli_json(archive_db, "reports")) == 3

    settings = dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and line[0] != "#"
    )
    exec_start = settings["ExecStart"].replace("/srv/nianbao", str(home)).split()
    exec_start[2:2] = FAST
    var, value = settings["Environment"].split("=", 1)
    proc = subprocess.run(
        exec_start,
        cwd=settings["WorkingDirectory"].replace("/srv/nianbao", str(home)),
        env={**env, var: value.replace("/srv/nianbao", str(home))},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "3 not modified (304)" in proc.stdout  # same archive: the unchanged recrawl
    assert settings["KillSignal"] == "SIGINT"  # the graceful stop the jobdir resume relies on


@pytest.mark.parametrize(
    "stop_at", ["/sitemap.xml", "/sitemaps/content.xml.gz", "/content/post_3002.html"]
)
def test_sigint_on_a_sitemap_only_source_is_shutdown_and_resumes(
    db_url, seeds, serve, tmp_path, stop_at
):
    """Issue 11 §4: the stopped run was stored as ``ok`` (the summary said ``shutdown``),
    and resuming a source reachable only through its sitemap fetched nothing, twice."""
    from tests import portals as testportals

    tp = testportals.sitemap_portal(seeds)
    server = serve(tp.portal)
    gate = Gate(tp.portal, stop_at)
    jobdir = tmp_path / "jobs"
    proc = start_crawl(
        db_url, server.url("/"), "--jobdir", str(jobdir), "-s", "CONCURRENT_REQUESTS=1"
    )
    try:
        assert gate.entered.wait(60), "the crawl never reached the gated report"
        proc.send_signal(signal.SIGINT)
    finally:
        gate.release.set()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "shutdown" in out
    assert [r["status"] for r in cli_json(db_url, "runs")] == ["shutdown"]

    tp.portal.clear_log()
    out = crawl(db_url, server.url("/"), "--jobdir", str(jobdir))
    assert "(resumed)" in out.stdout and ": ok;" in out.stdout, out.stdout
    assert {(r["organ"], r["year"]) for r in cli_json(db_url, "reports")} == tp.expected
    assert [r["status"] for r in cli_json(db_url, "runs")] == ["ok", "shutdown"]
