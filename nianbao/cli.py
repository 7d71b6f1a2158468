"""The ``nianbao`` command line: crawl portals, then read the archive.

Exit status: 0 success; 1 an error the message explains (bad sources file, unknown
report, archive unreachable); 2 bad usage; 3 a crawl in which at least one source failed
entirely (no page could be fetched); 4 ``verify`` found damaged data; 5 ``check`` found
figures that do not add up — cron can alert on anything non-zero.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

import click

from nianbao import sources as sources_mod
from nianbao import table
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
from nianbao.models.runs import Summary, run_summary
from nianbao.startup import uncollected_imports

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
    never creates, never takes the write lock: a crawl is never kept waiting). The engine
    is disposed when the command ends, so its pooled connections close then, not whenever
    the garbage collector gets to them (the CLI's commands also run in-process: tests, web)."""
    engine = open_reader(db)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(engine.dispose)
    return sessionmaker_for(engine)()


def _read(db: str | None, query: Any, *args: Any) -> Any:
    """Run one read query; an unknown report, version or capture is a clear error (exit 1)."""
    with _session(db) as session:
        return query(session, *args)


def _version_as(
    session: Any, shape: Any, report_id: int, n: int | None, moment: datetime | None
) -> Any:
    """Version ``n`` (or current at ``moment``, or the latest) of a report, as ``shape`` makes it."""
    return shape(queries.get_version(session, report_id, n, moment))


def _page(text: str) -> None:
    """Long texts through the pager ($PAGER, less) on a terminal; plain output otherwise."""
    if sys.stdout.isatty() and text.count("\n") > 20:
        click.echo_via_pager(text if text.endswith("\n") else text + "\n")
    else:
        click.echo(text)


def _summary_line(s: Summary) -> str:
    """One source's crawl in one line: the crawl summary and ``runs`` print the same."""
    return (
        f"{s.status}"
        + (f" ({s.reason})" if s.reason else "")
        + f"; {s.pages} pages fetched, {s.reports} report captures, "
        f"{s.new_reports} new reports, {s.new_versions} new versions, "
        f"{s.unchanged} unchanged, {s.not_modified} not modified (304), "
        + (f"{s.not_due} not due (checked recently, not asked), " if s.not_due else "")
        + f"{s.cached_pages} other pages unchanged (304, links from the page cache), "
        f"{s.downloaded / 1e6:.2f} MB downloaded, "
        f"{s.skipped} skipped (robots/budget/traps/size), {s.errors} errors"
        + (" (resumed)" if s.resumed else "")
    )


def _source_lines(results: Sequence[Any]) -> list[str]:
    """The crawl's summary lines, one a source; of a crawl of many sources
    (:data:`nianbao.crawl.SOURCE_LINES`), only those that need a look (neither ok nor idle,
    or with errors) and a count of the rest."""
    from nianbao.crawl import SOURCE_LINES

    if len(results) <= SOURCE_LINES:
        return [f"{r.name}: " + _summary_line(r) for r in results]
    loud = [r for r in results if r.status not in ("ok", "idle") or r.errors]
    lines = [f"{r.name}: " + _summary_line(r) for r in loud]
    if quiet := len(results) - len(loud):
        lines.append(
            f"{quiet} other source(s) ok or idle without errors, not listed one by one "
            f"(more than {SOURCE_LINES} sources; `nianbao runs --source NAME` has any one's line)"
        )
    return lines


DEFAULT_TZ = "+08:00"  # China Standard Time (Asia/Shanghai; no daylight saving)


def _zone(name: str) -> tzinfo:
    """``+08:00``, ``-05:00``, ``UTC``/``Z`` or an IANA name (``Asia/Shanghai``)."""
    if name.upper() in ("UTC", "Z"):
        return UTC
    if name[:1] in "+-" and len(name) == 6 and name[3] == ":":
        try:
            hours, minutes = int(name[1:3]), int(name[4:6])
        except ValueError:
            pass
        else:
            sign = -1 if name[0] == "-" else 1
            return timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        raise click.BadParameter(
            f"{name!r} is not a time zone (+08:00, UTC or a name like Asia/Shanghai)",
            param_hint="--tz",
        ) from None


