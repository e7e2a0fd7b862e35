"""Keys: the files `countersign keygen` writes load here, files written here work with the
CLI, thumbprints are RFC 7638, and the DER reader refuses anything but an Ed25519 PKCS#8 key."""

from __future__ import annotations

import base64
import json
import stat
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from countersign import KeyPair, PublicKey, thumbprint_of_jwk
from countersign._der import DerError, parse_ed25519_pkcs8
from countersign.decision import KeySet
from countersign.digest import b64url
from countersign.keys import KeyError_

from conftest import run_cli


def test_rfc8037_thumbprint_vector() -> None:
    # RFC 8037 appendix A.3: the thumbprint of the RFC 8032 test key.
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert thumbprint_of_jwk(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert PublicKey.from_jwk(jwk).thumbprint == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_keygen_file_loads_with_the_same_jwk_and_thumbprint(cli: str, tmp_path) -> None:
    printed = json.loads(run_cli(cli, "keygen", "--out", str(tmp_path / "k.pem")).stdout)
    key = KeyPair.load(tmp_path / "k.pem")
    assert key.jwk() == printed["jwk"]
    assert key.thumbprint == printed["thumbprint"]


def test_saved_key_is_keygen_layout_mode_0600_and_signs_with_the_cli(cli: str, tmp_path) -> None:
    key = KeyPair.generate()
    key.save(tmp_path / "mine.pem")
    assert stat.S_IMODE((tmp_path / "mine.pem").stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        key.save(tmp_path / "mine.pem")
    run_cli(cli, "keygen", "--out", str(tmp_path / "theirs.pem"))
    ours, theirs = (parse_ed25519_pkcs8(base64.b64decode("".join(
        (tmp_path / n).read_text().splitlines()[1:-1]))) for n in ("mine.pem", "theirs.pem"))
    # Both PKCS#8 v1 (RFC 8410): the seed alone, as OpenSSL and `cryptography` read it.
    assert (ours.version, ours.public_key is not None) == (theirs.version, theirs.public_key is not None) == (0, False)
    assert (tmp_path / "mine.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    # The CLI signs a hop with the file this SDK wrote; the SDK's public key verifies it.
    claims = tmp_path / "claims.json"
    claims.write_text(json.dumps({"iss": "a", "sub": "b", "jti": "j", "iat": 1, "exp": 2, "txn": "t",
                                  "principal": "a", "hop": 0, "max_depth": 0,
                                  "cnf": {"jkt": key.thumbprint}}))
    jws = run_cli(cli, "sign-hop", "--claims", str(claims), "--key", str(tmp_path / "mine.pem")).stdout.strip()
    assert jwt.get_unverified_header(jws)["kid"] == key.thumbprint
    decoded = jwt.decode(jws, key.public.key, algorithms=["EdDSA"], options={"verify_exp": False})
    assert decoded["sub"] == "b"


def test_pkcs8_v1_from_cryptography_loads() -> None:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    assert KeyPair.from_pem(pem).thumbprint == KeyPair(private).thumbprint


def _der_of(key: KeyPair) -> bytes:
    """The key in the v2 layout (public key embedded), whose every part the reader checks."""
    from countersign._der import encode_ed25519_pkcs8_v2
    private = key._private  # noqa: SLF001 (the test needs the raw seed)
    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return encode_ed25519_pkcs8_v2(seed, public)


def _pem(der: bytes) -> str:
    return "-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PRIVATE KEY-----\n"


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d[:-1], "truncated"),
    (lambda d: d + b"\x00", "follow"),
    (lambda d: d[:11] + b"\x71" + d[12:], "not an Ed25519"),               # OID 1.3.101.113 (Ed448)
    (lambda d: d[:4] + b"\x00" + d[5:], "needs PKCS#8 v2"),               # v1 with a public key
    (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "does not belong"),           # public key of another seed
    (lambda d: b"\x30\x80" + d[2:], "indefinite"),
    (lambda d: d[:2] + b"\x02\x01\x02" + d[5:], "version"),
])
def test_malformed_keys_are_refused(mutate, message: str) -> None:
    der = _der_of(KeyPair.generate())
    with pytest.raises(KeyError_, match=message):
        KeyPair.from_pem(_pem(mutate(der)))


