"""Verify a delivered decision exactly as a Python workflow would: fetch the gateway's JWKS,
pick the key by kid, check typ, signature, audience and the request it binds.

usage: verify_decision.py JWKS_URL AUDIENCE REQUEST_ID REQUEST_DIGEST < decision.jws
"""
import json
import sys

import jwt

jwks_url, audience, request_id, request_digest = sys.argv[1:5]
token = sys.stdin.read().strip()
header = jwt.get_unverified_header(token)
assert header["typ"] == "delegation-decision+jwt", header
key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
claims = jwt.decode(token, key.key, algorithms=["EdDSA"], audience=audience,
                    options={"verify_iat": False})  # the gateway runs on a pinned test clock
assert claims["request_id"] == request_id, claims
assert claims["request_digest"] == request_digest, claims
print(json.dumps({"decision": claims["decision"], "iss": claims["iss"], "kid": header["kid"]}))
