"""``nianbao log``: keys, signed checkpoints and inclusion proofs of the archive's log.

* ``keygen KEYFILE`` — a new Ed25519 private key (PEM, mode 0600), never overwriting a
  file: the operator keeps it outside the archive (a stolen archive must not hold the key
  that vouches for it).
* ``checkpoint --key KEYFILE`` — the signed tree head of the log now (size, root, time,
  signature, public key) as JSON on stdout, for the operator to store, publish or mail.
* ``prove CAPTURE_ID | vVERSION_ID`` — the RFC 6962 §2.1.1 inclusion proof of that row's
  latest leaf in the log now, with everything needed to check it by hand.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nianbao.errors import DamagedArchive, NotFound, UsageError
from nianbao.models import checkpoint, log, merkle
from nianbao.models.tables import LogLeaf


def keygen(path: Path) -> str:
    """Write a new key to ``path`` (refusing to overwrite); return its public key (hex)."""
    pem = checkpoint.new_key_pem()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise UsageError(f"{path} exists: refusing to overwrite a key") from exc
    except OSError as exc:
        raise UsageError(f"cannot create {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return checkpoint.public_hex(checkpoint.load_key(pem, str(path)))


def read_key(path: Path) -> Any:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the key {path}: {exc.strerror}") from exc
    return checkpoint.load_key(pem, str(path))


def _hashes(session: Session) -> list[bytes]:
    out: list[bytes] = []
    for idx, _kind, _row, leaf in log.all_leaves(session):
        if idx != len(out):
            raise DamagedArchive(f"the archive's log has no leaf {len(out)}: run `nianbao verify`")
        out.append(bytes.fromhex(leaf))
    return out


def make_checkpoint(session: Session, key_path: Path) -> checkpoint.Checkpoint:
    key = read_key(key_path)
    hashes = _hashes(session)
    return checkpoint.sign(key, len(hashes), merkle.root(hashes).hex(), datetime.now(UTC))


def read_checkpoints(paths: list[Path]) -> list[tuple[str, checkpoint.Checkpoint]]:
    out: list[tuple[str, checkpoint.Checkpoint]] = []
    for path in paths:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read the checkpoint {path}: {exc.strerror}") from exc
        out.append((str(path), checkpoint.parse(raw, str(path))))
    return out


def parse_target(target: str) -> tuple[str, int]:
    """``123`` → a capture, ``v45`` → a version, ``r6`` → a report."""
    kinds = {"v": "version", "r": "report"}
    head, digits = (target[0].lower(), target[1:]) if target[:1].isalpha() else ("", target)
    if (head and head not in kinds) or not digits.isdigit():
        raise UsageError(
            f"{target!r} is not CAPTURE_ID, vVERSION_ID or rREPORT_ID (e.g. 17, v3, r2)"
        )
    return kinds.get(head, "capture"), int(digits)


def prove(session: Session, target: str) -> dict[str, Any]:
    kind, row_id = parse_target(target)
    idx = session.scalar(
        select(LogLeaf.idx)
        .where(LogLeaf.kind == kind, LogLeaf.row_id == row_id)
        .order_by(LogLeaf.idx.desc())
        .limit(1)
    )
    if idx is None:
        raise NotFound(f"the archive's log has no {kind} {row_id}")
    hashes = _hashes(session)
    rows = log.load_rows(session, kind, [row_id])
    data = log.canonical(kind, rows[row_id]) if row_id in rows else None
    root = merkle.root(hashes)
    proof = merkle.inclusion_proof(idx, hashes)
    return {
        "kind": kind,
        "id": row_id,
        "leaf_index": idx,
        "tree_size": len(hashes),
        "root": root.hex(),
        "leaf_hash": hashes[idx].hex(),
        "leaf_data": data.decode("utf-8", "surrogatepass") if data is not None else None,
        "row_matches_leaf": data is not None and merkle.leaf_hash(data) == hashes[idx],
        "proof": [p.hex() for p in proof],
        "verified": merkle.verify_inclusion(idx, len(hashes), hashes[idx], proof, root),
    }
