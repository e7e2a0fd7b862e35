"""The LangGraph adapter with the real `langgraph` package, a SqliteSaver checkpointer and the
real gateway: the tool runs only after a verified approval of exactly this request, a forged
resume never runs it, and a restart of the Python process between the interrupt and the
decision loses nothing."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph.types import Command

from countersign import Client, DecisionVerificationError, DelegationRequest, ReceiptStatus
from countersign.langgraph import ApprovalGate, pending_requests, resume_with_decision

import lg_agent
from conftest import Gateway, Parties

HERE = Path(__file__).parent


@pytest.fixture()
def agent(gateway: Gateway, parties: Parties, tmp_path: Path, client):
    keys = tmp_path / "keys"
    keys.mkdir()
    for name in ("alice", "bookkeeper", "banking"):
        getattr(parties, name).save(keys / f"{name}.pem")
    marker = tmp_path / "payments.jsonl"
    graph = lg_agent.build(tmp_path / "checkpoints.db", keys, marker, client)
    config = {"configurable": {"thread_id": f"thread-{uuid.uuid4().hex[:8]}"}}
    graph.invoke({"invoice": lg_agent.INVOICE}, config)
    ((_, request, refused),) = pending_requests(graph, config)
    assert refused is None
    return graph, config, request, marker, keys


def payments(marker: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in marker.read_text().splitlines()] if marker.exists() else []


def test_the_graph_pauses_checkpointed_with_the_request(agent) -> None:
    graph, config, request, marker, _ = agent
    assert graph.get_state(config).next == ("pay",)
    assert request.action.tool.name == "pay_invoice" and request.action.arguments == lg_agent.INVOICE
    assert request.model.action.impact.tier.value == "critical"
    assert payments(marker) == []


def test_an_approval_from_the_gateway_runs_the_tool(agent, gateway: Gateway, client) -> None:
    graph, config, request, marker, _ = agent
    client.submit(request)
    gateway.reviewer.decide(request.request_id)
    result = resume_with_decision(graph, config, client, timeout=10)
    assert result["approval"]["decision"] == "approve" and result["approval"]["reviewer"] == "user:rita"
    assert result["tool_result"] == "paid EUR 1250.00 to ACME GmbH"
    assert payments(marker) == [lg_agent.INVOICE]
    assert graph.get_state(config).next == ()
    assert gateway.reviewer.record(request.request_id)["state"] == "approved"


def _still_waiting(graph, config, marker: Path, check: str) -> None:
    ((_, _, refused),) = pending_requests(graph, config)
    assert refused is not None and refused["check"] == check, refused
    assert graph.get_state(config).next == ("pay",)
    assert payments(marker) == []


def test_resumes_anyone_could_send_never_run_the_tool(agent, gateway: Gateway, parties: Parties, client) -> None:
    graph, config, request, marker, _ = agent
    client.submit(request)
    # A plain "approve", as a HITL UI would send it.
    graph.invoke(Command(resume="approve"), config)
    _still_waiting(graph, config, marker, "format")
    graph.invoke(Command(resume={"decision": "approve"}), config)
    _still_waiting(graph, config, marker, "format")
    # A real, gateway-accepted approval, but of another request.
    other = parties.payment()
    client.submit(other)
    graph.invoke(Command(resume=gateway.reviewer.decide(other.request_id)), config)
    _still_waiting(graph, config, marker, "request_id")
    # The enrolled reviewer's signature on this very request, but expired.
    expired = gateway.reviewer.decision_jws(request.request_id, exp=int(time.time()) - 3600,
                                            iat=int(time.time()) - 4000)
    graph.invoke(Command(resume=expired), config)
    _still_waiting(graph, config, marker, "exp")
    # Signed by a key the gateway does not publish.
    from countersign import KeyPair
    forged = KeyPair.generate().sign_jws("delegation-decision+jwt", {"request_id": request.request_id})
    graph.invoke(Command(resume=forged), config)
    _still_waiting(graph, config, marker, "kid")
    # Then the real decision still goes through.
    gateway.reviewer.decide(request.request_id)
    result = resume_with_decision(graph, config, client, timeout=10)
    assert result["tool_result"] and payments(marker) == [lg_agent.INVOICE]


def test_a_verified_rejection_never_runs_the_tool(agent, gateway: Gateway, client) -> None:
    graph, config, request, marker, _ = agent
    client.submit(request)
    gateway.reviewer.decide(request.request_id, "reject")
    result = resume_with_decision(graph, config, client, timeout=10)
    assert result["approval"]["decision"] == "reject" and result["tool_result"] is None
    assert payments(marker) == []
    assert graph.get_state(config).next == ()


def test_survives_a_process_restart_between_interrupt_and_decision(gateway: Gateway, parties: Parties,
                                                                   tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    for name in ("alice", "bookkeeper", "banking"):
        getattr(parties, name).save(keys / f"{name}.pem")
    db, marker, thread = tmp_path / "checkpoints.db", tmp_path / "payments.jsonl", "restart-thread"
    from conftest import AUDIENCE

    def run(mode: str) -> dict[str, Any]:
        done = subprocess.run([sys.executable, str(HERE / "lg_agent.py"), mode, str(db), thread, str(keys),
                               str(marker), gateway.url, gateway.token, AUDIENCE],
                              capture_output=True, text=True, timeout=120, cwd=HERE)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    started = run("start")  # process 1: runs to the interrupt, submits, exits
    assert payments(marker) == []
    gateway.reviewer.decide(started["request_id"])
    resumed = run("resume")  # process 2: a fresh interpreter, same SQLite checkpoint
    assert resumed == {"approval": "approve", "tool_result": "paid EUR 1250.00 to ACME GmbH"}
    assert payments(marker) == [lg_agent.INVOICE]


def test_the_runner_refuses_to_loop_on_a_decision_the_node_refuses(agent, gateway: Gateway, client) -> None:
    """If the node refuses even the gateway's decision (here: the node's clock says it is
    expired), the runner raises instead of resuming forever."""
    graph, config, request, marker, _ = agent
    client.submit(request)
    gateway.reviewer.decide(request.request_id)
    from countersign.langgraph import ApprovalGate
    real_verify = ApprovalGate.verify

    def late(self, value, req):  # the node's verification with a clock two hours ahead
        from countersign import verify_decision
        return verify_decision(value, self.client.keys(), audience=self.client.audience,
                               subject=req.subject, now=time.time() + 7200) if isinstance(value, str) else real_verify(self, value, req)

    ApprovalGate.verify = late
    try:
        with pytest.raises(DecisionVerificationError) as refused:
            resume_with_decision(graph, config, client, timeout=10)
        assert refused.value.check == "exp"
    finally:
        ApprovalGate.verify = real_verify
    assert payments(marker) == []


def _failing_client(failure: BaseException) -> Client:
    def fail(req: httpx.Request) -> httpx.Response:
        raise failure

    return Client("http://gateway.invalid", "cswf_x", http=httpx.Client(transport=httpx.MockTransport(fail)))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("client", [
    lambda: Client("http://[::1", "cswf_x"),
    lambda: _failing_client(ConnectionResetError("reset by peer")),
    lambda: _failing_client(TimeoutError("timed out")),
    lambda: _failing_client(httpx.ReadTimeout("slow")),
    lambda: Client(f"http://127.0.0.1:{_closed_port()}", "cswf_x", timeout=2),
], ids=["invalid-url", "oserror-from-transport", "timeout-from-transport", "httpx-error", "nothing-listening"])
def test_a_receipt_that_cannot_be_delivered_is_logged_never_raised(
        parties: Parties, client, caplog: pytest.LogCaptureFixture) -> None:
    request = parties.payment()
    with caplog.at_level(logging.WARNING, logger="countersign.langgraph"):
        ApprovalGate(client()).receipt(request, ReceiptStatus.EXECUTED, "paid", {"transfer": "tx-1"})
    assert f"could not post the receipt for {request.request_id}" in caplog.text


def test_a_programming_error_while_posting_a_receipt_is_raised(parties: Parties) -> None:
    with pytest.raises(TypeError, match="a bug"):
        ApprovalGate(_failing_client(TypeError("a bug"))).receipt(parties.payment(), ReceiptStatus.EXECUTED, "paid")
    with pytest.raises(ValueError):
        ApprovalGate(Client("http://gateway.invalid", "cswf_x")).receipt(parties.payment(), "paid-ish", "unknown status")
