"""Run a ``nianbao`` command in a child forked from :mod:`tests.zygote` (the why is there).

One zygote per test process (each xdist worker has its own), started on first use and
stopped when the process exits; one command at a time, as ``subprocess.run`` runs them.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parent.parent


class Zygote:
    def __init__(self) -> None:
        env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=_REPO,
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.requests = self.proc.stdin
        # Its answers are read from the pipe's descriptor, into a buffer of our own: a
        # buffered reader could take two lines at once (a quick command's pid and status)
        # and leave select() waiting for the second, already read.
        self.answers = self.proc.stdout.fileno()
        self.unread = b""
        if not self._answer(120.0).get("ready"):
            raise RuntimeError("the command zygote did not start")

    def _answer(self, timeout: float) -> dict[str, Any]:
        """The zygote's next line, or TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.unread:
            ready, _, _ = select.select(
                [self.answers], [], [], max(0.0, deadline - time.monotonic())
            )
            if not ready:
                raise TimeoutError
            chunk = os.read(self.answers, 65536)
            if not chunk:
                raise RuntimeError(f"the command zygote ended (exit {self.proc.wait()})")
            self.unread += chunk
        line, _, self.unread = self.unread.partition(b"\n")
        return json.loads(line)

    def run(
        self, command: list[str], argv: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="nianbao-cmd-") as tmp:
            out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
            out.touch()
            err.touch()
            request = {
                "argv": argv,
                "env": env,
                "cwd": os.getcwd(),
                "out": str(out),
                "err": str(err),
            }
            self.requests.write(json.dumps(request) + "\n")
            self.requests.flush()
            deadline = time.monotonic() + timeout
            pid = self._answer(60.0)["pid"]
            try:
                status = self._answer(max(0.0, deadline - time.monotonic()))["status"]
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                self._answer(60.0)
                raise subprocess.TimeoutExpired(command, timeout) from None
            read = {"encoding": "utf-8", "errors": "replace"}
            return subprocess.CompletedProcess(
                command, status, out.read_text(**read), err.read_text(**read)
            )

    def close(self) -> None:
        self.requests.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


_zygote: Zygote | None = None


def run(
    command: list[str], argv: list[str], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """``nianbao ARGV`` as ``subprocess.run(command, capture_output=True, text=True,
    env=env, timeout=timeout)`` would run it, in a forked child of the zygote."""
    global _zygote
    if _zygote is None or _zygote.proc.poll() is not None:
        _zygote = Zygote()
        atexit.register(_zygote.close)
    return _zygote.run(command, argv, env, timeout)
