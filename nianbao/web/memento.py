"""Memento (RFC 7089) under Wayback-style paths, so existing clients work unchanged.

* TimeGate ``/web/<URI-R>``: ``302`` to the memento closest to ``Accept-Datetime`` (the
  latest without one), ``Vary: accept-datetime``, ``Link`` to the original and the TimeMap.
* Memento ``/web/<YYYYMMDDhhmmss>/<URI-R>``: the archived entity (sandboxed, see
  :func:`nianbao.web.views.archived_response`) with ``Memento-Datetime`` and ``Link`` to
  original, timegate, timemap and first/last/prev/next memento. A datetime that is not
  one of a memento's is redirected (``302``) to the closest one, as Wayback does.
* TimeMaps ``/web/timemap/link/<URI-R>`` (``application/link-format``, RFC 6690) and
  ``/web/timemap/json/<URI-R>``.

A memento is a capture of the URL that kept a body (200 answers and the like); a 304 is
evidence the page was unchanged, not a new representation, and is not listed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from flask import Blueprint, Response, abort, jsonify, request
from sqlalchemy import select

from nianbao.models.tables import Capture
from nianbao.web import db_session
from nianbao.web.views import archived_response

bp = Blueprint("memento", __name__)

LINK_FORMAT = "application/link-format"


def _target(path: str) -> str:
    """The original URI as asked for: the rest of the path, plus the query string."""
    query = request.query_string.decode("latin-1")
    return path + ("?" + query if query else "")


def _mementos(url: str) -> list[Capture]:
    rows = db_session().scalars(
        select(Capture)
        .where(Capture.url == url, Capture.body_sha256.is_not(None))
        .order_by(Capture.fetched_at, Capture.id)
    )
    out: list[Capture] = []
    for c in rows:  # one memento per second: a 14-digit datetime names exactly one
        if out and stamp(out[-1].fetched_at) == stamp(c.fetched_at):
            continue
        out.append(c)
    return out


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _base() -> str:
    return request.host_url.rstrip("/")


def _uris(url: str) -> dict[str, str]:
    base = _base()
    return {
        "timegate": f"{base}/web/{url}",
        "timemap": f"{base}/web/timemap/link/{url}",
        "timemap_json": f"{base}/web/timemap/json/{url}",
    }


def memento_uri(c: Capture) -> str:
    return f"{_base()}/web/{stamp(c.fetched_at)}/{c.url}"


def _closest(mementos: list[Capture], moment: datetime) -> Capture:
    return min(mementos, key=lambda c: (abs((c.fetched_at - moment).total_seconds()), c.id))


def _found(url: str) -> list[Capture]:
    mementos = _mementos(url)
    if not mementos:
        abort(404, f"{url} is not archived")
    return mementos


def _entry(c: Capture, rel: str) -> str:
    return f'<{memento_uri(c)}>; rel="{rel}"; datetime="{http_date(c.fetched_at)}"'


@bp.get("/web/timemap/link/<path:url>")
def timemap_link(url: str) -> Response:
    url = _target(url)
    mementos = _found(url)
    u = _uris(url)
    lines = [
        f'<{url}>; rel="original"',
        f'<{u["timemap"]}>; rel="self"; type="{LINK_FORMAT}"; '
        f'from="{http_date(mementos[0].fetched_at)}"; until="{http_date(mementos[-1].fetched_at)}"',
        f'<{u["timegate"]}>; rel="timegate"',
    ]
    for i, c in enumerate(mementos):
        rel = " ".join(
            r
            for r, on in (("first", i == 0), ("last", i == len(mementos) - 1), ("memento", True))
            if on
        )
        lines.append(_entry(c, rel))
    return Response(",\n".join(lines) + "\n", content_type=LINK_FORMAT)


@bp.get("/web/timemap/json/<path:url>")
def timemap_json(url: str) -> Response:
    url = _target(url)
    mementos = _found(url)
    u = _uris(url)

    def item(c: Capture) -> dict[str, str]:
        return {"datetime": http_date(c.fetched_at), "uri": memento_uri(c)}

    return jsonify(
        {
            "original_uri": url,
            "timegate_uri": u["timegate"],
            "timemap_uri": {"link_format": u["timemap"], "json_format": u["timemap_json"]},
            "mementos": {
                "first": item(mementos[0]),
                "last": item(mementos[-1]),
                "list": [item(c) for c in mementos],
            },
        }
    )


@bp.get("/web/<int(fixed_digits=14):moment>/<path:url>")
def memento(moment: int, url: str) -> Response:
    url = _target(url)
    mementos = _found(url)
    try:
        wanted = datetime.strptime(str(moment), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        abort(400, f"{moment} is not a YYYYMMDDhhmmss datetime")
    index = next((i for i, c in enumerate(mementos) if stamp(c.fetched_at) == str(moment)), None)
    u = _uris(url)
    if index is None:
        best = _closest(mementos, wanted)
        return Response(
            status=302,
            headers={
                "Location": memento_uri(best),
                "Link": f'<{url}>; rel="original", <{u["timegate"]}>; rel="timegate"',
            },
        )
    c = mementos[index]
    links = [
        f'<{url}>; rel="original"',
        f'<{u["timegate"]}>; rel="timegate"',
        f'<{u["timemap"]}>; rel="timemap"; type="{LINK_FORMAT}"',
        _entry(mementos[0], "first memento"),
        _entry(mementos[-1], "last memento"),
    ]
    if index > 0:
        links.append(_entry(mementos[index - 1], "prev memento"))
    if index < len(mementos) - 1:
        links.append(_entry(mementos[index + 1], "next memento"))
    response = archived_response(c)
    response.headers["Memento-Datetime"] = http_date(c.fetched_at)
    response.headers["Link"] = ", ".join(links)
    return response


@bp.get("/web/<path:url>")
def timegate(url: str) -> Response:
    url = _target(url)
    mementos = _found(url)
    asked = request.headers.get("Accept-Datetime")
    if asked:
        try:
            moment = parsedate_to_datetime(asked)
        except (TypeError, ValueError):
            moment = None
        if moment is None or moment.tzinfo is None:
            abort(
                400,
                f"Accept-Datetime {asked!r} is not an RFC 1123 date (e.g. "
                "Thu, 31 May 2007 20:35:00 GMT)",
            )
        best = _closest(mementos, moment)
    else:
        best = mementos[-1]
    u = _uris(url)
    return Response(
        status=302,
        headers={
            "Location": memento_uri(best),
            "Vary": "accept-datetime",
            "Link": f'<{url}>; rel="original", '
            f'<{u["timemap"]}>; rel="timemap"; type="{LINK_FORMAT}"',
        },
    )
