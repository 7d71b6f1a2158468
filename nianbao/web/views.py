"""The auditor's pages: reports, a report, a diff, a capture (headers, raw bytes, replay)."""

from __future__ import annotations

from typing import Any

import lxml.html
from flask import Blueprint, Response, abort, render_template, request, url_for
from sqlalchemy import select

from nianbao.models import queries
from nianbao.models.tables import Capture, ReportUrl
from nianbao.pipelines.decode import charset_of, decode
from nianbao.services import diff as diff_mod
from nianbao.web import SANDBOX_CSP, db_session
from nianbao.web.listing import STATUSES, Filters, matrix, report_summary, reports_page

bp = Blueprint("views", __name__)

# Elements whose content is never shown by the script-free rendering.
DROP = "//script|//style|//noscript|//template|//iframe|//object|//embed|//svg|//math|//head"


def _int(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        abort(400, f"{name} must be a number")
    return int(value)


@bp.get("/")
def reports() -> str:
    f = Filters(
        organ=request.args.get("organ", "").strip(),
        source=request.args.get("source", "").strip(),
        year=_int("year"),
        status=request.args.get("status", "") if request.args.get("status") in STATUSES else "",
        q=request.args.get("q", "").strip(),
        page=_int("page") or 1,
    )
    data = reports_page(db_session(), f)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("reports.html", f=f, statuses=STATUSES, args=args, **data)


@bp.get("/reports/<int:report_id>")
def report(report_id: int) -> str:
    s = db_session()
    versions = queries.list_versions(s, report_id)
    n = _int("version")
    version = queries.get_version(s, report_id, n)
    urls = s.scalars(
        select(ReportUrl).where(ReportUrl.report_id == report_id).order_by(ReportUrl.first_seen)
    ).all()
    summary = report_summary(s, report_id)
    return render_template(
        "report.html",
        report=summary,
        versions=versions,
        version=queries.version_dict(version),
        explain=queries.explain_dict(version),
        urls=urls,
        captures=queries.list_captures(s, report_id),
    )


@bp.get("/reports/<int:report_id>/diff")
def diff(report_id: int) -> str:
    s = db_session()
    versions = queries.list_versions(s, report_id)
    last = versions[-1]["n"]
    a, b = _int("a") or max(last - 1, 1), _int("b") or last
    pair = diff_mod.pair(s, report_id, [a, b], [])
    edits = diff_mod.changes(pair.a.text, pair.b.text)
    return render_template(
        "diff.html",
        report_id=report_id,
        versions=versions,
        a=pair.a,
        b=pair.b,
        changes=edits,
        a_lines=_anchored(diff_mod.marked(pair.a.text, [(c.a_start, c.a_end) for c in edits])),
        b_lines=_anchored(diff_mod.marked(pair.b.text, [(c.b_start, c.b_end) for c in edits])),
        inline=_inline(pair.a.text, pair.b.text, edits),
    )


def _anchored(lines: list[list[tuple[str, bool]]]) -> list[dict[str, Any]]:
    """Lines of runs, each line knowing whether it holds a change (for side by side)."""
    return [{"runs": runs, "changed": any(f for _, f in runs)} for runs in lines]


def _inline(a: str, b: str, edits: list[diff_mod.Change]) -> list[tuple[str, str, int]]:
    """B's text with A's deletions put back: (kind, text, change index) runs, kind in
    ``""``, ``"del"``, ``"ins"``."""
    out: list[tuple[str, str, int]] = []
    pos = 0
    for k, c in enumerate(edits):
        out.append(("", a[pos : c.a_start], -1))
        if c.a_text:
            out.append(("del", c.a_text, k))
        if c.b_text:
            out.append(("ins", c.b_text, k))
        pos = c.a_end
    out.append(("", a[pos:], -1))
    return out


def _capture(capture_id: int) -> Capture:
    capture = db_session().get(Capture, capture_id)
    if capture is None:
        abort(404, f"no capture with id {capture_id}")
    return capture


def content_type(capture: Capture) -> str:
    for key, values in (capture.headers or {}).items():
        if key.lower() == "content-type" and values:
            return str(values[-1])
    return "application/octet-stream"


@bp.get("/captures/<int:capture_id>/raw")
def raw(capture_id: int) -> Response:
    """The body exactly as stored (as sent: gzip stays gzip), as a download, sandboxed."""
    got = queries.capture_body(db_session(), capture_id)
    return Response(
        got.body,
        mimetype="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="capture-{capture_id}.bin"',
            "Content-Security-Policy": SANDBOX_CSP,
        },
    )


def archived_response(capture: Capture) -> Response:
    """The archived entity as the server labelled it, in a sandbox: never runs on our origin."""
    got = queries.capture_body(db_session(), capture.id, decoded=True)
    return Response(
        got.body,
        headers={
            "Content-Type": content_type(capture),
            "Content-Security-Policy": SANDBOX_CSP,
            "X-Frame-Options": "SAMEORIGIN",
        },
    )


@bp.get("/captures/<int:capture_id>/original")
def original(capture_id: int) -> Response:
    return archived_response(_capture(capture_id))


@bp.get("/captures/<int:capture_id>")
def replay(capture_id: int) -> str:
    """A script-free rendering: the page's visible text, escaped; the original only framed."""
    capture = _capture(capture_id)
    ctype = content_type(capture)
    title, paragraphs = "", list[str]()
    if capture.body_sha256 and "html" in ctype.lower():
        body = queries.capture_body(db_session(), capture_id, decoded=True).body
        title, paragraphs = script_free(body, charset_of(ctype))
    return render_template(
        "replay.html",
        capture=capture,
        exchange=queries.exchange(capture),
        ctype=ctype,
        title=title,
        paragraphs=paragraphs,
        original=url_for("views.original", capture_id=capture_id),
    )


def script_free(body: bytes, charset: str | None) -> tuple[str, list[str]]:
    text = decode(body, charset).text
    if not text.strip():
        return "", []
    doc = lxml.html.fromstring(text)
    title = (doc.findtext(".//title") or "").strip()
    for node in doc.xpath(DROP):
        node.drop_tree()
    for br in doc.iter("br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"):
        br.tail = "\n" + (br.tail or "")
    lines = [line.strip() for line in doc.text_content().split("\n")]
    return title, [line for line in lines if line]


@bp.get("/sources/<name>/matrix")
def source_matrix(name: str) -> str:
    data = matrix(db_session(), name)
    if not data["organs"]:
        abort(404, f"no reports with a year from source {name!r}")
    return render_template("matrix.html", **data)