def _parse_time(value: str, tz: str = DEFAULT_TZ) -> datetime:
    """An ISO 8601 time; without a zone it is read in ``tz`` (default +08:00, as a Chinese
    auditor means it; ``--tz`` or $NIANBAO_TZ for another)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time (e.g. 2024-03-31T12:00:00+08:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=_zone(tz))


tz_option = click.option(
    "--tz",
    envvar="NIANBAO_TZ",
    default=DEFAULT_TZ,
    show_default=True,
    help="Time zone of an --as-of time given without one ($NIANBAO_TZ).",
)


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
    _terminal_safe_stdout()


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
@click.option(
    "--shard",
    metavar="K/N",
    help="Crawl only shard K of N of the sources (by name; N workers given the same list"
    " and 1/N … N/N split it, each source to one). With --redis, Redis then keeps only the"
    " politeness shared: no shared queue.",
)
@click.option(
    "--recheck",
    is_flag=True,
    help="Ask every known report again, however recently it was checked (the revisit"
    " schedule, NIANBAO_REVISIT_MIN/MAX, otherwise skips reports checked recently).",
)
@click.option("-v", "--verbose", is_flag=True, help="Scrapy's INFO log on stderr.")
@click.option(
    "--digest",
    "digest_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write what the crawl changed (new reports, versions, withdrawals) here as JSON.",
)
@click.option(
    "--notify",
    "notify_urls",
    multiple=True,
    metavar="URL",
    help="Send the change digest to this Apprise URL (repeatable; also `notify` in the"
    " sources file, $NIANBAO_NOTIFY).",
)
def crawl(
    db: str | None,
    sources_file: str | None,
    urls: tuple[str, ...],
    overrides: tuple[str, ...],
    jobdir: Path | None,
    redis_url: str | None,
    shard: str | None,
    recheck: bool,
    verbose: bool,
    digest_file: Path | None,
    notify_urls: tuple[str, ...],
) -> None:
    """Crawl portals and archive every annual report found."""
    with uncollected_imports():  # most of a crawl's start-up (nianbao.startup)
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
        notify = _notify_urls(sources_file, notify_urls)
        part = sources_mod.parse_shard(shard) if shard else None
    except sources_mod.SourcesError as exc:
        raise click.ClickException(str(exc)) from exc
    listed = len(srcs)
    if part is not None:
        srcs = sources_mod.in_shard(srcs, *part)
        if not srcs:
            click.echo(f"shard {shard}: none of the {listed} source(s); nothing to crawl", err=True)
            return
    settings: dict[str, str] = {"LOG_LEVEL": "INFO" if verbose else "WARNING"}
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.UsageError(f"-s expects NAME=VALUE, got {item!r}")
        settings[name] = value
    if redis_url:
        settings["NIANBAO_REDIS_URL"] = redis_url
    if part is not None:  # each source is this worker's alone: Redis (if any) for politeness
        settings["NIANBAO_REDIS_FRONTIER"] = "False"
    if recheck:
        settings["NIANBAO_REVISIT_MIN"] = "0"
    crawl_mod.check_overrides(settings)  # a bad -s value: one line, exit 2
    url = resolve_url(db)
    of = f" of {listed} (shard {shard})" if part is not None else ""
    click.echo(f"crawling {len(srcs)}{of} source(s) into {safe_url(url)}", err=True)
    try:
        results = crawl_mod.run(srcs, url, settings, jobdir=jobdir, quiet=not verbose)
    except (ArchiveError, FrontierError, JobDirError) as exc:
        raise click.ClickException(str(exc)) from exc
    failed = [r for r in results if r.failed]
    for line in _source_lines(results):
        click.echo(line)
    total_v = sum(r.new_versions for r in results)
    click.echo(f"done: {len(results)} source(s), {len(failed)} failed, {total_v} new versions")
    _queued_work(url)
    _after_crawl(url, [r.run_id for r in results if r.run_id is not None], digest_file, notify)
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
    lines = table.columns(
        [
            [
                str(r["id"]),
                str(r["year"] or "----"),
                r["organ"] or "?",
                f"v{r['versions']}",
                (r["title"] or "")
                + (
                    f"  [withdrawn {r['withdrawn_at']}: {r['withdrawn_reason']}]"
                    if r["withdrawn_at"]
                    else ""
                ),
            ]
            for r in rows
        ],
        ">",
    )
    for line, r in zip(lines, rows, strict=True):
        click.echo(f"{line}\n       {r['url']}")


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
    if rows and (gone := queries.withdrawn_line(rows[0])):
        click.echo(f"report {report_id} {gone}")
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
@tz_option
def show(
    db: str | None, as_json: bool, report_id: int, n: int | None, as_of: str | None, tz: str
) -> None:
    """Print the clean text of one version (default: the latest)."""
    if n is not None and as_of:
        raise click.UsageError("give --version or --as-of, not both")
    moment = _parse_time(as_of, tz) if as_of else None
    data = _read(db, _version_as, queries.version_dict, report_id, n, moment)
    if as_json:
        _emit(data)
        return
    gone = queries.withdrawn_line(data)
    _page(
        (f"# {gone}\n" if gone else "")
        + f"# {data['title']}  (report {report_id}, version {data['n']}, sha256 {data['sha256'][:16]})\n"
        f"# {data['url']}  first seen {data['first_seen']}, last seen {data['last_seen']}\n\n"
        + data["text"]
    )


@main.command()
@db_option
@json_option
@click.argument("report_id", type=int)
@click.option("--version", "n", type=int, help="Version number (from 1).")
@click.option("--as-of", "as_of", help="The version current at this ISO 8601 time.")
@click.option(
    "--width", type=int, default=0, help="Cut each removed text to this many cells (0: whole)."
)
@tz_option
def explain(
    db: str | None,
    as_json: bool,
    report_id: int,
    n: int | None,
    as_of: str | None,
    width: int,
    tz: str,
) -> None:
    """What the cleaner removed from a version's page and why (rule or model), its flags."""
    if n is not None and as_of:
        raise click.UsageError("give --version or --as-of, not both")
    moment = _parse_time(as_of, tz) if as_of else None
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
    lines = []
    for r in data["removed"]:
        text = " ".join(str(r["text"] or "").split())
        lines.append(f"{r['stage']}/{r['rule']}\t{table.cut(text, width) if width else text}")
        if r["why"]:  # a model's decision: its evidence on the next line
            lines.append(f"  why: {r['why']}")
    _page("\n".join(lines))


