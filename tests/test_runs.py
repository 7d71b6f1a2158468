"""Crawl runs (models/runs.py): recorded per source, crashed ones recognised."""

from __future__ import annotations

import subprocess
import sys

from nianbao.models import queries, runs


def test_runs_left_running_by_a_dead_process_are_marked_crashed(session):
    run = runs.start_run(session, "a")
    session.commit()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    run.pid = int(dead.stdout)  # a process that has exited
    live = runs.start_run(session, "a")
    session.commit()
    statuses = {r["id"]: r["status"] for r in queries.list_runs(session)}
    assert statuses == {run.id: "crashed", live.id: "running"}
