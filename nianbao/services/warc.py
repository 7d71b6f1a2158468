"""``nianbao export warc``: the archive's captures as a WARC 1.1 file (written with warcio).

Per capture, oldest first:

* a ``request`` record: the request head exactly as sent (no body: the crawler sends none);
* a ``response`` record: the response head exactly as received, then the body as the
  archive stores it for ``wire`` captures (after transfer decoding, before content
  decoding), so the payload digest is the capture's ``body_sha256`` (SHA-256, base32);
* a ``revisit`` record (profile *server-not-modified*) for a 304 answer, referring to the
  response record of the capture whose body it confirmed;
* captures made before wire capture (``body_form = "decoded"``) only kept the decoded
  entity: they become ``resource`` records of that entity, with ``WARC-Nianbao-Body-Form:
  decoded`` and a note, never a ``response`` that would claim to be what was received.

Record ids are derived from capture ids (UUID 5), so the same capture has the same id in
every export and a revisit may refer to a response exported earlier (``--since``).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

import nianbao
from nianbao.errors import NotFound
from nianbao.models.archive import read_blob
from nianbao.models.tables import Blob, Capture, Source
from nianbao.services.export import create_target

NAMESPACE = uuid.UUID("6f1d3c1e-3b1a-5a4e-9d6e-6e69616e6261")  # fixed: stable record ids
SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


class _Writer(WARCWriter):
    """warcio's writer with SHA-256 digests, the digest the archive keys its bodies by."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


class _ExactHead(StatusAndHeaders):
    """Parsed headers whose serialisation is the recorded bytes, not warcio's rewrite."""

    raw: bytes = b""

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self.raw


def _head(raw: bytes, request: bool = False) -> _ExactHead:
    if not raw.endswith(b"\r\n\r\n") and not raw.endswith(b"\n\n"):
        raw = raw.rstrip(b"\r\n") + b"\r\n\r\n"
    parser = StatusAndHeadersParser(
        ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"] if request else [], verify=False
    )
    parsed = parser.parse(BytesIO(raw))
    head = _ExactHead(parsed.statusline, parsed.headers, parsed.protocol)
    head.raw = raw
    return head


def record_id(capture_id: int, kind: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(NAMESPACE, f'nianbao:capture:{capture_id}:{kind}')}>"


def payload_digest(sha256_hex: str) -> str:
    return "sha256:" + base64.b32encode(bytes.fromhex(sha256_hex)).decode("ascii")


def warc_date(moment: datetime) -> str:
    return datetime_to_iso_date(moment.replace(tzinfo=None), use_micros=True)


@dataclass
class WarcCounts:
    path: str
    captures: int = 0
    request: int = 0
    response: int = 0
    revisit: int = 0
    resource: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _captures(session: Session, source: str | None, since: datetime | None) -> Iterator[Capture]:
    query = select(Capture)
    if source:
        query = query.join(Source, Source.id == Capture.source_id).where(Source.name == source)
    if since:
        query = query.where(Capture.fetched_at >= since)
    yield from session.scalars(query.order_by(Capture.fetched_at, Capture.id)).yield_per(200)


def _confirmed(session: Session, c: Capture) -> Capture | None:
    """The capture with a body that a 304 confirmed: the latest earlier one of its version,
    else of its URL."""
    query = select(Capture).where(
        Capture.body_sha256.is_not(None), Capture.status == 200, Capture.id != c.id
    )
    if c.version_id is not None:
        query = query.where(Capture.version_id == c.version_id)
    else:
        query = query.where(Capture.url == c.url)
    query = query.where(Capture.fetched_at <= c.fetched_at)
    return session.scalar(query.order_by(Capture.fetched_at.desc(), Capture.id.desc()).limit(1))


def _common(c: Capture, kind: str) -> dict[str, str]:
    headers = {
        "WARC-Record-ID": record_id(c.id, kind),
        "WARC-Date": warc_date(c.fetched_at),
    }
    if c.remote_ip:
        headers["WARC-IP-Address"] = c.remote_ip
    return headers


