"""`nianbao explain`: the auditor sees what the cleaner removed from a version and why."""

from __future__ import annotations

from tests.conftest import cli, cli_json, crawl


def test_explain_lists_removed_chrome_with_rules_and_none_of_it_is_in_the_text(
    db_url, county, serve
):
    server = serve(county)
    crawl(db_url, server.url("/"))
    [fangzheng] = [r for r in cli_json(db_url, "reports") if r["organ"] == "方正县"]
    rid = str(fangzheng["id"])
    data = cli_json(db_url, "explain", rid)
    text = cli_json(db_url, "show", rid)["text"]
    assert data["n"] == 1 and data["sha256"] == cli_json(db_url, "show", rid)["sha256"]
    assert "report" in data["flags"]
    assert data["cleaner_version"]
    removed = data["removed"]
    assert removed, "a portal page always has chrome to remove"
    assert all(r["stage"] and r["rule"] and r["text"] for r in removed)
    icp = [r for r in removed if "ICP" in r["text"]]
    assert icp, "the ICP footer line is listed as removed"
    assert "ICP" not in text
    plain = cli(db_url, "explain", rid, "--version", "1").stdout
    assert "pieces removed" in plain and icp[0]["rule"] in plain


def test_explain_unknown_version_is_a_clear_error(db_url, county, serve):
    server = serve(county)
    crawl(db_url, server.url("/"))
    proc = cli(db_url, "explain", "1", "--version", "9", check=False)
    assert proc.returncode == 1 and "has no version 9" in proc.stderr
