"""Digests as the wire contract defines them: `"sha256:" + lowercase hex`.

A digest of a JSON value is taken over its RFC 8785 (JCS) canonical bytes, produced by the
`rfc8785` package. Integers beyond ±2^53 and non-finite floats cannot be canonicalized and
raise `ValueError` (amounts and ids are strings in anything signed or digested).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import rfc8785

__all__ = ["sha256_digest", "json_digest", "canonical_json", "b64url", "loads_ijson"]


def sha256_digest(data: bytes) -> str:
    """`sha256:` + lowercase hex of SHA-256 over `data`. Raises `TypeError` for anything but
    bytes (text has no digest until it is encoded)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("sha256_digest takes bytes; encode text first (evidence is UTF-8)")
    return "sha256:" + hashlib.sha256(bytes(data)).hexdigest()


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical bytes of a JSON value. Raises `ValueError` for a value that has none:
    an integer beyond ±2^53, NaN or Infinity, a non-string object key, a non-JSON type."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as e:
        raise ValueError(f"value has no RFC 8785 form: {e}") from e


def json_digest(value: Any) -> str:
    """Digest of a JSON value: SHA-256 over its RFC 8785 canonical bytes. Raises `ValueError`
    as `canonical_json` does."""
    return sha256_digest(canonical_json(value))


def b64url(data: bytes) -> str:
    """`data` in base64url without padding (the JWS / JWK text form)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class DuplicateMemberError(ValueError):
    """JSON text names a member twice in one object (not I-JSON, RFC 7493)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateMemberError(f"member {key!r} appears twice in one object")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_ijson(text: str | bytes) -> Any:
    """Parses I-JSON: duplicate member names, NaN and Infinity are refused. Returns the value;
    raises `ValueError` (`DuplicateMemberError`, `json.JSONDecodeError`, or
    `UnicodeDecodeError` for bytes it cannot decode)."""
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
