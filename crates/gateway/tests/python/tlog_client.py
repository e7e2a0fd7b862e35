#!/usr/bin/env python3
"""An independent client of a c2sp.org/tlog-tiles log with tlog-witness cosignatures.

Written from the C2SP texts (tlog-tiles, tlog-checkpoint, signed-note, tlog-cosignature) and
RFC 9162, with only the standard library and `cryptography`; it shares no code with the Rust
gateway it checks. Reads one JSON object on stdin:

  {"prefix": "http://host/v1/audit", "log_vkey": str, "witness_vkeys": [str],
   "kept": str | null}            # a signed checkpoint fetched earlier

and prints {"size", "root_matches", "entries_match", "upper_tiles_match", "cosigned_by",
"extends_kept", "consistency_endpoint_ok", "tiles_fetched"}.
"""

import base64
import hashlib
import json
import struct
import sys
import urllib.error
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

EM_DASH = "\u2014"
WIDTH = 256


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


def parse_vkey(vkey, sig_type):
    name, hex_id, encoded = vkey.split("+", 2)
    key = b64(encoded)
    if len(key) != 33 or key[0] != sig_type:
        raise ValueError("not a key of type %d" % sig_type)
    kid = hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + key[1:]).digest()[:4]
    if kid.hex() != hex_id:
        raise ValueError("key ID mismatch")
    return name, kid, Ed25519PublicKey.from_public_bytes(key[1:])


def split_note(note):
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise ValueError("not a signed note")
    lines = signatures[:-1].split("\n")
    for line in lines:
        if not line.startswith(EM_DASH + " "):
            raise ValueError("bad signature line")
    return text + "\n", [line[2:].split(" ", 1) for line in lines]


def open_checkpoint(note, log_vkey):
    name, kid, public = parse_vkey(log_vkey, 0x01)
    text, signatures = split_note(note)
    verified = False
    for sig_name, encoded in signatures:
        raw = b64(encoded)
        if sig_name == name and raw[:4] == kid:
            public.verify(raw[4:], text.encode())
            verified = True
    if not verified:
        raise ValueError("no signature by the log key")
    lines = text.split("\n")
    if lines[0] != name:
        raise ValueError("origin is not the key name")
    return text, int(lines[1]), b64(lines[2])


def cosigned_by(note, witness_vkeys):
    """Witnesses whose cosignature/v1 (timestamped Ed25519, type 0x04) verifies."""
    text, signatures = split_note(note)
    found = []
    for vkey in witness_vkeys:
        name, kid, public = parse_vkey(vkey, 0x04)
        for sig_name, encoded in signatures:
            raw = b64(encoded)
            if sig_name != name or raw[:4] != kid:
                continue
            (timestamp,) = struct.unpack(">Q", raw[4:12])
            message = "cosignature/v1\ntime %d\n" % timestamp + text
            try:
                public.verify(raw[12:], message.encode())
                found.append(name)
            except InvalidSignature:
                pass
    return found


def index_path(n):
    groups = []
    while True:
        groups.append(n % 1000)
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join(("x%03d" if i < len(groups) - 1 else "%03d") % g for i, g in enumerate(groups))


class Log:
    def __init__(self, prefix):
        self.prefix = prefix.rstrip("/")
        self.fetched = 0

    def get(self, path):
        with urllib.request.urlopen(self.prefix + "/" + path, timeout=30) as response:
            self.fetched += 1
            return response.read(), response.headers

    def tile(self, level, index, width):
        path = "tile/%s/%s" % (level, index_path(index))
        if width < WIDTH:
            path += ".p/%d" % width
        body, headers = self.get(path)
        if "immutable" not in headers.get("Cache-Control", ""):
            raise ValueError("tile %s is not served as immutable" % path)
        return body

    def level0(self, size):
        """Every leaf hash of a tree of `size`, from level-0 tiles."""
        hashes = []
        for index in range((size + WIDTH - 1) // WIDTH):
            width = min(WIDTH, size - index * WIDTH)
            data = self.tile(0, index, width)
            if len(data) != 32 * width:
                raise ValueError("tile 0/%d has %d bytes" % (index, len(data)))
            hashes += [data[i : i + 32] for i in range(0, len(data), 32)]
        return hashes

    def entries(self, size):
        out = []
        for index in range((size + WIDTH - 1) // WIDTH):
            width = min(WIDTH, size - index * WIDTH)
            data = self.tile("entries", index, width)
            i = 0
            while i < len(data):
                (length,) = struct.unpack(">H", data[i : i + 2])
                out.append(data[i + 2 : i + 2 + length])
                i += 2 + length
        return out


def verify_consistency(m, n, proof, old_root, new_root):
    """RFC 9162 §2.1.4.2."""
    if m == n:
        return not proof and old_root == new_root
    if m == 0:
        return not proof
    if m & (m - 1) == 0:
        proof = [old_root] + proof
    if not proof:
        return False
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def main():
    args = json.load(sys.stdin)
    log = Log(args["prefix"])
    note = log.get("checkpoint")[0].decode()
    _, size, root = open_checkpoint(note, args["log_vkey"])
    leaves = log.level0(size)
    result = {"size": size, "root_matches": mth(leaves) == root}
    result["entries_match"] = [leaf_hash(e) for e in log.entries(size)] == leaves
    # Level 1: each hash is the MTH of a full level-0 tile.
    full = size // WIDTH
    upper = True
    if full:
        width = min(full, WIDTH)
        data = log.tile(1, 0, width)
        upper = all(
            data[32 * i : 32 * i + 32] == mth(leaves[i * WIDTH : (i + 1) * WIDTH]) for i in range(width)
        )
    result["upper_tiles_match"] = upper
    result["cosigned_by"] = cosigned_by(note, args.get("witness_vkeys", []))
    kept = args.get("kept")
    if kept:
        _, old_size, old_root = open_checkpoint(kept, args["log_vkey"])
        result["extends_kept"] = old_size <= size and mth(leaves[:old_size]) == old_root
        body = log.get("consistency?old=%d&new=%d" % (old_size, size))[0]
        proof = [b64(h) for h in json.loads(body)["proof"]]
        result["consistency_endpoint_ok"] = verify_consistency(old_size, size, proof, old_root, root)
    result["tiles_fetched"] = log.fetched
    # A tile past the checkpoint must not exist.
    try:
        log.tile(0, (size + WIDTH) // WIDTH, 1)
        result["serves_beyond_checkpoint"] = True
    except urllib.error.HTTPError as e:
        result["serves_beyond_checkpoint"] = e.code != 404
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
