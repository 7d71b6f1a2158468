"""`nianbao demo` (issue 17): its own archive, a report with two versions, a quiet rerun."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from tests.conftest import NIANBAO


def _free_ports() -> str:
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    return ",".join(map(str, ports))


def _demo(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NIANBAO, "demo"], capture_output=True, text=True, env=env, timeout=300)


def test_demo_keeps_to_its_own_archive_shows_two_versions_and_reruns_quietly(tmp_path: Path):
    real = tmp_path / "real.sqlite"
    env = {
        **os.environ,
        "PYTHONIOENCODING": "utf-8",
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "NIANBAO_DB": str(real),  # the user's own archive: the demo must leave it alone
        "NIANBAO_DEMO_PORTS": _free_ports(),
    }
    first = _demo(env)
    assert first.returncode == 0, first.stdout + first.stderr
    demo_db = tmp_path / "xdg" / "nianbao" / "demo.sqlite"
    assert demo_db.exists() and not real.exists()
    assert str(demo_db) in first.stdout
    # The suggested report is the county's corrected one, not the content farm's page.
    [diff_hint] = [x for x in first.stdout.splitlines() if " diff " in x]
    report = diff_hint.split(" diff ", 1)[1].split()[0]
    [show_hint] = [x for x in first.stdout.splitlines() if " show " in x]
    assert show_hint.split(" show ", 1)[1].split()[0] == report
    diff = subprocess.run(
        [*NIANBAO, "diff", report, "1", "2", "--db", str(demo_db)],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert "-全年主动公开各类政务信息4395条" in diff.stdout, diff.stdout
    assert "+全年主动公开各类政务信息4396条" in diff.stdout

    second = _demo(env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Traceback" not in second.stderr and "ERROR" not in second.stderr
    assert len(second.stderr.splitlines()) == 2, second.stderr  # where it serves, where it archives
    crawl_lines = [x for x in second.stdout.splitlines() if x.startswith("  demo-")]
    assert len(crawl_lines) == 2, second.stdout
    for line in crawl_lines:
        assert "0 new reports, 0 new versions, 0 errors" in line, line
    assert not real.exists()
