"""`nianbao explain`: the auditor sees what the cleaner removed from a version and why."""

from __future__ import annotations

from benchmarks.goldset import unrelated
from nianbao.demo.portalgen import Report, county_portal
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


def test_explain_shows_each_paragraph_the_relevance_model_removed_with_its_evidence(
    db_url, seeds, serve
):
    """A model's decision is auditable: the paragraph, the rule and the scores behind it."""
    pasted = unrelated()[0]["recipe"][0]
    title, lines = seeds["000"]
    report = Report("1001", title, [pasted, *lines], "2015-01-20", "trs")
    server = serve(county_portal([report], "方正县"))
    crawl(db_url, server.url("/"))
    [report] = cli_json(db_url, "reports")
    rid = str(report["id"])
    data = cli_json(db_url, "explain", rid)
    [removal] = [r for r in data["removed"] if r["stage"] == "relevance"]
    assert removal["rule"] == "relevance:genre" and removal["text"] == pasted
    assert "no disclosure term" in removal["why"] and "焯水" in removal["why"]
    assert pasted not in cli_json(db_url, "show", rid)["text"]
    plain = cli(db_url, "explain", rid).stdout
    assert f"relevance/relevance:genre\t{pasted}\n  why: {removal['why']}" in plain
    assert all(r["why"] == "" for r in data["removed"] if r["stage"] != "relevance")
