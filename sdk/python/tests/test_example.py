"""examples/python/pay_invoice_langgraph.py runs against a real gateway: `keys` merges its
parties into the trust store the gateway is running with (refusing to change a party with other
keys unless --replace, and replacing the file whole), `run` refuses a gateway of another
audience before it submits anything, prints its thread, stops cleanly on Ctrl-C and picks the
same request up again with the same --thread; the approval resumes the graph, which pays."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from conftest import AUDIENCE, REPO, Gateway, start_gateway

from countersign import KeyPair, TrustStore

EXAMPLE = REPO / "examples" / "python" / "pay_invoice_langgraph.py"
OURS = ("user:ap-alice", "agent:ap-bookkeeper", "agent:ap-banking")


def example(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True, text=True,
                          timeout=60, env=env)


def keys(tmp: Path, trust: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return example("keys", "--dir", str(tmp / "keys"), "--trust", str(trust), *extra)


def their_trust(path: Path, *identities: str) -> dict[str, Any]:
    """A trust store with parties of its own (each with a new key), written to `path`."""
    store = TrustStore()
    for identity in identities:
        store.add(identity, "agent", f"{identity} (theirs)", KeyPair.generate().jwk())
    wire = store.to_wire()
    path.write_text(json.dumps(wire, indent=2) + "\n")
    return wire


def agent_env(gateway: Gateway, audience: str = AUDIENCE) -> dict[str, str]:
    return dict(os.environ, COUNTERSIGN_GATEWAY_URL=gateway.url, COUNTERSIGN_WORKFLOW_TOKEN=gateway.token,
                COUNTERSIGN_AUDIENCE=audience)


def eventually(what: str, check: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds}s: {what}"
        time.sleep(0.1)


def trusted(gateway: Gateway) -> dict[str, Any]:
    got = gateway.reviewer.console("GET", "/v1/trust")
    assert got.status_code == 200, got.text
    return got.json()["parties"]


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def start_agent(tmp: Path, gateway: Gateway, thread: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(EXAMPLE), "run", "--dir", str(tmp / "keys"),
                             "--db", str(tmp / "agent.db"), "--thread", thread, "--timeout", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=agent_env(gateway))


def waiting_for(agent: subprocess.Popen[str], thread: str) -> str:
    """The request id of the agent's waiting line, which names its thread."""
    first = agent.stdout.readline()
    assert first.startswith("waiting for a countersignature on "), first + agent.stderr.read()
    assert first.rstrip().endswith(f"; thread {thread}"), first
    return first.split(" on ")[1].split(":")[0]


def test_the_example_merges_its_parties_waits_across_ctrl_c_and_pays_once_approved(cli: str, tmp_path: Path) -> None:
    trust = tmp_path / "trust.json"
    # The console demo's own agents: the example's parties are not these, so nothing clashes.
    theirs = their_trust(trust, "agent:bookkeeper", "agent:banking")
    (tmp_path / "gw").mkdir()
    gateways = start_gateway(tmp_path / "gw", trust, cli)
    gateway = next(gateways)
    try:
        merged = keys(tmp_path, trust)
        assert merged.returncode == 0, merged.stderr
        for identity in OURS:
            assert f"added: {identity}" in merged.stdout, merged.stdout
        store = json.loads(trust.read_text())
        assert set(store["parties"]) == set(theirs["parties"]) | set(OURS)
        for identity, party in theirs["parties"].items():
            assert store["parties"][identity] == party  # the demo's own parties are untouched
        # The running gateway takes the merged file without a restart.
        eventually("the gateway trusts the example's parties", lambda: set(OURS) <= set(trusted(gateway)))

        thread = "invoice-test-4711"
        agent = start_agent(tmp_path, gateway, thread)
        try:
            request_id = waiting_for(agent, thread)
            record = gateway.reviewer.record(request_id)
            assert record["state"] == "pending" and record["tier"] == "critical"
            assert record["request"]["action"]["summary"] == "Pay ACME GmbH EUR 1,250.00 (invoice 4711)"
            agent.send_signal(signal.SIGINT)
            out, err = agent.communicate(timeout=30)
        finally:
            agent.kill()
        assert agent.returncode == 130, err
        assert f"stopped; run the same command again (with --thread {thread}) to keep waiting" in err
        assert "Traceback" not in err, err

        agent = start_agent(tmp_path, gateway, thread)
        try:
            assert waiting_for(agent, thread) == request_id  # the same request, from the checkpoint
            gateway.reviewer.decide(request_id)
            out, err = agent.communicate(timeout=60)
        finally:
            agent.kill()
        assert agent.returncode == 0, err
        assert "approve by user:rita" in out and "PAID EUR 1250.00 to ACME GmbH (invoice 4711)" in out
    finally:
        gateways.close()


