"""The forked crawl commands of the suite (tests/zygote.py) are the command a user runs:
the same output, streams and exit status as ``python -m nianbao`` in a new interpreter."""

from __future__ import annotations

import os
import subprocess

import pytest

from nianbao.models.db import open_archive
from tests import commands
from tests.conftest import NIANBAO


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],  # a long answer, on stdout; the program named as click names it
        ["no-such-command"],  # a user's error: stderr, exit 2
        ["crawl", "--sources", "/no/such/sources.toml"],  # the crawl command's own error
    ],
)
def test_a_forked_command_answers_as_a_new_process_does(argv, tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "HOME": str(tmp_path)}
    env.pop("NIANBAO_DB", None)
    fresh = subprocess.run([*NIANBAO, *argv], capture_output=True, text=True, env=env, timeout=120)
    forked = commands.run([*NIANBAO, *argv], argv, env, timeout=120)
    assert (forked.returncode, forked.stdout, forked.stderr) == (
        fresh.returncode,
        fresh.stdout,
        fresh.stderr,
    )


def test_a_command_past_its_time_is_killed_and_the_next_one_runs(tmp_path):
    db = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    open_archive(db).dispose()
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    serve = ["serve", "--port", "0", "--db", db]  # serves until it is stopped
    with pytest.raises(subprocess.TimeoutExpired):
        commands.run([*NIANBAO, *serve], serve, env, timeout=3)
    assert commands.run(["nianbao", "--version"], ["--version"], env, timeout=60).returncode == 0
