"""Ed25519 keys: generate, load and save (the PKCS#8 PEM files `countersign keygen` writes),
public JWKs and RFC 7638 thumbprints, and compact JWS signing through PyJWT."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path
from typing import Any, Mapping

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from ._der import DerError, parse_ed25519_pkcs8
from .digest import b64url, canonical_json

__all__ = ["KeyPair", "PublicKey", "KeyError_", "thumbprint_of_jwk"]

_PEM_BEGIN = "-----BEGIN PRIVATE KEY-----"
_PEM_END = "-----END PRIVATE KEY-----"


class KeyError_(ValueError):  # noqa: N801 - `KeyError` is a builtin with other meaning
    """A key file or JWK that is not a usable Ed25519 key. A `ValueError`, not a
    `CountersignError`: keys are the caller's input."""


_B64URL = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)


def _b64url_decode(text: Any, size: int) -> bytes:
    """`text` decoded as base64url without padding (RFC 7515 §2), strictly: only the URL-safe
    alphabet, no padding or whitespace, unused bits zero (one text per byte string), and
    exactly `size` bytes. Raises `KeyError_` for anything else."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise KeyError_("base64url without padding expected (A-Z a-z 0-9 - _ only)")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(raw) != text:
        raise KeyError_("not canonical base64url: its unused bits are not zero")
    if len(raw) != size:
        raise KeyError_(f"{size} bytes expected, not {len(raw)}")
    return raw


def thumbprint_of_jwk(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint of a public JWK (OKP/Ed25519 or EC/P-256), over its required
    members only, canonicalized by RFC 8785 (which for these members is RFC 7638 §3.2's form).
    Returns it in base64url; raises `KeyError_` for another `kty` or a required member that is
    not a string. The key itself is not checked."""
    kty = jwk.get("kty")
    if kty == "OKP":
        required = {k: jwk.get(k) for k in ("crv", "kty", "x")}
    elif kty == "EC":
        required = {k: jwk.get(k) for k in ("crv", "kty", "x", "y")}
    else:
        raise KeyError_(f"unsupported key type {kty!r}")
    if not all(isinstance(v, str) for v in required.values()):
        raise KeyError_("a JWK's required members must be strings")
    return b64url(hashlib.sha256(canonical_json(required)).digest())


class PublicKey:
    """An Ed25519 public key, identified by its RFC 7638 thumbprint. Equal (and hashed) by
    thumbprint. Built from a `cryptography` key, or from a JWK with `from_jwk()`."""

    __slots__ = ("_key", "_x", "_thumbprint")

    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key
        self._x = b64url(key.public_bytes(Encoding.Raw, PublicFormat.Raw))
        self._thumbprint = thumbprint_of_jwk({"kty": "OKP", "crv": "Ed25519", "x": self._x})

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> "PublicKey":
        """The key of an Ed25519 public JWK (`kty` OKP, `crv` Ed25519, `x` the 32-byte key in
        base64url without padding, read strictly: nothing but the URL-safe alphabet, in its
        one canonical form); other members, `kid` included, are not read. Raises `KeyError_`
        for anything else."""
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            raise KeyError_(f"not an Ed25519 JWK: kty={jwk.get('kty')!r} crv={jwk.get('crv')!r}")
        try:
            raw = _b64url_decode(jwk.get("x"), 32)
        except KeyError_ as e:
            raise KeyError_(f"an Ed25519 JWK's x is the 32-byte key in base64url: {e}") from None
        return cls(Ed25519PublicKey.from_public_bytes(raw))

    @property
    def key(self) -> Ed25519PublicKey:
        """The `cryptography` key object (for PyJWT)."""
        return self._key

    @property
    def thumbprint(self) -> str:
        """RFC 7638 thumbprint: the `kid` / `cnf.jkt` that names this key."""
        return self._thumbprint

    def jwk(self, *, with_kid: bool = True) -> dict[str, str]:
        """The public JWK, as `countersign keygen` prints it (with `kid` = thumbprint)."""
        out = {"crv": "Ed25519", "kty": "OKP", "x": self._x}
        if with_kid:
            out["kid"] = self._thumbprint
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other._thumbprint == self._thumbprint

    def __hash__(self) -> int:
        return hash(self._thumbprint)

    def __repr__(self) -> str:
        return f"PublicKey(thumbprint={self._thumbprint!r})"