@main.command()
@db_option
@json_option
@click.argument("report_id", type=int)
@click.argument("a", type=int, required=False)
@click.argument("b", type=int, required=False)
@click.option(
    "--as-of", "as_of", multiple=True, help="A version by time instead of number (repeatable)."
)
@tz_option
@click.option("--cells", is_flag=True, help="Which table cells changed (see `nianbao tables`).")
@click.option(
    "--color/--no-color", "colour", default=None, help="Colour (default: only on a terminal)."
)
def diff(
    db: str | None,
    as_json: bool,
    report_id: int,
    a: int | None,
    b: int | None,
    as_of: tuple[str, ...],
    tz: str,
    cells: bool,
    colour: bool | None,
) -> None:
    """Diff two versions' texts, changed characters marked: A B, A --as-of T, or two --as-of
    (--cells: which cells of their statistics tables changed).

    Plain output is a unified diff; each changed line is followed by a `?` line with `^`
    under its changed characters (two per CJK character). On a terminal, colour instead.
    """
    from nianbao.services import diff as diff_mod

    numbers = [n for n in (a, b) if n is not None]
    moments = [_parse_time(t, tz) for t in as_of]
    if len(numbers) + len(moments) != 2:
        raise click.UsageError("give two versions: A B, A --as-of T, or --as-of T1 --as-of T2")
    if cells:
        if moments:
            raise click.UsageError("--cells compares version numbers: A B")
        _diff_cells(db, report_id, numbers[0], numbers[1], as_json)
        return
    with _session(db) as session:
        pair = diff_mod.pair(session, report_id, numbers, moments)
        if as_json:
            _emit(diff_mod.diff_dict(pair))
            return
        if colour is None:
            colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        lines = list(diff_mod.unified(pair.a.text, pair.b.text, *pair.labels(), colour=colour))
    if not lines:
        click.echo(f"versions {pair.a.n} and {pair.b.n} have the same text")
    elif colour:
        # Past the terminal-safe wrapper: the lines escaped the archived text themselves.
        raw = getattr(sys.stdout, "original", sys.stdout)
        for line in lines:
            click.echo(line, color=True, file=raw)
    else:
        _page("\n".join(lines))


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
    cells = [
        [
            str(c["id"]),
            str(c["fetched_at"]),
            str(c["status"]),
            str(c["kind"]),
            f"v{c['version']}" if c["version"] else "-",
            (c["body_sha256"] or "(no body)")[:16],
            str(c["url"]),
        ]
        for c in rows
    ]
    for line in table.columns(cells, ">"):
        click.echo(line)


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
    lines = table.columns(
        [
            [
                str(r["report_id"]),
                f"v{r['version']}",
                str(r["year"] or "----"),
                r["organ"] or "?",
                (r["title"] or "")
                + ("" if r["current"] else "  [superseded]")
                + ("  [withdrawn]" if r["withdrawn"] else ""),
            ]
            for r in rows
        ],
        ">",
    )
    for line, r in zip(lines, rows, strict=True):
        click.echo(f"{line}\n       …{r['snippet']}…")


