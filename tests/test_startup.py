"""How the ``nianbao`` command ends (nianbao/startup.py): without tearing the interpreter
down, but with its exit status, every line it wrote, and its exit handlers run."""

from __future__ import annotations

import os
import subprocess
import sys

from click.testing import CliRunner

from nianbao.cli import main as cli_main
from nianbao.startup import exit_status
from tests.conftest import NIANBAO


def test_exit_statuses_are_pythons() -> None:
    assert [exit_status(c) for c in (None, 0, 2, 120, "a message")] == [0, 0, 2, 120, 1]


def test_the_command_writes_all_it_printed_and_keeps_its_status(tmp_path) -> None:
    """Through a pipe (block-buffered) every byte arrives: the help of every command,
    as the in-process runner prints it; a usage error keeps click's status 2; an exit
    handler registered while the command ran still runs (the cleaning pool's close)."""
    commands = sorted(cli_main.commands)
    env = {**os.environ, "COLUMNS": "80"}  # 78 columns of help, as asked of the runner
    for name in commands[:3] + ["crawl"]:
        proc = subprocess.run([*NIANBAO, name, "--help"], capture_output=True, timeout=120, env=env)
        expected = CliRunner().invoke(
            cli_main, [name, "--help"], prog_name="python -m nianbao", terminal_width=78
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.decode() == expected.output
    proc = subprocess.run([*NIANBAO, "no-such-command"], capture_output=True, timeout=120)
    assert proc.returncode == 2 and b"No such command" in proc.stderr
    marker = tmp_path / "handler-ran"
    script = (  # a handler registered while the command runs, as the cleaning pool's is
        "import atexit, sys\n"
        "import nianbao.cli as cli\n"
        "from nianbao import startup\n"
        "command = cli.main\n"
        "def registering():\n"
        f"    atexit.register(lambda: open({str(marker)!r}, 'w').write('yes'))\n"
        "    command()\n"
        "cli.main = registering\n"
        "sys.argv = ['nianbao', '--version']\n"
        "startup.main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == 0 and b"version" in proc.stdout, proc.stderr
    assert marker.read_text() == "yes"
