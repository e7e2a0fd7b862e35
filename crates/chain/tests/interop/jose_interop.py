"""Cross-language checks for Countersign's JOSE and JCS choices, run by the Rust test
`interop` with the project's virtualenv (PyJWT, cryptography, rfc8785 from PyPI).

  verify-rust   stdin {token, jwk, values}: verify a Rust-signed hop with PyJWT and
                digest each value with rfc8785; print header, claims and digests.
  python-chain  stdin {now}: build and sign a two-hop chain entirely in Python; print the
                request, its trust store and the digests Python computed.
"""
import base64
import hashlib
import json
import sys

import jwt
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def digest_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_json(value) -> str:
    return digest_bytes(rfc8785.dumps(value))


def thumbprint(x: str) -> str:
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def verify_rust(payload):
    token, jwk = payload["token"], payload["jwk"]
    header = jwt.get_unverified_header(token)
    # PyJWT (like jsonwebtoken) does not check typ: a verifier must do it itself.
    if header.get("typ") != "delegation-hop+jwt":
        raise SystemExit(f"unexpected typ {header.get('typ')!r}")
    key = jwt.PyJWK(jwk, algorithm="EdDSA")
    claims = jwt.decode(token, key.key, algorithms=["EdDSA"],
                        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False})
    if header.get("kid") != thumbprint(jwk["x"]):
        raise SystemExit("kid is not the RFC 7638 thumbprint of the key")
    return {"header": header, "claims": claims, "digests": [digest_json(v) for v in payload["values"]]}


def new_party():
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = b64url(raw)
    return private, {"kty": "OKP", "crv": "Ed25519", "x": x}, thumbprint(x)


def python_chain(payload):
    now = payload["now"]
    parties = {name: new_party() for name in ["user:py", "agent:py-planner", "agent:py-payer"]}
    purpose = {"id": "py-purpose", "text": "Pay the Python invoice"}
    content = "Invoice 77 — 12.34 EUR (é, ü, 😀)"
    evidence = [{"id": "ev-py", "kind": "source", "produced_by": "agent:py-planner", "title": "Invoice",
                 "content_type": "text/plain", "content": content,
                 "digest": digest_bytes(content.encode()), "captured_at": "2026-11-22T08:50:00Z"}]
    scope0 = [{"type": "pay", "actions": ["send", "refund"], "constraints": {"max_amount": "100", "currency": "EUR"}}]
    scope1 = [{"type": "pay", "actions": ["send"], "locations": ["acct:py"], "constraints": {"max_amount": "12.34", "currency": "EUR"}}]
    path = ["user:py", "agent:py-planner", "agent:py-payer"]
    chain = []
    for i, scope in enumerate([scope0, scope1]):
        claims = {"iss": path[i], "sub": path[i + 1], "jti": f"py-{i}", "iat": now - 60, "exp": now + 3600 - i,
                  "txn": "txn-py", "principal": "user:py", "hop": i, "max_depth": 1 - i,
                  "cnf": {"jkt": parties[path[i + 1]][2]}, "authorization_details": scope, "purpose": purpose,
                  "evidence": [{"id": "ev-py", "digest": evidence[0]["digest"]}] if i == 1 else []}
        if chain:
            claims["prev"] = digest_bytes(chain[-1].encode("ascii"))
        private, _, kid = parties[path[i]]
        chain.append(jwt.encode(claims, private, algorithm="EdDSA", headers={"typ": "delegation-hop+jwt", "kid": kid}))
    arguments = {"amount": "12.34", "currency": "EUR", "memo": "naïve café ☕", "ratio": 0.5}
    action = {"type": "pay", "operation": "send", "resource": "acct:py", "arguments": arguments,
              "arguments_digest": digest_json(arguments), "requested_by": "agent:py-payer",
              "impact": {"tier": "high", "reversible": False, "value": {"amount": "12.34", "currency": "EUR"}},
              "summary": "Pay 12.34 EUR"}
    request = {"schema": "countersign.request/v1", "request_id": "req-py", "txn": "txn-py",
               "created_at": "2026-11-22T08:55:00Z", "expires_at": "2026-11-22T10:00:00Z",
               "principal": "user:py", "purpose": purpose, "chain": chain, "action": action,
               "evidence": evidence,
               "uncertainty": {"confidence": 0.9, "method": "rule_based", "assumptions": [], "known_unknowns": [], "alternatives": []}}
    trust = {"parties": {name: {"kind": "human" if name.startswith("user:") else "agent", "display_name": name,
                                "keys": [parties[name][1]]} for name in parties}}
    return {"request": request, "trust": trust,
            "digests": {"request": digest_json(request), "chain": digest_json(chain), "action": digest_json(action)}}


if __name__ == "__main__":
    mode = sys.argv[1]
    payload = json.load(sys.stdin)
    result = {"verify-rust": verify_rust, "python-chain": python_chain}[mode](payload)
    json.dump(result, sys.stdout)