class KeyPair:
    """An Ed25519 private key with its public half (`public`, a `PublicKey`). Never printed:
    `repr` shows the thumbprint. Make one with `generate()`, `load()` or `from_pem()`."""

    __slots__ = ("_private", "public")

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = PublicKey(private.public_key())

    @classmethod
    def generate(cls) -> "KeyPair":
        """A new random key pair (not saved: see `save()`)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: str | bytes) -> "KeyPair":
        """Reads a PKCS#8 PEM Ed25519 private key, v1 or v2 (RFC 5958, as `countersign keygen`
        writes it). A v2 key's embedded public key must match its seed. Raises `KeyError_` for
        anything else (text or bytes that are not ASCII, another PEM type, an encrypted key,
        another algorithm, DER that is not strict)."""
        try:
            text = pem.decode("ascii") if isinstance(pem, bytes) else pem
        except UnicodeDecodeError:
            raise KeyError_("not a PEM file: it is not ASCII text") from None
        if not text.isascii():
            raise KeyError_("not a PEM file: it is not ASCII text")
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if len(lines) < 3 or lines[0] != _PEM_BEGIN or lines[-1] != _PEM_END:
            raise KeyError_("not a PEM 'PRIVATE KEY' (PKCS#8); encrypted keys are not supported")
        try:
            der = base64.b64decode("".join(lines[1:-1]), validate=True)
        except ValueError as e:
            raise KeyError_(f"PEM body is not base64: {e}") from e
        try:
            parsed = parse_ed25519_pkcs8(der)
        except DerError as e:
            raise KeyError_(str(e)) from e
        pair = cls(Ed25519PrivateKey.from_private_bytes(parsed.seed))
        if parsed.public_key is not None:
            derived = pair._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            if derived != parsed.public_key:
                raise KeyError_("the key file's public key does not belong to its private key")
        return pair

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "KeyPair":
        """Reads the key file at `path` (see `from_pem()`). Raises `OSError` if it cannot be
        read, `KeyError_` if it is not an Ed25519 private key."""
        return cls.from_pem(Path(path).read_bytes())

    def to_pem(self) -> str:
        """The private key as PKCS#8 v1 PEM text (RFC 8410, unencrypted): the layout
        `countersign keygen` writes, and the one OpenSSL and `cryptography` read."""
        return self._private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                           NoEncryption()).decode("ascii")

    def save(self, path: str | os.PathLike[str], *, force: bool = False) -> None:
        """Writes `to_pem()` to `path` with mode 0600. Raises `FileExistsError` if the file
        exists, unless `force` (then it is replaced); other `OSError`s as the OS reports them."""
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
        fd = os.open(path, flags, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, self.to_pem().encode("ascii"))
        finally:
            os.close(fd)

    @property
    def thumbprint(self) -> str:
        """The public key's RFC 7638 thumbprint: the `kid` of what it signs."""
        return self.public.thumbprint

    def jwk(self) -> dict[str, str]:
        """The public JWK (never the private part)."""
        return self.public.jwk()

    def sign_jws(self, typ: str, claims: Mapping[str, Any]) -> str:
        """A compact JWS: header `{"alg":"EdDSA","typ":typ,"kid":thumbprint}` over `claims`.
        Signs whatever it is given; no claim is checked."""
        return jwt.encode(dict(claims), self._private, algorithm="EdDSA",
                          headers={"typ": typ, "kid": self.thumbprint})

    def __repr__(self) -> str:
        return f"KeyPair(thumbprint={self.thumbprint!r})"
