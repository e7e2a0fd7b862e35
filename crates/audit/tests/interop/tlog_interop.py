#!/usr/bin/env python3
"""An independent implementation of Countersign's audit-log formats, for interop tests.

Written from the specs (RFC 9162 §2.1, c2sp.org/signed-note, tlog-checkpoint, tlog-proof)
with only hashlib and `cryptography`, sharing no code with the Rust crate.

Reads one JSON object on stdin:
  {"origin": str, "vkey": str,
   "proofs": [{"file": str, "data": base64}],      -> "verified": [bool, ...]
   "leaves": [base64, ...],                         -> "roots": [hex of MTH(first n), n = 0..len]
   "sign": {"name": str, "seed": hex, "text": str}} -> "signed": {"note": str, "vkey": str}
and prints one JSON object with the results.
"""

import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

EM_DASH = "\u2014"


def b64(text):
    return base64.b64decode(text, validate=True)


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(hashes):
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def key_id(name, public):
    return hashlib.sha256(name.encode() + b"\n" + b"\x01" + public).digest()[:4]


def parse_vkey(vkey):
    name, hex_id, encoded = vkey.split("+", 2)
    key = b64(encoded)
    if len(key) != 33 or key[0] != 1:
        raise ValueError("not an Ed25519 verifier key")
    if key_id(name, key[1:]).hex() != hex_id:
        raise ValueError("key ID mismatch")
    return name, key_id(name, key[1:]), Ed25519PublicKey.from_public_bytes(key[1:])


def open_note(note, name, kid, public):
    """Return the text if a signature by (name, kid) verifies; unknown keys are ignored."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise ValueError("not a signed note")
    text += "\n"
    verified = False
    for line in signatures[:-1].split("\n"):
        if not line.startswith(EM_DASH + " "):
            raise ValueError("bad signature line")
        sig_name, encoded = line[2:].split(" ", 1)
        raw = b64(encoded)
        if sig_name != name or raw[:4] != kid:
            continue
        public.verify(raw[4:], text.encode())  # raises InvalidSignature
        verified = True
    if not verified:
        raise ValueError("no trusted signature")
    return text


def verify_inclusion(leaf, index, size, path, root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def decimal(text):
    if not text.isdigit() or not text.isascii() or (text != "0" and text.startswith("0")):
        raise ValueError("bad decimal")
    return int(text)


def verify_proof(file, data, origin, vkey):
    name, kid, public = parse_vkey(vkey)
    head, sep, checkpoint = file.partition("\n\n")
    if not sep:
        raise ValueError("no checkpoint")
    lines = head.split("\n")
    if lines.pop(0) != "c2sp.org/tlog-proof@v1":
        raise ValueError("bad header")
    if lines and lines[0].startswith("extra "):
        b64(lines.pop(0)[6:])
    if not lines or not lines[0].startswith("index "):
        raise ValueError("no index")
    index = decimal(lines.pop(0)[6:])
    path = [b64(line) for line in lines]
    if any(len(h) != 32 for h in path):
        raise ValueError("bad proof hash")
    body = open_note(checkpoint, name, kid, public).split("\n")
    if len(body) < 4 or body[0] != origin:
        raise ValueError("bad checkpoint")
    size, root = decimal(body[1]), b64(body[2])
    return verify_inclusion(leaf_hash(data), index, size, path, root)


def verified(case, origin, vkey):
    try:
        return verify_proof(case["file"], b64(case["data"]), origin, vkey)
    except (ValueError, InvalidSignature):
        return False


def sign(name, seed, text):
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = key_id(name, public)
    signature = base64.b64encode(kid + private.sign(text.encode())).decode()
    typed_key = base64.b64encode(b"\x01" + public).decode()
    vkey = f"{name}+{kid.hex()}+{typed_key}"
    return {"note": f"{text}\n{EM_DASH} {name} {signature}\n", "vkey": vkey}


def main():
    request = json.load(sys.stdin)
    leaves = [leaf_hash(b64(d)) for d in request["leaves"]]
    result = {
        "verified": [verified(c, request["origin"], request["vkey"]) for c in request["proofs"]],
        "roots": [mth(leaves[:n]).hex() for n in range(len(leaves) + 1)],
        "signed": sign(**request["sign"]),
    }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
