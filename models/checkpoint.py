"""Signed tree heads of the archive log: what an operator keeps outside the archive.

A checkpoint says "the log had ``size`` leaves with root ``root`` at ``time``", signed
with an Ed25519 key (``cryptography``) that lives outside the archive. Stored away (or
mailed, or published), it pins every leaf before ``size``: ``verify --checkpoint`` recomputes
the root at that size from today's log, so any later edit, deletion or consistent rewrite
of those rows — or of their leaves — shows.

The signed message is fixed text (so any tool can check it)::

    nianbao log checkpoint v1
    size <n>
    root <hex>
    time <ISO 8601, UTC>

and the checkpoint file is JSON with those fields plus ``public_key`` (raw, hex) and
``signature`` (hex).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from nianbao.errors import UsageError

HEADER = "nianbao log checkpoint v1"


@dataclass(frozen=True)
class Checkpoint:
    size: int
    root: str  # hex
    time: str  # ISO 8601
    public_key: str  # raw Ed25519 public key, hex
    signature: str  # hex

    def message(self) -> bytes:
        return message(self.size, self.root, self.time)

    def as_dict(self) -> dict[str, Any]:
        return {
            "log": HEADER,
            "size": self.size,
            "root": self.root,
            "time": self.time,
            "public_key": self.public_key,
            "signature": self.signature,
        }

    def signature_ok(self) -> bool:
        try:
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.public_key))
            key.verify(bytes.fromhex(self.signature), self.message())
        except (InvalidSignature, ValueError):
            return False
        return True


def message(size: int, root: str, time: str) -> bytes:
    return f"{HEADER}\nsize {size}\nroot {root}\ntime {time}\n".encode()


def new_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_key(pem: bytes, where: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{where} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"{where} is not an Ed25519 key (make one with `nianbao log keygen`)")
    return key


def public_hex(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def sign(key: Ed25519PrivateKey, size: int, root: str, time: datetime) -> Checkpoint:
    when = time.isoformat()
    signature = key.sign(message(size, root, when)).hex()
    return Checkpoint(size, root, when, public_hex(key), signature)


def parse(raw: bytes, where: str) -> Checkpoint:
    """A checkpoint file, or a :class:`UsageError` saying why it is not one."""
    try:
        data = json.loads(raw)
        if data.get("log") != HEADER:
            raise ValueError(f"not a {HEADER!r} file")
        size = data["size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError("size is not a count")
        fields = [str(data[k]) for k in ("root", "time", "public_key", "signature")]
        for value in (fields[0], fields[2], fields[3]):
            bytes.fromhex(value)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{where} is not a nianbao checkpoint: {exc}") from exc
    return Checkpoint(size, *fields)