def test_keys_refuses_to_change_a_party_with_other_keys_unless_replace(cli: str, tmp_path: Path) -> None:
    trust = tmp_path / "trust.json"
    theirs = their_trust(trust, "agent:ap-banking", "agent:banking")
    trust.chmod(0o640)
    (tmp_path / "gw").mkdir()
    gateways = start_gateway(tmp_path / "gw", trust, cli)
    gateway = next(gateways)
    try:
        before, inode = trust.read_bytes(), trust.stat().st_ino
        refused = keys(tmp_path, trust)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "agent:ap-banking" in refused.stderr and "--replace" in refused.stderr, refused.stderr
        assert "nothing written" in refused.stderr
        assert trust.read_bytes() == before and trust.stat().st_ino == inode
        assert leftovers(tmp_path) == []

        replaced = keys(tmp_path, trust, "--replace")
        assert replaced.returncode == 0, replaced.stderr
        assert "replaced: agent:ap-banking" in replaced.stdout, replaced.stdout
        assert "added: agent:ap-bookkeeper" in replaced.stdout and "added: user:ap-alice" in replaced.stdout
        # Replaced whole (a new file renamed over the old one), with the old file's mode.
        assert trust.stat().st_ino != inode and stat.S_IMODE(trust.stat().st_mode) == 0o640
        assert leftovers(tmp_path) == []
        store = json.loads(trust.read_text())
        ours = KeyPair.load(tmp_path / "keys" / "banking.pem").jwk()
        assert store["parties"]["agent:ap-banking"]["keys"] == [ours]
        assert store["parties"]["agent:banking"] == theirs["parties"]["agent:banking"]
        eventually("the gateway trusts the replaced key",
                   lambda: trusted(gateway).get("agent:ap-banking", {}).get("keys") == [ours])

        # Again: nothing to change, so the file is not touched.
        after, inode = trust.read_bytes(), trust.stat().st_ino
        again = keys(tmp_path, trust)
        assert again.returncode == 0, again.stderr
        assert all(f"already there: {identity}" in again.stdout for identity in OURS), again.stdout
        assert trust.read_bytes() == after and trust.stat().st_ino == inode
    finally:
        gateways.close()


def test_keys_refuses_a_file_that_is_not_a_trust_store(tmp_path: Path) -> None:
    trust = tmp_path / "trust.json"
    trust.write_text('{"keys": []}\n')
    done = keys(tmp_path, trust)
    assert done.returncode == 2 and "not a trust store" in done.stderr, done.stderr
    assert trust.read_text() == '{"keys": []}\n' and leftovers(tmp_path) == []


def test_the_example_refuses_a_gateway_of_another_audience_before_submitting(cli: str, tmp_path: Path) -> None:
    created = keys(tmp_path, tmp_path / "trust.json")
    assert created.returncode == 0, created.stderr
    assert all(f"added: {identity}" in created.stdout for identity in OURS), created.stdout
    assert set(json.loads((tmp_path / "trust.json").read_text())["parties"]) == set(OURS)
    (tmp_path / "gw").mkdir()
    gateways = start_gateway(tmp_path / "gw", tmp_path / "trust.json", cli)
    gateway = next(gateways)
    try:
        done = example("run", "--dir", str(tmp_path / "keys"), "--db", str(tmp_path / "agent.db"),
                       "--thread", "invoice-4711", "--timeout", "10",
                       env=agent_env(gateway, audience="countersign-gateway"))
        assert done.returncode == 2, done.stdout + done.stderr
        assert repr(AUDIENCE) in done.stderr and "'countersign-gateway'" in done.stderr, done.stderr
        assert f"COUNTERSIGN_AUDIENCE={AUDIENCE}" in done.stderr and "Traceback" not in done.stderr
        assert not (tmp_path / "agent.db").exists()
        queue = gateway.reviewer.console("GET", "/v1/queue").json()
        history = gateway.reviewer.console("GET", "/v1/history").json()
        assert queue["requests"] == [] and history["requests"] == [], (queue, history)
    finally:
        gateways.close()


def test_the_audience_is_read_from_the_log_key_whose_base64_may_have_a_plus() -> None:
    spec = importlib.util.spec_from_file_location("pay_invoice_langgraph", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    read = module.audience_of_log_key
    assert read("countersign-embedded-demo/audit+07148c56+Affqpmxl62Ud386N4+In58NQM30dp9QrsVg2vkuOPswB\n") \
        == "countersign-embedded-demo"
    assert read("countersign-sdk-tests/audit+cc277bd9+AYv9fW3LL2pzv6rE13Kg4yi/DPObKNgJ3vRHbBjcz+DL") \
        == "countersign-sdk-tests"
    assert read("witness.example/w1+0a1b2c3d+AAAA") is None and read("") is None
