"""Verifying a reviewer's decision JWS against the gateway's JWKS, and webhook signatures.

A `Decision` exists only after every check passed: `typ` is `delegation-decision+jwt`, `alg`
is EdDSA (or ES256 with a P-256 key), `kid` names a key of the JWKS (matched by its RFC 7638
thumbprint computed here, never by the JWKS's own `kid` member), the signature verifies, `aud`
is the gateway's audience, it is unexpired (with a small leeway), and `request_id`, `txn` and
the three digests are those of the request this workflow sent. Anything else raises
`DecisionVerificationError`.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

import jwt
from jwt.algorithms import ECAlgorithm

from .digest import loads_ijson, sha256_digest
from .errors import DecisionVerificationError, WebhookVerificationError
from .keys import KeyError_, PublicKey, _b64url_decode, thumbprint_of_jwk
from .models import (
    DECISION_TYP, WEBHOOK_TYP, DecisionClaims, RequestState, WebhookDelivery, WebhookSignatureClaims,
)
from .request import DecisionSubject

__all__ = ["Decision", "KeySet", "verify_decision", "verify_webhook"]

_ALLOWED = {"EdDSA": ("OKP", "Ed25519"), "ES256": ("EC", "P-256")}


class KeySet:
    """Public keys by RFC 7638 thumbprint, from a JWKS document (`{"keys": [...]}`) or a list
    of JWKs. Only OKP/Ed25519 (EdDSA) and EC/P-256 (ES256) keys are kept, each under the
    thumbprint computed here (a JWK's own `kid` member is not read).

    Keys of other types, and malformed keys (coordinates included that are not strict,
    canonical base64url of 32 bytes), are ignored (never trusted). Raises `ValueError` when
    the document has no list of keys."""

    def __init__(self, jwks: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> None:
        keys = jwks.get("keys") if isinstance(jwks, Mapping) else jwks
        if not isinstance(keys, (list, tuple)):
            raise ValueError("a JWKS is {\"keys\": [...]}")
        self._keys: dict[str, tuple[str, Any]] = {}
        for jwk in keys:
            if not isinstance(jwk, Mapping):
                continue
            try:
                thumbprint = thumbprint_of_jwk(jwk)
                public = {k: jwk[k] for k in ("kty", "crv", "x", "y") if k in jwk}
                if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
                    self._keys[thumbprint] = ("EdDSA", PublicKey.from_jwk(public).key)
                elif jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
                    _b64url_decode(jwk.get("x"), 32), _b64url_decode(jwk.get("y"), 32)
                    self._keys[thumbprint] = ("ES256", ECAlgorithm.from_jwk(public))
            except (KeyError_, jwt.PyJWTError, ValueError, TypeError, KeyError):
                continue

    def get(self, kid: str) -> Optional[tuple[str, Any]]:
        """(algorithm, PyJWT key) of the key whose thumbprint is `kid`, or None."""
        return self._keys.get(kid)

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(frozen=True)
class Decision:
    """A verified decision: its JWS, the `kid` that signed it and its claims. Only
    `verify_decision()` (and the clients, through it) makes one that can be trusted.
    `approved` is True only for `decision == "approve"`; a rejection is a `Decision` too."""

    jws: str
    kid: str
    claims: DecisionClaims

    @property
    def approved(self) -> bool:
        """True for an approval, False for a rejection."""
        return self.claims.decision == "approve"

    @property
    def decision(self) -> str:
        """`"approve"` or `"reject"`."""
        return self.claims.decision

    @property
    def reviewer(self) -> str:
        """The reviewer's identity (the claims' `iss`)."""
        return self.claims.iss

    @property
    def reason(self) -> str:
        """The reviewer's reason, as they wrote it (untrusted text)."""
        return self.claims.reason

    @property
    def request_id(self) -> str:
        """The request decided."""
        return self.claims.request_id


