"""The ``nianbao`` command line: crawl portals, then read the archive.

Exit status: 0 success; 1 an error the message explains (bad sources file, unknown
report, archive unreachable); 2 bad usage; 3 a crawl in which at least one source failed
entirely (no page could be fetched); 4 ``verify`` found damaged data; 5 ``check`` found
figures that do not add up — cron can alert on anything non-zero.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from nianbao import sources as sources_mod
from nianbao.errors import NianbaoError
from nianbao.models import queries
from nianbao.models.db import (
    ArchiveError,
    open_archive,
    open_reader,
    resolve_url,
    safe_url,
    sessionmaker_for,
)

EXIT_SOURCE_FAILED = 3
EXIT_VERIFY_FAILED = 4
EXIT_CHECK_VIOLATIONS = 5

db_option = click.option(
    "--db",
    "db",
    envvar="NIANBAO_DB",
    default=None,
    metavar="URL",
    help="Archive: a SQLAlchemy URL or a SQLite path (default: $NIANBAO_DB, else the per-user data file).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable UTF-8 JSON.")


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _session(db: str | None):  # type: ignore[no-untyped-def]
    """A read-only session on an existing archive at the code's schema (never migrates,
    never creates, never takes the write lock: a crawl is never kept waiting)."""
    return sessionmaker_for(open_reader(db))()


def _read(db: str | None, query: Any, *args: Any) -> Any:
    """Run one read query; an unknown report, version or capture is a clear error (exit 1)."""
    with _session(db) as session:
        return query(session, *args)


def _version_as(
    session: Any, shape: Any, report_id: int, n: int | None, moment: datetime | None
) -> Any:
    """Version ``n`` (or current at ``moment``, or the latest) of a report, as ``shape`` makes it."""
    return shape(queries.get_version(session, report_id, n, moment))


def _parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time (e.g. 2024-03-31T12:00:00+08:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Group(click.Group):
    """Every :class:`~nianbao.errors.NianbaoError` becomes one line and its exit code,
    here and nowhere else."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NianbaoError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nianbao")
def main() -> None:
    """nianbao: an archive of government information-disclosure annual reports (年报)."""


@main.command()
@db_option
@click.option(
    "--sources", "sources_file", type=click.Path(dir_okay=False), help="TOML sources file."
)
@click.option(
    "--url", "urls", multiple=True, help="Crawl this start URL as an ad-hoc source (repeatable)."
)
@click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy setting for this run, as `scrapy crawl -s`.",
)
@click.option(
    "--jobdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep per-source crawl state here, so a crawl stopped by SIGINT/SIGTERM resumes.",
)
@click.option(
    "--redis",
    "redis_url",
    envvar="NIANBAO_REDIS",
    metavar="URL",
    help="Share the request queue and duplicate filter with every worker using this Redis.",
)
@click.option("-v", "--verbose", is_flag=True, help="Scrapy's INFO log on stderr.")
def crawl(
    db: str | None,
    sources_file: str | None,
    urls: tuple[str, ...],
    overrides: tuple[str, ...],
    jobdir: Path | None,
    redis_url: str | None,
    verbose: bool,
) -> None:
    """Crawl portals and archive every annual report found."""
    from nianbao import crawl as crawl_mod
    from nianbao.crawler.frontier import FrontierError
    from nianbao.jobdir import JobDirError

    if bool(sources_file) == bool(urls):
        raise click.UsageError("give either --sources FILE or one or more --url URL")
    try:
        srcs = (
            sources_mod.load(sources_file)
            if sources_file
            else [sources_mod.from_url(u) for u in urls]
        )
    except sources_mod.SourcesError as exc:
        raise click.ClickException(str(exc)) from exc
    settings: dict[str, str] = {"LOG_LEVEL": "INFO" if verbose else "WARNING"}
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.UsageError(f"-s expects NAME=VALUE, got {item!r}")
        settings[name] = value
    if redis_url:
        settings["NIANBAO_REDIS_URL"] = redis_url
    url = resolve_url(db)
    click.echo(f"crawling {len(srcs)} source(s) into {safe_url(url)}", err=True)
    try:
        results = crawl_mod.run(srcs, url, settings, jobdir=jobdir)
    except (ArchiveError, FrontierError, JobDirError) as exc:
        raise click.ClickException(str(exc)) from exc
    failed = [r for r in results if r.failed]
    for r in results:
        click.echo(
            f"{r.name}: {r.status}"
            + (f" ({r.reason})" if r.reason else "")
            + f"; {r.pages} pages fetched, {r.reports} report captures, "
            f"{r.new_reports} new reports, {r.new_versions} new versions, "
            f"{r.unchanged} unchanged, {r.not_modified} not modified (304), "
            f"{r.cached_pages} other pages unchanged (304, links from the page cache), "
            f"{r.downloaded / 1e6:.2f} MB downloaded, "
            f"{r.skipped} skipped (robots/budget/traps/size), {r.errors} errors"
            + (" (resumed)" if r.resumed else "")
        )
    total_v = sum(r.new_versions for r in results)
    click.echo(f"done: {len(results)} source(s), {len(failed)} failed, {total_v} new versions")
    if failed:
        click.echo("failed entirely: " + ", ".join(r.name for r in failed), err=True)
        sys.exit(EXIT_SOURCE_FAILED)