def _write_capture(writer: _Writer, session: Session, c: Capture, counts: WarcCounts) -> None:
    if not c.response_head and c.body_form == "wire":
        counts.skipped += 1  # nothing of the exchange was recorded
        return
    counts.captures += 1
    if c.request_head:
        raw = c.request_head.encode("latin-1")
        rec = writer.create_warc_record(
            c.url,
            "request",
            payload=BytesIO(b""),
            length=0,
            http_headers=_head(raw, request=True),
            warc_headers_dict={
                **_common(c, "request"),
                "WARC-Concurrent-To": record_id(c.id, "response"),
            },
        )
        writer.write_record(rec)
        counts.request += 1
    if c.status == 304 or c.body_sha256 is None:
        if c.status != 304 or not c.response_head:
            counts.skipped += 1
            return
        target = _confirmed(session, c)
        extra = _common(c, "response")
        digest = payload_digest(target.body_sha256) if target and target.body_sha256 else None
        rec = writer.create_warc_record(
            c.url,
            "revisit",
            http_headers=_head(c.response_head.encode("latin-1")),
            warc_headers_dict=extra,
        )
        rec.rec_headers.add_header("WARC-Profile", SERVER_NOT_MODIFIED)
        if target is not None:
            rec.rec_headers.add_header("WARC-Refers-To", record_id(target.id, "response"))
            rec.rec_headers.add_header("WARC-Refers-To-Target-URI", target.url)
            rec.rec_headers.add_header("WARC-Refers-To-Date", warc_date(target.fetched_at))
        if digest:
            rec.rec_headers.add_header("WARC-Payload-Digest", digest)
        writer.write_record(rec)
        counts.revisit += 1
        return
    blob = session.get(Blob, c.body_sha256)
    if blob is None:
        counts.skipped += 1
        return
    body = read_blob(blob)
    if c.body_form != "wire" or not c.response_head:
        ctype = ",".join(
            v for k, vs in (c.headers or {}).items() if k.lower() == "content-type" for v in vs
        )
        rec = writer.create_warc_record(
            c.url,
            "resource",
            payload=BytesIO(body),
            length=len(body),
            warc_content_type=ctype or "application/octet-stream",
            warc_headers_dict={
                **_common(c, "response"),
                "WARC-Nianbao-Body-Form": "decoded",
                "WARC-Nianbao-Note": "captured before nianbao kept the bytes on the wire: "
                "the decoded entity, not the response as received",
            },
        )
        writer.write_record(rec)
        counts.resource += 1
        return
    head = _head(c.response_head.encode("latin-1"))
    extra = _common(c, "response")
    if head.get_header("Transfer-Encoding"):
        extra["WARC-Nianbao-Body-Form"] = "transfer-decoded"
    rec = writer.create_warc_record(
        c.url,
        "response",
        payload=BytesIO(body),
        length=len(body),
        http_headers=head,
        warc_headers_dict=extra,
    )
    writer.write_record(rec)
    counts.response += 1


def export_warc(
    session: Session,
    out: Path,
    *,
    source: str | None = None,
    since: datetime | None = None,
    force: bool = False,
) -> WarcCounts:
    """Write the captures (of ``source``, fetched at or after ``since``) to ``out``."""
    if source and session.scalar(select(Source.id).where(Source.name == source)) is None:
        raise NotFound(f"no source named {source!r} in the archive")
    counts = WarcCounts(str(out))
    with create_target(out, force=force) as fh:
        writer = _Writer(fh, gzip=str(out).endswith(".gz"), warc_version="1.1")
        info = {
            "software": f"nianbao {nianbao.__version__} (warcio)",
            "format": "WARC File Format 1.1",
            "description": "Captures of government information-disclosure annual reports",
            "nianbao-source": source or "",
            "nianbao-since": since.isoformat() if since else "",
        }
        writer.write_record(writer.create_warcinfo_record(out.name, info))
        for c in _captures(session, source, since):
            _write_capture(writer, session, c, counts)
    return counts
