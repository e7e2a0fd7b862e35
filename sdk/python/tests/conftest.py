"""Fixtures: the real `countersign` and `countersign-gateway` binaries, a gateway on loopback
with a fresh SQLite database, the parties of a supplier-payment chain in its trust store, and
an enrolled reviewer who signs decisions and console tokens with their own Ed25519 key (as the
wire contract says the console does).

The binaries are found in $COUNTERSIGN_BIN_DIR, else ${CARGO_TARGET_DIR:-<repo>/target}/debug.
A missing binary FAILS the run: these tests never skip.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from countersign import (
    Client, Delegation, DelegationRequest, KeyPair, TrustStore, action, evidence, uncertainty,
)

REPO = Path(__file__).resolve().parents[3]
AUDIENCE = "countersign-sdk-tests"


def bin_dir() -> Path:
    explicit = os.environ.get("COUNTERSIGN_BIN_DIR")
    if explicit:
        return Path(explicit)
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target")
    return Path(target) / "debug"


def binary(name: str) -> str:
    path = bin_dir() / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{name} not found at {path}: build it (cargo build -p countersign-cli "
                    f"-p countersign-gateway) or set COUNTERSIGN_BIN_DIR", pytrace=False)
    return str(path)


@pytest.fixture(scope="session")
def cli() -> str:
    return binary("countersign")


def run_cli(cli: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([cli, *args], capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"countersign {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done


def cli_verify(cli: str, tmp: Path, request: dict[str, Any] | str, trust: Path,
               at: str | None = None) -> tuple[int, dict[str, Any]]:
    """`countersign verify` of a request; (exit code, report)."""
    path = tmp / f"request-{uuid.uuid4().hex[:8]}.json"
    path.write_text(request if isinstance(request, str) else json.dumps(request))
    args = ["verify", str(path), "--trust", str(trust)] + (["--at", at] if at else [])
    done = run_cli(cli, *args, check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


@dataclass
class Parties:
    """Alice pays invoices; her bookkeeper agent delegates to a banking agent."""

    dir: Path
    alice: KeyPair
    bookkeeper: KeyPair
    banking: KeyPair
    clerk: KeyPair
    trust_path: Path

    def grant(self, max_amount: str = "5000.00", max_depth: int = 2, ttl: int = 3600) -> Delegation:
        return Delegation.issue(
            principal="user:alice", key=self.alice, to="agent:bookkeeper", to_key=self.bookkeeper,
            scope=[{"type": "payments.transfer", "actions": ["initiate", "read"],
                    "locations": ["acct:ops", "acct:payroll"],
                    "constraints": {"max_amount": max_amount, "currency": "EUR"}}],
            purpose={"id": "ap:supplier-invoices", "text": "Pay approved supplier invoices"},
            max_depth=max_depth, ttl_seconds=ttl)

    def chain(self, max_amount: str = "1250.00") -> Delegation:
        return self.grant().delegate(
            key=self.bookkeeper, to="agent:banking", to_key=self.banking,
            scope=[{"type": "payments.transfer", "actions": ["initiate"], "locations": ["acct:ops"],
                    "constraints": {"max_amount": max_amount, "currency": "EUR"}}])

    def payment(self, delegation: Delegation | None = None, amount: str = "1250.00",
                **build: Any) -> DelegationRequest:
        delegation = delegation or self.chain()
        invoice = evidence(id="invoice-4711", kind="source", produced_by="agent:bookkeeper",
                           title="Invoice 4711 from ACME GmbH",
                           content=f"Invoice 4711 — ACME GmbH — EUR {amount} — due 2026-12-31")
        return DelegationRequest.build(
            delegation=delegation,
            action=action(type="payments.transfer", operation="initiate", resource="acct:ops",
                          arguments={"amount": amount, "currency": "EUR", "payee": "ACME GmbH",
                                     "invoice": "4711"},
                          requested_by=delegation.leaf.sub, summary=f"Pay ACME GmbH EUR {amount}",
                          tier="critical", reversible=False, value=(amount, "EUR"), tool="pay_invoice"),
            evidence=[invoice], uncertainty=uncertainty(0.9, "model self-report",
                                                        assumptions=["the invoice is genuine"]),
            **build)


@pytest.fixture(scope="session")
def parties(tmp_path_factory: pytest.TempPathFactory) -> Parties:
    tmp = tmp_path_factory.mktemp("parties")
    keys = {name: KeyPair.generate() for name in ("alice", "bookkeeper", "banking", "clerk")}
    trust = (TrustStore()
             .add("user:alice", "human", "Alice Payer", keys["alice"].jwk())
             .add("agent:bookkeeper", "agent", "Bookkeeper agent", keys["bookkeeper"].jwk())
             .add("agent:banking", "agent", "Banking agent", keys["banking"].jwk())
             .add("agent:clerk", "agent", "Clerk agent", keys["clerk"].jwk()))
    trust_path = tmp / "trust.json"
    trust_path.write_text(json.dumps(trust.to_wire(), indent=2))
    return Parties(dir=tmp, trust_path=trust_path, **keys)


class Reviewer:
    """An enrolled reviewer: console tokens and decisions signed with their own key."""

    def __init__(self, identity: str, key: KeyPair, base_url: str) -> None:
        self.identity, self.key, self.base_url = identity, key, base_url

    def console_token(self) -> str:
        now = int(time.time())
        return self.key.sign_jws("countersign-console+jwt", {
            "iss": self.identity, "aud": AUDIENCE, "iat": now, "exp": now + 120,
            "jti": str(uuid.uuid4())})

    def console(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.base_url + path, timeout=30,
                             headers={"Authorization": f"Bearer {self.console_token()}"}, **kwargs)

    def record(self, request_id: str) -> dict[str, Any]:
        got = self.console("GET", f"/v1/requests/{request_id}")
        assert got.status_code == 200, got.text
        return got.json()

    def decision_jws(self, request_id: str, decision: str = "approve", **override: Any) -> str:
        record = self.record(request_id)
        report = record["report"]
        now = int(time.time())
        claims = {
            "iss": self.identity, "aud": AUDIENCE, "jti": str(uuid.uuid4()), "iat": now,
            "exp": now + 600, "txn": record["txn"], "request_id": record["request_id"],
            "request_digest": report["request_digest"], "chain_digest": report["chain_digest"],
            "action_digest": report["action_digest"], "decision": decision,
            "reason": f"{ {'approve': 'approved'}.get(decision, 'rejected')} by the SDK test reviewer after checking the invoice",
            "flags_acknowledged": sorted({f["code"] for f in report["findings"]}),
            "policy": record.get("policy") or {"id": "default", "version": "1"},
        }
        claims.update(override)
        return self.key.sign_jws("delegation-decision+jwt", claims)

    def decide(self, request_id: str, decision: str = "approve") -> str:
        jws = self.decision_jws(request_id, decision)
        posted = self.console("POST", f"/v1/requests/{request_id}/decisions", json={"decision_jws": jws})
        assert posted.status_code == 201, posted.text
        return jws


@dataclass
class Gateway:
    url: str
    token: str
    reviewer: Reviewer
    dir: Path
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, **kwargs: Any) -> Client:
        return Client(self.url, self.token, audience=AUDIENCE, **kwargs)


def start_gateway(tmp: Path, trust: Path, cli: str) -> Iterator[Gateway]:
    gw = binary("countersign-gateway")
    db = tmp / "gateway.db"
    token = subprocess.run([gw, "workflow", "add", "sdk-tests", "--database", str(db)],
                           check=True, capture_output=True, text=True).stdout.strip()
    assert token.startswith("cswf_"), token
    reviewer_pem = tmp / "rita.pem"
    printed = run_cli(cli, "keygen", "--out", str(reviewer_pem)).stdout
    (tmp / "rita.json").write_text(printed)
    subprocess.run([gw, "reviewer", "enrol", "--identity", "user:rita", "--name", "Rita Reviewer",
                    "--roles", "reviewer,supervisor", "--tiers", "low,medium,high,critical",
                    "--jwk", f"@{tmp / 'rita.json'}", "--database", str(db)],
                   check=True, capture_output=True)
    log = tmp / "gateway.log"
    process = subprocess.Popen(
        [gw, "serve", "--database", str(db), "--listen", "127.0.0.1:0", "--trust", str(trust),
         "--key", str(tmp / "gateway-key.pem"), "--audience", AUDIENCE],
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    addr = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and addr is None:
        match = re.search(r"gateway listening addr=([0-9.:]+)", log.read_text(errors="replace"))
        if match:
            addr = match.group(1)
        elif process.poll() is not None:
            break
        else:
            time.sleep(0.05)
    if addr is None:
        process.kill()
        pytest.fail(f"the gateway did not start:\n{log.read_text(errors='replace')}", pytrace=False)
    url = f"http://{addr}"
    try:
        yield Gateway(url=url, token=token, reviewer=Reviewer("user:rita", KeyPair.load(reviewer_pem), url),
                      dir=tmp, process=process, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory, parties: Parties, cli: str) -> Iterator[Gateway]:
    yield from start_gateway(tmp_path_factory.mktemp("gateway"), parties.trust_path, cli)


@pytest.fixture()
def client(gateway: Gateway) -> Iterator[Client]:
    with gateway.client() as c:
        yield c


def python() -> str:
    return sys.executable