@main.command()
@db_option
@json_option
@click.option("--source", help="Only this source.")
@click.option(
    "--status", help="Only runs that ended so: failed, ok, idle, crashed, running, shutdown …"
)
@click.option("--limit", default=50, show_default=True, help="At most this many runs.")
def runs(db: str | None, as_json: bool, source: str | None, status: str | None, limit: int) -> None:
    """Crawl runs, newest first: when, which source, how it ended, what it found."""
    from nianbao.models.digest import brief, run_changes

    with _session(db) as session:
        rows = queries.list_runs(session, source, limit, status)
        for r in rows:  # what each run changed, by report
            r["changes"] = brief(run_changes(session, [r["id"]], detail=False))
    if as_json:
        _emit(rows)
        return
    if not rows:
        click.echo("no crawl has run against this archive yet")
    cells = []
    for r in rows:
        summary = run_summary(r["counts"], r["errors"])
        summary.status = r["status"]  # "running", "crashed": the row knows, the counts not
        cells.append(
            [
                str(r["id"]),
                f"{r['started_at']} → {r['finished_at'] or '-'}",
                r["source"],
                _summary_line(summary),
            ]
        )
    for line, r in zip(table.columns(cells, ">"), rows, strict=True):
        click.echo(line)
        c = r["changes"]
        if c["new_reports"]:
            click.echo("       new reports: " + ", ".join(map(str, c["new_reports"])))
        if c["new_versions"]:
            click.echo(
                "       new versions: "
                + ", ".join(f"report {v['report_id']} v{v['version']}" for v in c["new_versions"])
            )
        for w in c["withdrawn"]:
            click.echo(f"       withdrawn: report {w['report_id']} ({w['reason']}) {w['at']}")


