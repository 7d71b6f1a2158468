"""JSON for the shared frontier's queued requests, instead of scrapy-redis's pickle.

scrapy-redis stores each queued request as ``serializer.dumps(request.to_dict())`` and
turns it back with ``serializer.loads``; by default the serializer is pickle, so anyone who
can write to the Redis could make every worker run code (a pickle is a program). This
module is the serializer instead (``SCHEDULER_SERIALIZER``): plain JSON, with tagged
values for what JSON lacks — bytes (headers, bodies), tuples, and the few dataclasses the
spider keeps in ``meta``, rebuilt only from an allow-list. Loading never imports, calls or
constructs anything else; a queue entry that is not such JSON is refused with ``ValueError``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

from nianbao.crawler.cms.hanweb import Group

ALLOWED: dict[str, type] = {"hanweb.Group": Group}  # meta values rebuilt by name
_NAMES = {cls: name for name, cls in ALLOWED.items()}


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return {"__items__": [[_encode(k), _encode(v)] for k, v in value.items()]}
        return {k: _encode(v) for k, v in value.items()}
    if type(value) in _NAMES:
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__dataclass__": _NAMES[type(value)], "fields": fields}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot queue a {type(value).__name__} in a request (JSON frontier)")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__bytes__" in value:
        return base64.b64decode(value["__bytes__"], validate=True)
    if "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    if "__items__" in value:
        return {_decode(k): _decode(v) for k, v in value["__items__"]}
    if "__dataclass__" in value:
        cls = ALLOWED.get(value["__dataclass__"])
        if cls is None:
            raise ValueError(f"queued request names an unknown type {value['__dataclass__']!r}")
        return cls(**{k: _decode(v) for k, v in value["fields"].items()})
    return {k: _decode(v) for k, v in value.items()}


def dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(_encode(obj), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def loads(data: bytes | str) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"queued request is not JSON (refused): {exc}") from exc
    if not isinstance(obj, dict):
        raise ValueError("queued request is not a JSON object (refused)")
    return _decode(obj)
