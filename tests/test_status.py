"""Status an auditor must not miss (issue 17): withdrawals in show, versions and runs;
``--as-of`` without a zone means +08:00 unless ``--tz``/$NIANBAO_TZ says otherwise."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import FAST, cli, cli_json, crawl

P1002 = "/zwgk/ndbg/201403/t20140305_1002.html"


@pytest.mark.backend("sqlite", "postgresql")
def test_a_withdrawn_report_says_so_in_show_versions_and_runs(db_url, serve, county):
    server = serve(county)
    crawl(db_url, server.url("/"))
    [gone] = [r for r in cli_json(db_url, "reports") if r["url"].endswith(P1002)]
    rid = str(gone["id"])
    assert "WITHDRAWN" not in cli(db_url, "show", rid).stdout
    assert cli_json(db_url, "show", rid)["report_withdrawn_at"] is None

    county.remove(P1002)  # the portal now answers 404 there
    out = cli(db_url, "crawl", "--url", server.url("/"), *FAST)
    assert f"report {rid} (" in out.stdout and "withdrawn" in out.stdout, out.stdout  # digest

    shown = cli_json(db_url, "show", rid)
    assert shown["report_withdrawn_at"] and shown["report_withdrawn_reason"] == "gone"
    first = cli(db_url, "show", rid).stdout.splitlines()[0]
    assert first.startswith("# WITHDRAWN ") and "404/410" in first, first
    versions = cli(db_url, "versions", rid).stdout.splitlines()
    assert versions[0].startswith(f"report {rid} WITHDRAWN "), versions
    assert cli_json(db_url, "versions", rid)[0]["report_withdrawn_reason"] == "gone"

    latest, earlier = cli_json(db_url, "runs")
    assert latest["changes"]["withdrawn"] == [
        {"report_id": gone["id"], "at": shown["report_withdrawn_at"], "reason": "gone"}
    ]
    assert earlier["changes"]["withdrawn"] == [] and gone["id"] in earlier["changes"]["new_reports"]
    text = cli(db_url, "runs").stdout
    assert f"withdrawn: report {rid} (gone)" in text and "new reports: " in text


@pytest.mark.backend("sqlite", "postgresql")
def test_as_of_without_a_zone_is_china_time_unless_told(db_url, serve, county):
    server = serve(county)
    crawl(db_url, server.url("/"))
    rid = str(cli_json(db_url, "reports")[0]["id"])
    first_seen = datetime.fromisoformat(cli_json(db_url, "versions", rid)[0]["first_seen"])
    # One second before the capture, on a clock in Beijing, written without a zone.
    naive = (first_seen - timedelta(seconds=1)).astimezone(timezone(timedelta(hours=8)))
    naive_text = naive.replace(tzinfo=None).isoformat()

    proc = cli(db_url, "show", rid, "--as-of", naive_text, check=False)
    assert proc.returncode == 1 and "had not been captured yet" in proc.stderr, proc.stderr
    # Read as UTC the same digits are 8 hours later: the version existed by then.
    assert cli_json(db_url, "show", rid, "--as-of", naive_text, "--tz", "UTC")["n"] == 1
    utc_env = {"NIANBAO_TZ": "UTC"}
    assert cli(db_url, "show", rid, "--as-of", naive_text, "--json", env=utc_env).returncode == 0
    assert cli_json(db_url, "show", rid, "--as-of", naive_text + "+00:00")["n"] == 1
    proc = cli(db_url, "show", rid, "--as-of", naive_text, "--tz", "Mars/Olympus", check=False)
    assert proc.returncode == 2 and "not a time zone" in proc.stderr