@main.command()
@db_option
@json_option
def reports(db: str | None, as_json: bool) -> None:
    """List archived reports."""
    with _session(db) as session:
        rows = queries.list_reports(session)
    if as_json:
        _emit(rows)
        return
    if not rows:
        click.echo("the archive holds no reports yet (run `nianbao crawl`)")
    for r in rows:
        gone = (
            f"  [withdrawn {r['withdrawn_at']}: {r['withdrawn_reason']}]"
            if r["withdrawn_at"]
            else ""
        )
        click.echo(
            f"{r['id']:>5}  {r['year'] or '----'}  {r['organ'] or '?'}  "
            f"v{r['versions']}  {r['title'] or ''}{gone}\n       {r['url']}"
        )


@main.command()
@db_option
@json_option
@click.argument("report_id", type=int)
def versions(db: str | None, as_json: bool, report_id: int) -> None:
    """List the versions of a report, oldest first."""
    rows = _read(db, queries.list_versions, report_id)
    if as_json:
        _emit(rows)
        return
    for v in rows:
        click.echo(
            f"v{v['n']}  {v['sha256'][:16]}  {v['first_seen']} → {v['last_seen']}  {v['url']}"
        )
        for other in v["same_text_elsewhere"]:
            click.echo(
                f"    same text: report {other['report_id']} v{other['version']} "
                f"({other['source']}, first seen {other['first_seen']}) {other['url']}"
            )


@main.command()
@db_option
@json_option
@click.argument("report_id", type=int)
@click.option("--version", "n", type=int, help="Version number (from 1).")
@click.option("--as-of", "as_of", help="Show the version current at this ISO 8601 time.")
def show(db: str | None, as_json: bool, report_id: int, n: int | None, as_of: str | None) -> None:
    """Print the clean text of one version (default: the latest)."""
    if n is not None and as_of:
        raise click.UsageError("give --version or --as-of, not both")
    moment = _parse_time(as_of) if as_of else None
    data = _read(db, _version_as, queries.version_dict, report_id, n, moment)
    if as_json:
        _emit(data)
        return
    click.echo(
        f"# {data['title']}  (report {report_id}, version {data['n']}, sha256 {data['sha256'][:16]})"
    )
    click.echo(f"# {data['url']}  first seen {data['first_seen']}, last seen {data['last_seen']}\n")
    click.echo(data["text"])


@main.command()
@db_option
@json_option
@click.argument("report_id", type=int)
@click.option("--version", "n", type=int, help="Version number (from 1).")
@click.option("--as-of", "as_of", help="The version current at this ISO 8601 time.")
def explain(
    db: str | None, as_json: bool, report_id: int, n: int | None, as_of: str | None
) -> None:
    """What the cleaner removed from a version's page and why (rule or model), its flags."""
    if n is not None and as_of:
        raise click.UsageError("give --version or --as-of, not both")
    moment = _parse_time(as_of) if as_of else None
    data = _read(db, _version_as, queries.explain_dict, report_id, n, moment)
    if as_json:
        _emit(data)
        return
    click.echo(
        f"# report {report_id}, version {data['n']}, sha256 {data['sha256'][:16]}, "
        f"cleaner {data['cleaner_version']}"
    )
    click.echo(f"# flags: {', '.join(data['flags']) or 'none'}")
    for key in ("index_no", "doc_no", "publisher", "encoding", "kind", "landing_url"):
        if data["meta"].get(key):
            click.echo(f"# {key}: {data['meta'][key]}")
    click.echo(f"# {len(data['removed'])} pieces removed:")
    for r in data["removed"]:
        text = " ".join(str(r["text"] or "").split())
        click.echo(f"{r['stage']}/{r['rule']}\t{text[:120]}")