@main.command()
@db_option
@json_option
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A signed checkpoint (`nianbao log checkpoint`) the log must still agree with.",
)
def verify(db: str | None, as_json: bool, checkpoints: tuple[Path, ...]) -> None:
    """Re-hash every body and text, check every row against the archive's log (and each
    checkpoint); exit 4 naming each damaged row."""
    from nianbao.models.verify import verify as run_verify
    from nianbao.services.log import read_checkpoints

    given = read_checkpoints(list(checkpoints))
    with _session(db) as session:
        result = run_verify(session, given)
    if as_json:
        _emit(
            {
                "blobs": result.blobs,
                "versions": result.versions,
                "captures": result.captures,
                "reports": result.reports,
                "log": {"size": result.log_size, "root": result.log_root},
                "checkpoints": result.checkpoints,
                "problems": [p.as_dict() for p in result.problems],
                "notes": result.notes,
            }
        )
    else:
        for p in result.problems:
            click.echo(f"MISMATCH {p.kind} {p.key}: {p.detail}")
        for note in result.notes:
            click.echo(f"note: {note}")
        click.echo(
            f"log: {result.log_size} leaves, root {result.log_root}; "
            f"{result.captures} captures, {result.reports} reports checked against it"
            + (f", {result.checkpoints} checkpoint(s)" if result.checkpoints else "")
        )
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
def index(db: str | None) -> None:
    """Do what a saturated crawl put off: parse the queued versions' table cells, compare
    the queued versions with their look-alikes, then index the versions queued for search.
    A crawl does all three when it has a core to spare."""
    from sqlalchemy.exc import OperationalError

    from nianbao.models.queued import QUEUES, work_off

    try:
        engine = open_archive(db)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    Session = sessionmaker_for(engine)
    try:
        for queue in QUEUES:
            with Session() as session:
                queued = queue.pending(session)
            done, started = 0, time.monotonic()
            try:
                for done in work_off(Session, queue):
                    click.echo(f"{queue.name}: {done}/{queued} versions", err=True)
            except OperationalError as exc:
                raise click.ClickException(
                    f"{queue.name}: stopped after {done} versions (the rest stay queued): "
                    f"{exc.orig}"
                ) from exc
            click.echo(
                f"{queue.name}: {done} versions {queue.verb} in {time.monotonic() - started:.1f} s"
            )
    finally:
        engine.dispose()


@main.command()
@click.option(
    "--db",
    "db",
    default=None,
    metavar="URL",
    help="Archive to fill (default: demo.sqlite beside the default archive; never $NIANBAO_DB).",
)
def demo(db: str | None) -> None:
    """Serve the bundled offline demo portal on 127.0.0.1 and archive it (twice)."""
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


@main.command()
@db_option
@json_option
@click.argument("report_id", type=int, required=False)
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


# --- issue 13: exports and the web view (nianbao/services/export.py, warc.py; nianbao/web/) ---


@main.group()
def export() -> None:
    """Export the archive: WARC for web-archive tools, JSONL and CSV for research."""


_force_option = click.option("--force", is_flag=True, help="Replace existing files.")


@export.command("warc")
@db_option
@json_option
@_force_option
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", help="Only this source's captures.")
@click.option("--since", help="Only captures fetched at or after this ISO 8601 time.")
def export_warc(
    db: str | None, as_json: bool, force: bool, out: Path, source: str | None, since: str | None
) -> None:
    """Every capture as WARC 1.1 request/response/revisit records (OUT.warc.gz: gzipped)."""
    from nianbao.services.warc import export_warc as run

    moment = _parse_time(since) if since else None
    counts = _read(db, lambda s: run(s, out, source=source, since=moment, force=force)).as_dict()
    if as_json:
        _emit(counts)
    else:
        click.echo(
            f"{counts['path']}: {counts['captures']} captures: {counts['request']} request, "
            f"{counts['response']} response, {counts['revisit']} revisit, "
            f"{counts['resource']} resource (pre-wire) records; {counts['skipped']} skipped"
        )


@export.command("jsonl")
@db_option
@_force_option
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def export_jsonl(db: str | None, force: bool, out: Path) -> None:
    """One JSON line per version: text and provenance (source, organ, year, captures …)."""
    from nianbao.services.export import export_jsonl as run

    result = _read(db, lambda s: run(s, out, force=force))
    click.echo(f"{result['path']}: {result['versions']} versions")


@export.command("csv")
@db_option
@_force_option
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_csv(db: str | None, force: bool, directory: Path) -> None:
    """reports.csv, versions.csv and captures.csv in DIRECTORY."""
    from nianbao.services.export import export_csv as run

    result = _read(db, lambda s: run(s, directory, force=force))
    rows = ", ".join(f"{name} {n}" for name, n in result["rows"].items())
    click.echo(f"{result['path']}: {rows}")


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


# --- the change digest after a crawl (issue 17) ---


