"""Bad input on the command line: one clear line on stderr, a documented exit code, never a
traceback (issue 15: 10 of 69 bad-input cases printed tracebacks)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.conftest import FAST, cli

ENTRY = '[[sources]]\nname = "a"\nstart_urls = ["http://127.0.0.1:9/"]\n'
SOURCES = {
    "not_a_table": ('sources = ["x"]\n', "[[sources]] #1: expected a table"),
    "domains_as_integers": (
        ENTRY + "allowed_domains = [1, 2]\n",
        "'allowed_domains' must be a list of host names",
    ),
    "organ_as_a_table": (ENTRY + "[sources.organ]\nname = 1\n", "'organ' must be a string"),
}


def _one_error_line(proc, expected: str) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: ") and expected in lines[0], lines


@pytest.mark.parametrize("case", sorted(SOURCES))
def test_a_bad_sources_file_is_one_line_exit_1(case: str, tmp_path: Path) -> None:
    text, expected = SOURCES[case]
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    proc = cli(str(tmp_path / "a.sqlite"), "crawl", "--sources", str(path), check=False)
    assert proc.returncode == 1, proc.stderr
    _one_error_line(proc, expected)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("DOWNLOAD_DELAY=abc", "DOWNLOAD_DELAY takes a number"),
        ("NIANBAO_MAX_PAGES=ten", "NIANBAO_MAX_PAGES takes a number"),
        ("ROBOTSTXT_OBEY=maybe", "ROBOTSTXT_OBEY takes True or False"),
        ("DOWNLOAD_HANDLERS=x", "DOWNLOAD_HANDLERS takes a JSON object"),
        ("RETRY_HTTP_CODES=500,x", "RETRY_HTTP_CODES takes integers separated by commas"),
        ("NOEQUALS", "-s expects NAME=VALUE"),
    ],
)
def test_a_bad_setting_is_one_line_exit_2(setting: str, expected: str, tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite"
    proc = cli(str(db), "crawl", "--url", "http://127.0.0.1:9/", "-s", setting, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert expected in proc.stderr, proc.stderr
    if "=" in setting:  # click's own usage errors print their usage lines too
        _one_error_line(proc, expected)
    assert not db.exists()  # refused before anything was created


@pytest.mark.parametrize("command", [["crawl", "--url", "http://127.0.0.1:9/"], ["reports"]])
def test_db_under_a_regular_file_is_one_line_exit_1(command: list[str], tmp_path: Path) -> None:
    afile = tmp_path / "plain"
    afile.write_text("not a folder")
    proc = cli(str(afile / "x.sqlite"), *command, check=False)
    assert proc.returncode == 1, proc.stderr
    _one_error_line(proc, "x.sqlite" if command == ["reports"] else "is a file, not a folder")


def test_a_refused_connection_is_its_summary_line_without_traceback(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = cli(
        str(tmp_path / "a.sqlite"),
        "crawl",
        "--url",
        f"http://127.0.0.1:{port}/",
        *FAST,
        "-s",
        "RETRY_TIMES=0",
        check=False,
    )
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert "failed (every page failed: fetch error (connection refused) (1))" in proc.stdout
    # stderr: the "crawling …" line and "failed entirely", nothing from Scrapy
    assert [line.split(" ", 1)[0] for line in proc.stderr.strip().splitlines()] == [
        "crawling",
        "failed",
    ], proc.stderr


@pytest.mark.parametrize("command", [["reports"], ["crawl", "--url", "http://127.0.0.1:9/"]])
def test_a_database_server_refusing_the_connection_is_one_line_exit_1(
    command: list[str],
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = cli(f"postgresql://nianbao@127.0.0.1:{port}/archive", *command, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    # the crawl says where it crawls into first, then the error
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("crawling ")]
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith("Error: cannot open") and "refused" in errors[0], errors