@main.command()
@db_option
@click.argument("report_id", type=int)
@click.argument("a", type=int)
@click.argument("b", type=int)
@click.option("--cells", is_flag=True, help="Which table cells changed (see `nianbao tables`).")
@json_option
def diff(db: str | None, report_id: int, a: int, b: int, cells: bool, as_json: bool) -> None:
    """Unified diff of the texts of versions A and B of a report (--cells: of its tables)."""
    if cells or as_json:
        _diff_cells(db, report_id, a, b, as_json)
        return
    text = _read(db, queries.diff_versions, report_id, a, b)
    click.echo(text if text else f"versions {a} and {b} have the same text")


@main.command()
@db_option
@json_option
@click.argument("report_id", type=int)
def captures(db: str | None, as_json: bool, report_id: int) -> None:
    """Every capture of a report: when, where, HTTP status, body hash, which version."""
    rows = _read(db, queries.list_captures, report_id)
    if as_json:
        _emit(rows)
        return
    for c in rows:
        version = f"v{c['version']}" if c["version"] else "-"
        body = (c["body_sha256"] or "(no body)")[:16]
        click.echo(
            f"{c['id']:>6}  {c['fetched_at']}  {c['status']}  {c['kind']:<12} {version:<4} "
            f"{body:<16}  {c['url']}"
        )


@main.command()
@db_option
@click.argument("capture_id", type=int)
@click.option(
    "--decoded", is_flag=True, help="The entity, with Content-Encoding (gzip, br …) undone."
)
@click.option(
    "--http",
    "with_head",
    is_flag=True,
    help="Prefix the status line and headers as received (an HTTP response message).",
)
def raw(db: str | None, capture_id: int, decoded: bool, with_head: bool) -> None:
    """Write the bytes a capture received to stdout (redirect to a file).

    By default the body exactly as the server sent it (after transfer decoding, before
    content decoding: a gzip page comes out as gzip bytes).
    """
    got = _read(db, queries.capture_body, capture_id, decoded)
    if got.form == "decoded" and not decoded:
        click.echo(
            f"capture {capture_id} was made before nianbao kept the bytes on the wire: "
            "these are the decoded bytes, the only ones kept",
            err=True,
        )
    out = sys.stdout.buffer
    if with_head:
        head = got.capture.response_head
        if not head:
            raise click.ClickException(f"capture {capture_id} has no recorded response head")
        out.write(head.encode("latin-1"))
    out.write(got.body)
    out.flush()


@main.command()
@db_option
@json_option
@click.argument("text")
@click.option("--limit", default=100, show_default=True, help="At most this many versions.")
def search(db: str | None, as_json: bool, text: str, limit: int) -> None:
    """Versions whose normalised text contains TEXT (any script, any spacing)."""
    from nianbao.models.search import SearchError
    from nianbao.models.search import search as run_search

    with _session(db) as session:
        try:
            rows = run_search(session, text, limit)
        except SearchError as exc:
            raise click.BadParameter(str(exc), param_hint="TEXT") from exc
    if as_json:
        _emit(rows)
        return
    if not rows:
        click.echo(f"no version contains {text!r}")
    for r in rows:
        flags = ("" if r["current"] else "  [superseded]") + (
            "  [withdrawn]" if r["withdrawn"] else ""
        )
        click.echo(
            f"{r['report_id']:>5} v{r['version']}  {r['year'] or '----'}  {r['organ'] or '?'}  "
            f"{r['title'] or ''}{flags}\n       …{r['snippet']}…"
        )