def _notify_urls(sources_file: str | None, given: tuple[str, ...]) -> list[str]:
    import os

    from nianbao.services import digest as digest_svc

    urls = list(given) or (os.environ.get("NIANBAO_NOTIFY") or "").split()
    if sources_file:
        urls += sources_mod.load_notify(sources_file)
    digest_svc.check(urls)
    return urls


def _queued_work(url: str) -> None:
    """Say what the crawl left for later (:data:`models.queued.QUEUES`): versions whose
    table cells wait (migration 0016), to compare with their look-alikes (0014) and to
    index for search (0013)."""
    from nianbao.models.queued import QUEUES

    try:
        counts = [(queue, _read(url, queue.pending)) for queue in QUEUES]
    except (ArchiveError, click.ClickException):
        return
    for queue, n in counts:
        if n:
            click.echo(f"{queue.name}: {n} versions queued {queue.meanwhile}")


def _after_crawl(url: str, run_ids: list[int], path: Path | None, notify: list[str]) -> None:
    """Print what the crawl changed, write it as JSON, send it to the notification URLs."""
    from nianbao.models.digest import as_text, is_empty
    from nianbao.services import digest as digest_svc

    if not run_ids:
        return
    digest = digest_svc.crawl_digest(url, run_ids)
    if not is_empty(digest):
        click.echo("changes:\n" + "\n".join("  " + line for line in as_text(digest).splitlines()))
    if path is not None:
        digest_svc.write(digest, path)
    if not digest_svc.notify(notify, digest):
        click.echo("the change notification could not be sent", err=True)


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port (0: any free one).")
@click.option("--threads", default=4, show_default=True, type=int, help="Worker threads.")
def serve(db: str | None, host: str, port: int, threads: int) -> None:
    """Serve the read-only web view: reports, diffs, replay, Memento, on HOST:PORT."""
    import waitress

    from nianbao.web import create_app

    app = create_app(db)
    server = waitress.create_server(app, host=host, port=port, threads=threads, ident="nianbao")
    where = f"http://{host}:{server.effective_port}/"  # type: ignore[union-attr]
    click.echo(f"nianbao serving {safe_url(resolve_url(db, create=False))} read-only on {where}")
    server.run()


# --- nianbao log: the archive's Merkle tree log (issue 15; nianbao/services/log.py) ---


@main.group(name="log")
def log_group() -> None:
    """The archive's tamper-evident log: keys, signed checkpoints, inclusion proofs."""


@log_group.command()
@click.argument("keyfile", type=click.Path(path_type=Path, dir_okay=False))
def keygen(keyfile: Path) -> None:
    """Make an Ed25519 signing key in KEYFILE (mode 0600; keep it outside the archive)."""
    from nianbao.services import log as log_service

    public = log_service.keygen(keyfile)
    click.echo(f"wrote {keyfile} (mode 0600); public key {public}")


@log_group.command()
@db_option
@click.option("--key", "key", required=True, type=click.Path(path_type=Path, dir_okay=False))
def checkpoint(db: str | None, key: Path) -> None:
    """Print a signed tree head of the log now (JSON): store it away from the archive."""
    from nianbao.services import log as log_service

    with _session(db) as session:
        signed = log_service.make_checkpoint(session, key)
    _emit(signed.as_dict())


@log_group.command()
@db_option
@click.argument("target")
def prove(db: str | None, target: str) -> None:
    """Inclusion proof (RFC 6962 §2.1.1) of capture ID, version vID or report rID (JSON)."""
    from nianbao.services import log as log_service

    _emit(_read(db, log_service.prove, target))


def _terminal_safe_stdout() -> None:
    """Archived text is hostile: control characters and bidi overrides printed by any
    command (show, search, explain, diff …) come out as visible ``\\uXXXX`` escapes, which
    inside ``--json`` strings mean the same string. ``raw`` writes bytes, untouched."""
    from nianbao.pipelines.terminal import SafeWriter

    if not isinstance(sys.stdout, SafeWriter) and hasattr(sys.stdout, "buffer"):
        sys.stdout = SafeWriter(sys.stdout)
