"""A strict reader and writer for exactly one DER structure: an Ed25519 private key in PKCS#8.

`countersign keygen` writes PKCS#8 v2 (RFC 5958 OneAsymmetricKey, with the public key), which
the `cryptography` package's loader refuses ("extra data"). This module reads both versions:

    OneAsymmetricKey ::= SEQUENCE {
        version                   INTEGER { v1(0), v2(1) },
        privateKeyAlgorithm       SEQUENCE { OBJECT IDENTIFIER 1.3.101.112 },   -- RFC 8410
        privateKey                OCTET STRING { OCTET STRING (32-byte seed) },
        attributes            [0] IMPLICIT Attributes OPTIONAL,
        ...,
        publicKey             [1] IMPLICIT BIT STRING OPTIONAL }              -- v2 only

Only definite, minimal lengths are accepted, nothing may trail, and every tag must be the one
expected: a file that is anything else is refused rather than guessed at. No cryptography
happens here; the seed goes to `cryptography`'s Ed25519 implementation.
"""

from __future__ import annotations

from dataclasses import dataclass

_ED25519_OID = bytes.fromhex("2b6570")  # 1.3.101.112

_SEQUENCE = 0x30
_INTEGER = 0x02
_OID = 0x06
_OCTET_STRING = 0x04
_ATTRIBUTES = 0xA0  # [0] IMPLICIT, constructed (SET OF)
_PUBLIC_KEY = 0x81  # [1] IMPLICIT BIT STRING, primitive


class DerError(ValueError):
    """The bytes are not an Ed25519 PKCS#8 private key in DER."""


@dataclass(frozen=True)
class Ed25519Pkcs8:
    """What an Ed25519 PKCS#8 structure holds."""

    version: int
    seed: bytes
    public_key: bytes | None


def _read(data: bytes, at: int) -> tuple[int, bytes, int]:
    """One TLV at `at`: (tag, value, offset after it)."""
    if at + 2 > len(data):
        raise DerError("truncated DER: no room for a tag and a length")
    tag = data[at]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte DER tags are not used by PKCS#8 keys")
    first = data[at + 1]
    at += 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise DerError("indefinite lengths are not DER")
    else:
        count = first & 0x7F
        if count > 4 or at + count > len(data):
            raise DerError("DER length is too long or truncated")
        length = int.from_bytes(data[at : at + count], "big")
        if data[at] == 0 or length < 0x80:
            raise DerError("DER length is not minimally encoded")
        at += count
    if at + length > len(data):
        raise DerError("DER value is truncated")
    return tag, data[at : at + length], at + length


def _expect(data: bytes, at: int, tag: int, what: str) -> tuple[bytes, int]:
    got, value, after = _read(data, at)
    if got != tag:
        raise DerError(f"expected {what} (tag 0x{tag:02x}) but found tag 0x{got:02x}")
    return value, after


def parse_ed25519_pkcs8(der: bytes) -> Ed25519Pkcs8:
    """Reads an Ed25519 private key from PKCS#8 v1 or v2 DER; raises DerError otherwise."""
    body, after = _expect(der, 0, _SEQUENCE, "the OneAsymmetricKey SEQUENCE")
    if after != len(der):
        raise DerError("bytes follow the PKCS#8 structure")
    version_bytes, at = _expect(body, 0, _INTEGER, "the version INTEGER")
    if version_bytes not in (b"\x00", b"\x01"):
        raise DerError("PKCS#8 version must be v1 (0) or v2 (1)")
    version = version_bytes[0]
    algorithm, at = _expect(body, at, _SEQUENCE, "the algorithm SEQUENCE")
    oid, rest = _expect(algorithm, 0, _OID, "the algorithm OID")
    if oid != _ED25519_OID:
        raise DerError("the key is not an Ed25519 key (OID 1.3.101.112)")
    if rest != len(algorithm):
        raise DerError("Ed25519 takes no algorithm parameters (RFC 8410)")
    private, at = _expect(body, at, _OCTET_STRING, "the privateKey OCTET STRING")
    seed, inner_end = _expect(private, 0, _OCTET_STRING, "the CurvePrivateKey OCTET STRING")
    if inner_end != len(private) or len(seed) != 32:
        raise DerError("an Ed25519 private key is a 32-byte seed")
    public_key = None
    if at < len(body) and body[at] == _ATTRIBUTES:
        _, at = _expect(body, at, _ATTRIBUTES, "the attributes")
    if at < len(body):
        bits, at = _expect(body, at, _PUBLIC_KEY, "the [1] publicKey")
        if version != 1:
            raise DerError("a publicKey field needs PKCS#8 v2 (RFC 5958)")
        if len(bits) != 33 or bits[0] != 0:
            raise DerError("an Ed25519 public key is 32 bytes with no unused bits")
        public_key = bits[1:]
    if at != len(body):
        raise DerError("unexpected fields after the private key")
    return Ed25519Pkcs8(version=version, seed=seed, public_key=public_key)


def encode_ed25519_pkcs8_v2(seed: bytes, public_key: bytes) -> bytes:
    """PKCS#8 v2 DER of an Ed25519 key, byte for byte the layout `countersign keygen` writes."""
    if len(seed) != 32 or len(public_key) != 32:
        raise ValueError("Ed25519 seeds and public keys are 32 bytes")
    algorithm = bytes([_SEQUENCE, 5, _OID, 3]) + _ED25519_OID
    private = bytes([_OCTET_STRING, 34, _OCTET_STRING, 32]) + seed
    public = bytes([_PUBLIC_KEY, 33, 0]) + public_key
    body = bytes([_INTEGER, 1, 1]) + algorithm + private + public
    return bytes([_SEQUENCE, len(body)]) + body
