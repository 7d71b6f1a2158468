"""Per-source Scrapy job directories, so an interrupted crawl resumes where it stopped.

Scrapy's ``JOBDIR`` keeps the request queue and the seen-request fingerprints on disk, but
only a *graceful* stop (SIGINT/SIGTERM, ``systemctl stop``) writes them consistently. After
a crash (SIGKILL, OOM, power cut) the fingerprints may list requests whose answers were
never archived while the queue is lost, so resuming from it would skip pages. We therefore
keep a state file beside Scrapy's:

* ``running``     — written at start; still there at the next start means the process died:
  the directory is emptied and the crawl starts over. Nothing archived is lost and the
  archive's content hashes prevent duplicate versions; conditional requests make the
  second pass cheap (unchanged reports answer 304).
* ``interrupted`` — a graceful stop: the next crawl resumes from Scrapy's queue.
* finished normally — the directory is emptied, so the next scheduled crawl starts fresh
  (a kept fingerprint file would make it skip every page).

An exclusive ``flock`` on ``.lock`` keeps two crawls from sharing a job directory; the OS
releases it when a process dies, however it dies.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from nianbao.errors import NianbaoError
from nianbao.models.types import utcnow

logger = logging.getLogger(__name__)
STATE = "nianbao-state.json"
LOCK = ".lock"


class JobDirError(NianbaoError):
    """The job directory cannot be used (locked by another crawl, not writable)."""


@dataclass
class JobDir:
    path: Path
    resumed: bool  # Scrapy's queue from a graceful stop is being continued
    discarded_crash: bool  # a crashed run's state was thrown away
    _lock: IO[str]

    def _write_state(self, state: str) -> None:
        data = {"state": state, "pid": os.getpid(), "at": utcnow().isoformat()}
        tmp = self.path / (STATE + ".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(self.path / STATE)

    def finish(self, reason: str) -> None:
        """Record how the crawl ended and release the lock."""
        if reason == "finished":
            _empty(self.path)
        else:
            self._write_state("interrupted")
        self._lock.close()

    def leave_as_found(self) -> None:
        """Release a directory no crawl ran in (its source never started, or another's
        directory could not be taken): fresh stays fresh, a resumable queue stays
        resumable."""
        self.finish("shutdown" if self.resumed else "finished")


def _empty(path: Path) -> None:
    for child in path.iterdir():
        if child.name == LOCK:
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def slug(source: str) -> str:
    return re.sub(r"[^\w.-]+", "-", source).strip("-") or "source"


def open_jobdir(root: Path, source: str) -> JobDir:
    path = root / slug(source)
    try:
        path.mkdir(parents=True, exist_ok=True)
        lock = (path / LOCK).open("w")
    except OSError as exc:
        raise JobDirError(f"cannot use job directory {path}: {exc}") from exc
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise JobDirError(
            f"another crawl of {source!r} is using {path}; wait for it or give another --jobdir"
        ) from None
    state_file = path / STATE
    state = None
    if state_file.exists():
        try:
            state = json.loads(state_file.read_text(encoding="utf-8")).get("state")
        except (OSError, ValueError):
            state = "running"  # unreadable: treat as a crash
    discarded = state == "running"
    if discarded:
        logger.warning(
            "the previous crawl of %s died without stopping (state in %s); its queue cannot "
            "be trusted after a crash, starting over (everything it archived is kept)",
            source,
            path,
        )
        _empty(path)
    elif state is None:
        _empty(path)  # no state of ours: leftovers from elsewhere must not filter requests
    job = JobDir(path, resumed=state == "interrupted", discarded_crash=discarded, _lock=lock)
    job._write_state("running")
    return job
