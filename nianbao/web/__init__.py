"""``nianbao serve``: the auditor's desk, a read-only web view of the archive (Flask).

Why Flask: server-rendered Jinja2 pages with autoescaping on by default, no build step,
a synchronous model that fits the archive's synchronous SQLAlchemy sessions, and
Werkzeug's in-process test client. The app opens the archive with
:func:`nianbao.models.db.open_reader` (read-only, never migrates), so it never holds a
lock a crawl waits for.

Nothing archived runs on the app's origin: the app's own pages carry a CSP without any
script source, archived bytes are served only with ``Content-Security-Policy: sandbox``
(an opaque origin, no scripts), and every archived string reaches a page escaped.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, render_template, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from nianbao.errors import NianbaoError, NotFound
from nianbao.models.db import open_reader, sessionmaker_for

# The app's own pages: no scripts at all, styles inline, frames only from the app (replays).
APP_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)
# Archived bytes: a sandbox without allow-scripts or allow-same-origin (an opaque origin).
SANDBOX_CSP = "sandbox"


def create_app(db: str | None = None) -> Flask:
    app = Flask(__name__)
    app.url_map.merge_slashes = False  # /web/http://… keeps its "//"
    app.url_map.strict_slashes = False
    engine = open_reader(db)
    make_session = sessionmaker_for(engine)
    app.config["NIANBAO_ENGINE"] = engine

    def session() -> Session:
        if "session" not in g:
            g.session = make_session()
        return g.session

    app.config["NIANBAO_SESSION"] = session

    @app.teardown_appcontext
    def close(_: Any) -> None:
        s = g.pop("session", None)
        if s is not None:
            s.close()

    @app.after_request
    def headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("Content-Security-Policy", APP_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.errorhandler(NianbaoError)
    def archive_error(exc: NianbaoError):  # type: ignore[no-untyped-def]
        # an id the archive does not hold is 404; anything else a user can act on is 400
        status = 404 if isinstance(exc, NotFound | LookupError) else 400
        return render_template("error.html", status=status, message=str(exc)), status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        if request.path.startswith("/web/") and exc.code == 404:
            return exc.description or "not archived", 404, {"Content-Type": "text/plain"}
        return render_template("error.html", status=exc.code, message=exc.description), exc.code

    from nianbao.web import memento, views

    app.register_blueprint(views.bp)
    app.register_blueprint(memento.bp)
    return app


def db_session() -> Session:
    from flask import current_app

    return current_app.config["NIANBAO_SESSION"]()