@main.command()
@db_option
@json_option
@click.option("--source", help="Only this source.")
@click.option("--limit", default=50, show_default=True, help="At most this many runs.")
def runs(db: str | None, as_json: bool, source: str | None, limit: int) -> None:
    """Crawl runs, newest first: when, which source, how it ended, what it found."""
    with _session(db) as session:
        rows = queries.list_runs(session, source, limit)
    if as_json:
        _emit(rows)
        return
    if not rows:
        click.echo("no crawl has run against this archive yet")
    for r in rows:
        c = r["counts"] or {}
        errors = sum(v for v in (r["errors"] or {}).values() if isinstance(v, int))
        click.echo(
            f"{r['id']:>5}  {r['started_at']} → {r['finished_at'] or '-'}  {r['source']}  "
            f"{r['status']}; {c.get('pages_received', 0)} pages, {c.get('new_versions', 0)} new "
            f"versions, {c.get('captures_not_modified', 0)} not modified, {errors} errors"
            + (f" ({r['errors']['failed']})" if (r["errors"] or {}).get("failed") else "")
        )


@main.command()
@db_option
@json_option
def verify(db: str | None, as_json: bool) -> None:
    """Re-hash every stored raw body and version text; exit 4 on any mismatch."""
    from nianbao.models.verify import verify as run_verify

    with _session(db) as session:
        result = run_verify(session)
    if as_json:
        _emit(
            {
                "blobs": result.blobs,
                "versions": result.versions,
                "problems": [p.as_dict() for p in result.problems],
            }
        )
    else:
        for p in result.problems:
            click.echo(f"MISMATCH {p.kind} {p.key}: {p.detail}")
        click.echo(
            f"checked {result.blobs} raw bodies and {result.versions} versions: "
            + ("all intact" if result.ok else f"{len(result.problems)} damaged")
        )
    if not result.ok:
        sys.exit(EXIT_VERIFY_FAILED)


@main.group()
def db() -> None:
    """Archive maintenance."""


@db.command("upgrade")
@db_option
def db_upgrade(db: str | None) -> None:
    """Apply database migrations (Alembic upgrade to head)."""
    from nianbao.models.db import upgrade

    url = resolve_url(db)
    try:
        upgrade(url)
    except Exception as exc:
        raise click.ClickException(f"migration failed for {safe_url(url)}: {exc}") from exc
    click.echo(f"archive at {safe_url(url)} is at the latest schema")


@main.command()
@db_option
@json_option
@click.option(
    "--report", "report_ids", type=int, multiple=True, help="Only this report (repeatable)."
)
def reprocess(db: str | None, as_json: bool, report_ids: tuple[int, ...]) -> None:
    """Re-derive versions from stored raw captures with the current cleaner (no re-crawl)."""
    from nianbao.services.reprocess import reprocess as run_reprocess

    try:
        engine = open_archive(db)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    outcome = run_reprocess(sessionmaker_for(engine), list(report_ids) or None).as_dict()
    engine.dispose()
    if as_json:
        _emit(outcome)
    else:
        click.echo(
            f"cleaner {outcome['cleaner_version']}: {outcome['versions']} versions, "
            f"{outcome['rederived']} re-derived (text changed, updated in place), "
            f"{outcome['refreshed']} refreshed (same text), {outcome['unchanged']} unchanged; "
            "no version was created or deleted"
        )
        for pair in outcome["now_identical"]:
            click.echo(
                f"report {pair['report']}: version {pair['version']} now has the same text "
                f"as version {pair['version'] - 1}"
            )
        for item in outcome["captures_disagree"]:
            click.echo(
                f"report {item['report']}: the captures of version {item['version']} "
                "clean to different texts now"
            )
    for error in outcome["errors"]:
        click.echo(f"error: {error}", err=True)
    if outcome["errors"]:
        sys.exit(1)


@main.command()
@db_option
def demo(db: str | None) -> None:
    """Serve the bundled offline demo portal on 127.0.0.1 and archive it."""
    from nianbao import demo as demo_mod

    sys.exit(demo_mod.main(db))


# ---- the figures: statistics tables, their rules (nianbao/services/figures.py) ---------------
def _diff_cells(db: str | None, report_id: int, a: int, b: int, as_json: bool) -> None:
    from nianbao.services.figures import diff_cells

    result = _read(db, diff_cells, report_id, a, b)
    if as_json:
        _emit(result)
        return
    for c in result["changes"]:
        click.echo(
            f"{c['cell']}: {_fig(c['from'])} → {_fig(c['to'])}, first seen {c['first_seen']}"
        )
    if not result["changes"]:
        click.echo(f"versions {a} and {b} have the same table cells")


csv_option = click.option("--csv", "as_csv", is_flag=True, help="CSV (UTF-8, header row).")