def _verified(token: str, keys: KeySet, typ: str, error: type, **decode: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(token, str) or token.count(".") != 2:
        raise error("format", "not a compact JWS")
    try:
        segment = token.split(".")[0]
        header = loads_ijson(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError) as e:
        raise error("format", f"unreadable header: {e}") from e
    if not isinstance(header, dict):
        raise error("format", "the header is not a JSON object")
    if header.get("typ") != typ:
        raise error("typ", f"typ is {header.get('typ')!r}, not {typ!r}")
    alg = header.get("alg")
    if alg not in _ALLOWED:
        raise error("alg", f"alg {alg!r} is not allowed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise error("kid", "no kid in the header")
    found = keys.get(kid)
    if found is None:
        raise error("kid", f"kid {kid} is not a key the gateway publishes")
    key_alg, key = found
    if key_alg != alg:
        raise error("alg", f"alg {alg} does not fit the {key_alg} key {kid}")
    try:
        signed = jwt.PyJWS().decode_complete(token, key, algorithms=[alg])
    except jwt.InvalidSignatureError as e:
        raise error("signature", "the signature does not verify") from e
    except jwt.PyJWTError as e:
        raise error("format", f"unreadable token: {e}") from e
    try:
        payload = loads_ijson(signed["payload"])
    except ValueError as e:
        raise error("claims", f"claims are not I-JSON: {e}") from e
    if not isinstance(payload, dict):
        raise error("claims", "claims are not a JSON object")
    return kid, payload


def verify_decision(jws: str, keys: KeySet, *, audience: str, subject: DecisionSubject,
                    now: Optional[float] = None, leeway: int = 60) -> Decision:
    """Verifies a decision for `subject` (the request this workflow sent) against `keys`
    and `audience`, allowing `leeway` seconds of clock skew on `exp` and `iat`. Returns the
    `Decision` (approve or reject); raises `DecisionVerificationError` naming the failed
    check."""
    kid, payload = _verified(jws, keys, DECISION_TYP, DecisionVerificationError)
    try:
        claims = DecisionClaims.model_validate(payload)
    except ValueError as e:
        raise DecisionVerificationError("claims", f"claims do not match the contract: {e}") from e
    now = time.time() if now is None else now
    if claims.aud != audience:
        raise DecisionVerificationError("aud", f"addressed to {claims.aud!r}, not {audience!r}")
    if claims.exp + leeway < now:
        raise DecisionVerificationError("exp", f"expired at {claims.exp}")
    if claims.iat - leeway > now:
        raise DecisionVerificationError("iat", f"issued in the future ({claims.iat})")
    for name in ("request_id", "txn", "request_digest", "chain_digest", "action_digest"):
        got, want = getattr(claims, name), getattr(subject, name)
        if got != want:
            raise DecisionVerificationError(name, f"{name} is {got!r}, but this request's is {want!r}")
    return Decision(jws=jws, kid=kid, claims=claims)


def verify_webhook(body: bytes, signature: str, keys: KeySet, *, issuer: str,
                   idempotency_key: Optional[str] = None, max_age: int = 600,
                   now: Optional[float] = None) -> WebhookDelivery:
    """Verifies a webhook delivery: the `Countersign-Signature` JWS (typ
    `countersign-webhook+jwt`, a key of the JWKS, `iss` the gateway's audience, `iat` within
    `max_age` seconds), that its `body_digest` is the digest of the exact `body` bytes and its
    `delivery_id` the body's (and the `Idempotency-Key` header's, when given), and that an
    approved or rejected delivery carries a decision JWS. Returns the delivery; its
    `decision_jws` must still go through `verify_decision`. Raises
    `WebhookVerificationError` naming the failed check, `TypeError` when `body` is not
    bytes."""
    if not isinstance(body, (bytes, bytearray)):
        raise TypeError("pass the exact body bytes as received")
    _, payload = _verified(signature, keys, WEBHOOK_TYP, WebhookVerificationError)
    try:
        claims = WebhookSignatureClaims.model_validate(payload)
    except ValueError as e:
        raise WebhookVerificationError("claims", str(e)) from e
    now = time.time() if now is None else now
    if claims.iss != issuer:
        raise WebhookVerificationError("iss", f"issued by {claims.iss!r}, not {issuer!r}")
    if abs(now - claims.iat) > max_age:
        raise WebhookVerificationError("iat", f"signed at {claims.iat}, outside the {max_age}s window")
    if claims.body_digest != sha256_digest(bytes(body)):
        raise WebhookVerificationError("body_digest", "the body is not the one signed")
    try:
        delivery = WebhookDelivery.model_validate(loads_ijson(bytes(body)))
    except ValueError as e:
        raise WebhookVerificationError("body", f"the body is not a webhook delivery: {e}") from e
    if delivery.state in (RequestState.APPROVED, RequestState.REJECTED) and not delivery.decision_jws:
        raise WebhookVerificationError("body", f"the delivery says {delivery.state.value} but carries no decision")
    if delivery.delivery_id != claims.delivery_id:
        raise WebhookVerificationError("delivery_id", "the body's delivery id is not the signed one")
    if idempotency_key is not None and idempotency_key != claims.delivery_id:
        raise WebhookVerificationError("delivery_id", "Idempotency-Key is not the signed delivery id")
    return delivery


def keyset(documents: Iterable[Mapping[str, Any]]) -> KeySet:
    """One `KeySet` of the keys of several JWKS documents."""
    keys: list[Any] = []
    for doc in documents:
        keys.extend(doc.get("keys", []))
    return KeySet({"keys": keys})
