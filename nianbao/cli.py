"""The ``nianbao`` command line: crawl portals, then read the archive.

Exit status: 0 success; 1 an error the message explains (bad sources file, unknown
report, archive unreachable); 2 bad usage; 3 a crawl in which at least one source failed
entirely (no page could be fetched); 4 ``verify`` found damaged data — cron can alert on
anything non-zero.
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
def diff(db: str | None, report_id: int, a: int, b: int) -> None:
    """Unified diff of the texts of versions A and B of a report."""
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
def demo(db: str | None) -> None:
    """Serve the bundled offline demo portal on 127.0.0.1 and archive it."""
    from nianbao import demo as demo_mod

    sys.exit(demo_mod.main(db))


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