def _emit_csv(fields: list[str], rows: list[dict[str, Any]]) -> None:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    click.echo(buf.getvalue(), nl=False)


def _fig(value: Any) -> str:
    return "blank" if value is None else str(value)


@main.command()
@db_option
@json_option
@click.argument("report_id", type=int)
@click.option("--version", "n", type=int, help="Version number (from 1; default: the latest).")
@csv_option
def tables(db: str | None, as_json: bool, report_id: int, n: int | None, as_csv: bool) -> None:
    """The statistics tables (表二/三/四, 统计表) of a version as cells; blank = not reported."""
    from nianbao.services.figures import TABLE_FIELDS, table_rows
    from nianbao.services.figures import tables as get_tables

    result = _read(db, get_tables, report_id, n)
    if as_csv:
        _emit_csv(TABLE_FIELDS, table_rows(result))
        return
    if as_json:
        _emit(result)
        return
    click.echo(
        f"report {report_id} version {result['version']}: format {result['format'] or 'none found'}, "
        f"{len(result['cells'])} cells"
    )
    for c in result["cells"]:
        unit = f" {c['unit']}" if c["unit"] and c["value"] is not None else ""
        click.echo(
            f"表{c['table']}\t{c['row']}\t{c['column']}\t{_fig(c['value'])}{unit}\tline {c['line']}"
        )


@main.command()
@db_option
@json_option
@click.argument("report_id", type=int, required=False)
@click.option(
    "--min",
    "min_similarity",
    type=float,
    default=0.8,
    show_default=True,
    help="Only links at least this similar (--cross-year: Jaccard).",
)
@click.option(
    "--cross-year",
    is_flag=True,
    help="Organs whose report repeats their previous year's (whole archive).",
)
def similar(
    db: str | None, as_json: bool, report_id: int | None, min_similarity: float, cross_year: bool
) -> None:
    """Near-duplicates of a report in other reports (spun, partial, copied, re-dated)."""
    from nianbao.services import similar as similar_mod

    rows = _read(db, similar_mod.similar, report_id, cross_year, min_similarity)
    if as_json:
        _emit(rows)
    else:
        click.echo("\n".join(similar_mod.lines(rows, cross_year)))


@csv_option
def check(db: str | None, as_json: bool, report_id: int | None, as_csv: bool) -> None:
    """Check the figures of one report (or all): the table rules, text against table, and
    last year's carry-over; exit 5 when any rule is violated."""
    from nianbao.services.figures import CHECK_FIELDS, check_rows
    from nianbao.services.figures import check as run_check

    result = _read(db, run_check, report_id)
    if as_csv:
        _emit_csv(CHECK_FIELDS, check_rows(result))
    elif as_json:
        _emit(result)
    else:
        for r in result["results"]:
            for v in r["violations"]:
                cells = ", ".join(f"{c['cell']}={_fig(c['value'])}" for c in v["cells"])
                click.echo(
                    f"report {r['report']} v{r['version']}: {v['rule']}: expected {v['expected']}, "
                    f"found {v['found']} ({cells})"
                )
        click.echo(
            f"{result['reports']} reports, {result['with_tables']} with tables, "
            f"{result['rules_checked']} rules checked, {result['violations']} violations"
        )
    if result["violations"]:
        sys.exit(EXIT_CHECK_VIOLATIONS)


@main.command()
@db_option
@json_option
@click.option("--source", help="Only this source.")
@click.option("--year", type=int, help="Only this report year (also lists organs with no report).")
@csv_option
def compliance(
    db: str | None, as_json: bool, source: str | None, year: int | None, as_csv: bool
) -> None:
    """Per source × organ × report year: the deadline, the evidence, and on time / late /
    missing / unknown / pending."""
    from nianbao.services.compliance import LEDGER_FIELDS, ledger, ledger_rows

    rows = _read(db, ledger, source, year)
    if as_csv:
        _emit_csv(LEDGER_FIELDS, ledger_rows(rows))
        return
    if as_json:
        _emit(rows)
        return
    for r in rows:
        edits = ", ".join(
            f"v{e['version']} {e['first_seen'][:10]}" for e in r["edits_after_deadline"]
        )
        click.echo(
            f"{r['year']}\t{r['organ'] or '?'}\t{r['status']}\tdue {r['deadline']}\t{r['basis']}"
            + (f"\tedited after the deadline: {edits}" if edits else "")
        )