def test_der_reader_refuses_non_minimal_lengths() -> None:
    der = _der_of(KeyPair.generate())
    with pytest.raises(DerError, match="minimally"):
        parse_ed25519_pkcs8(b"\x30\x81" + der[1:2] + der[2:])


def test_key_repr_never_shows_the_private_key() -> None:
    key = KeyPair.generate()
    assert key.thumbprint in repr(key) and "PRIVATE" not in repr(key)
    assert set(key.jwk()) == {"crv", "kty", "x", "kid"}


def test_a_key_file_in_the_older_pkcs8_v2_layout_is_still_read() -> None:
    """`countersign keygen` wrote RFC 5958 v2 (the public key embedded) before it wrote v1;
    `cryptography` refuses that form, so the SDK's strict reader takes it."""
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
    from countersign._der import encode_ed25519_pkcs8_v2
    key = KeyPair.generate()
    private = key._private  # noqa: SLF001 (the test needs the raw seed)
    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    body = base64.b64encode(encode_ed25519_pkcs8_v2(seed, public)).decode("ascii")
    pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(body[i:i + 64] for i in range(0, len(body), 64)) \
        + "\n-----END PRIVATE KEY-----\n"
    assert KeyPair.from_pem(pem.encode("ascii")).thumbprint == key.thumbprint


RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"  # RFC 8037 A.2 (32 bytes, canonical)


@pytest.mark.parametrize("x", [
    "+" + RFC8037_X[1:],                                            # standard base64's alphabet
    RFC8037_X.replace("_", "/"),
    RFC8037_X[:10] + "!!!!" + RFC8037_X[10:],                       # silently dropped before
    RFC8037_X[:10] + "!" + RFC8037_X[10:],
    RFC8037_X[:10] + " " + RFC8037_X[10:],
    RFC8037_X[:10] + "." + RFC8037_X[10:],
    RFC8037_X + "\n",
    RFC8037_X + "=",                                                # padding
    RFC8037_X[:-1] + "p",                                           # unused bits not zero: same bytes
    RFC8037_X[:-1],                                                 # 31 bytes and change
    RFC8037_X + "A",                                                # 44 characters: 33 bytes
    RFC8037_X + "AAAA",                                             # 35 bytes
    "",
    "A",
    "é" * 43,
    None,
    12,
])
def test_jwk_x_is_read_as_strict_base64url_of_32_bytes(x: Any) -> None:
    with pytest.raises(KeyError_):
        PublicKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": x})
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": x}
    assert len(KeySet([jwk])) == 0  # a malformed key is never trusted


def test_the_canonical_x_still_reads() -> None:
    key = PublicKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X})
    assert key.jwk(with_kid=False)["x"] == RFC8037_X
    assert len(KeySet([key.jwk()])) == 1


def test_an_ec_key_with_non_canonical_coordinates_is_not_trusted() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    x, y = (b64url(n.to_bytes(32, "big")) for n in (numbers.x, numbers.y))
    good = {"kty": "EC", "crv": "P-256", "x": x, "y": y}
    assert len(KeySet([good])) == 1
    for bad in ({**good, "x": x + "="}, {**good, "y": y[:4] + "!!!!" + y[4:]}, {**good, "x": "+" + x[1:]},
                {**good, "y": "/" + y[1:]}):
        assert len(KeySet([bad])) == 0


@pytest.mark.parametrize("pem", [
    b"\xff\xfe-----BEGIN PRIVATE KEY-----\n",
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\u00e9\n-----END PRIVATE KEY-----\n".encode("utf-8"),
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\u00e9\n-----END PRIVATE KEY-----\n",
    "-----BEGIN PRIVATE KEY-----\u00a0\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
])
def test_a_key_file_that_is_not_ascii_is_a_key_error(pem: str | bytes, tmp_path) -> None:
    with pytest.raises(KeyError_, match="ASCII"):
        KeyPair.from_pem(pem)
    path = tmp_path / "key.pem"
    path.write_bytes(pem if isinstance(pem, bytes) else pem.encode("utf-8"))
    with pytest.raises(KeyError_):
        KeyPair.load(path)
