"""Per-source job directories (nianbao/jobdir.py): which state a crawl may resume from."""

from __future__ import annotations

import pytest

from nianbao.jobdir import STATE, JobDirError, open_jobdir


def test_graceful_stop_resumes_finish_empties_crash_starts_over(tmp_path):
    job = open_jobdir(tmp_path, "方正县 portal/1")
    assert job.path == tmp_path / "方正县-portal-1"
    assert not job.resumed and not job.discarded_crash
    (job.path / "requests.seen").write_text("abc\n")  # what Scrapy keeps there
    job.finish("shutdown")  # Ctrl-C, SIGTERM

    job = open_jobdir(tmp_path, "方正县 portal/1")
    assert job.resumed and (job.path / "requests.seen").exists()
    job.finish("finished")
    assert sorted(p.name for p in job.path.iterdir()) == [".lock"]  # next crawl starts fresh

    job = open_jobdir(tmp_path, "方正县 portal/1")
    (job.path / "requests.seen").write_text("abc\n")
    job._lock.close()  # the process dies here: no finish(), the OS drops the lock
    job = open_jobdir(tmp_path, "方正县 portal/1")
    assert job.discarded_crash and not job.resumed
    assert not (job.path / "requests.seen").exists()
    assert '"running"' in (job.path / STATE).read_text()
    job.finish("finished")


def test_two_crawls_cannot_share_a_job_directory(tmp_path):
    first = open_jobdir(tmp_path, "a")
    with pytest.raises(JobDirError, match="another crawl of 'a' is using"):
        open_jobdir(tmp_path, "a")
    first.finish("finished")
    open_jobdir(tmp_path, "a").finish("finished")  # free again


def test_leftovers_without_our_state_are_not_trusted(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "requests.seen").write_text("stale\n")
    job = open_jobdir(tmp_path, "a")
    assert not job.resumed and not (job.path / "requests.seen").exists()
    job.finish("finished")
