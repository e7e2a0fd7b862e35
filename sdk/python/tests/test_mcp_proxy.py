"""`countersign mcp-proxy` in front of a real upstream MCP server (the official Python SDK's
`MCPServer`), driven by the official Python MCP client, against the real gateway: the upstream
sees a guarded call exactly once, only after a reviewer's approval, with the approved
arguments; a reject, an expiry, other arguments, a second use of an approval, a forged chain
and a gateway that cannot be reached each leave it untouched. Unguarded calls pass through.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import httpx2
import pytest

from conftest import AUDIENCE, REPO, Gateway, Parties, binary

from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

sys.path.insert(0, str(REPO / "crates/gateway/tests/python"))
from mcp_client import Tasks  # noqa: E402  (the Tasks extension, client side)

HERE = Path(__file__).resolve().parent
CLIENT_TOKEN = "proxy-client-credential"


def proxied(url: str):
    """The Streamable HTTP transport to the proxy, with its client credential."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {CLIENT_TOKEN}"}, timeout=120)
    return streamable_http_client(url, http_client=http)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited early:\n{log.read_text(errors='replace')}", pytrace=False)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"nothing listens on {port}:\n{log.read_text(errors='replace')}", pytrace=False)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Upstream:
    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log = url, log

    def calls(self, tool: str) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        lines = [json.loads(line) for line in self.log.read_text().splitlines() if line]
        return [line["arguments"] for line in lines if line["tool"] == tool]


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    tmp = tmp_path_factory.mktemp("upstream")
    port = free_port()
    log = tmp / "server.log"
    process = subprocess.Popen([sys.executable, str(HERE / "mcp_upstream.py"), str(port),
                                str(tmp / "calls.jsonl")],
                               stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process, log)
        yield Upstream(f"http://127.0.0.1:{port}/mcp", tmp / "calls.jsonl")
    finally:
        stop(process)


def policy_file(tmp: Path, parties: Parties, expires_in: int = 600) -> Path:
    (tmp / "alice.pem").write_text(parties.alice.to_pem())
    (tmp / "bookkeeper.json").write_text(json.dumps(parties.bookkeeper.jwk()))
    policy = tmp / "proxy.toml"
    policy.write_text(f'''
server = "invoices"
audience = "{AUDIENCE}"
expires_in_seconds = {expires_in}

[[tool]]
name = "pay_invoice"
tier = "high"
action_type = "payments.transfer"
operation = "initiate"
resource_argument = "account"
summary = "Pay a supplier invoice"

[grant]
principal = "user:alice"
key = "alice.pem"
agent = "agent:bookkeeper"
agent_jwk = "bookkeeper.json"
purpose_id = "ap:supplier-invoices"
purpose_text = "Pay approved supplier invoices"
''')
    return policy


def start_proxy(tmp: Path, policy: Path, upstream: Upstream, gateway_url: str,
                token: str) -> Iterator[str]:
    port = free_port()
    log = tmp / "proxy.log"
    process = subprocess.Popen(
        [binary("countersign"), "mcp-proxy", "--upstream", upstream.url, "--policy", str(policy),
         "--gateway", gateway_url, "--token", token, "--listen", f"127.0.0.1:{port}",
         "--client-token", CLIENT_TOKEN],
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process, log)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop(process)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, parties: Parties, gateway: Gateway,
          upstream: Upstream) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("proxy")
    yield from start_proxy(tmp, policy_file(tmp, parties), upstream, gateway.url, gateway.token)


def payment(invoice: str, amount: str = "1250.00") -> dict[str, str]:
    return {"invoice": invoice, "amount": amount, "currency": "EUR", "payee": "ACME GmbH",
            "account": "acct:ops"}


def pending_ids(gateway: Gateway) -> set[str]:
    queue = gateway.reviewer.console("GET", "/v1/queue").json()
    return {r["request_id"] for r in queue["requests"]}


async def new_request(gateway: Gateway, before: set[str]) -> dict[str, Any]:
    """The request the proxy just submitted, as the reviewer reads it."""
    for _ in range(400):
        fresh = pending_ids(gateway) - before
        if fresh:
            (request_id,) = fresh
            return gateway.reviewer.record(request_id)
        await asyncio.sleep(0.05)
    raise AssertionError("the proxy submitted no request")


async def call(url: str, tool: str, arguments: dict[str, Any], *, tasks: bool = False,
               legacy: bool = False, meta: dict[str, Any] | None = None):
    extensions = [Tasks(cancel=False)] if tasks else None
    async with Client(proxied(url), extensions=extensions, read_timeout_seconds=120,
                      mode="legacy" if legacy else "auto") as client:
        return await client.call_tool(tool, arguments, meta=meta)


def text(result) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


def decided(gateway: Gateway, url: str, tool: str, arguments: dict[str, Any], decision: str,
            **how: Any):
    """Calls through the proxy while the reviewer decides the request it made."""

    async def run():
        before = pending_ids(gateway)
        running = asyncio.create_task(call(url, tool, arguments, **how))
        record = await new_request(gateway, before)
        assert not running.done(), "the call must wait for the reviewer"
        gateway.reviewer.decide(record["request_id"], decision)
        return record, await running

    return asyncio.run(run())


def test_an_unguarded_call_passes_through_untouched(proxy: str, upstream: Upstream,
                                                    gateway: Gateway) -> None:
    before = pending_ids(gateway)
    result = asyncio.run(call(proxy, "lookup_invoice", {"invoice": "1001"}))
    assert not result.is_error
    assert "ACME GmbH" in text(result)
    assert upstream.calls("lookup_invoice")[-1] == {"invoice": "1001"}
    assert pending_ids(gateway) == before, "nothing asked of a reviewer"


def test_an_approved_task_reaches_the_upstream_once_with_the_approved_arguments(
        proxy: str, upstream: Upstream, gateway: Gateway) -> None:
    arguments = payment("2001")
    record, result = decided(gateway, proxy, "pay_invoice", arguments, "approve", tasks=True)
    assert not result.is_error, text(result)
    assert "paid EUR 1250.00 to ACME GmbH" in text(result)
    assert upstream.calls("pay_invoice").count(arguments) == 1
    # What the reviewer approved is this call: its tool, its arguments, under the grant.
    request = record["request"]
    assert request["action"]["arguments"] == arguments
    assert request["action"]["tool"] == {"name": "pay_invoice", "server": "invoices"}
    assert request["action"]["impact"]["tier"] == "high"
    assert request["principal"] == "user:alice"
    assert request["action"]["requested_by"] == "agent:bookkeeper"
    assert record["report"]["verdict"] != "refused", record["report"]

    # The same call again is a new request: the first approval does not let it through.
    record, again = decided(gateway, proxy, "pay_invoice", arguments, "reject", tasks=True)
    assert again.is_error and "rejected" in text(again), text(again)
    assert upstream.calls("pay_invoice").count(arguments) == 1


def test_a_held_call_from_a_legacy_client_is_forwarded_after_approval(
        proxy: str, upstream: Upstream, gateway: Gateway) -> None:
    arguments = payment("3001", "99.00")
    _, result = decided(gateway, proxy, "pay_invoice", arguments, "approve", legacy=True)
    assert not result.is_error, text(result)
    assert upstream.calls("pay_invoice").count(arguments) == 1


def test_a_rejected_call_and_other_arguments_after_an_approval_never_reach_the_upstream(
        proxy: str, upstream: Upstream, gateway: Gateway) -> None:
    """An approval covers the request it names, built from one call's arguments; a call with
    other arguments is another request. (The proxy never takes an approval from a client, so
    one cannot be presented for another call end to end; `check_approval` refusing another
    request's decision, a changed argument set and an unlisted key is unit-tested in
    crates/cli/src/mcp/guard.rs.)"""
    approved = payment("4001")
    decided(gateway, proxy, "pay_invoice", approved, "approve")
    assert upstream.calls("pay_invoice").count(approved) == 1
    # Other arguments are another request, however close: approving one approves only it.
    other = dict(approved, amount="12500.00")
    _, result = decided(gateway, proxy, "pay_invoice", other, "reject")
    assert result.is_error and "rejected" in text(result), text(result)
    assert other not in upstream.calls("pay_invoice")
    assert upstream.calls("pay_invoice").count(approved) == 1


def test_a_chain_from_the_client_is_used_and_a_forged_one_refused(
        proxy: str, upstream: Upstream, gateway: Gateway, parties: Parties) -> None:
    arguments = payment("5001", "100.00")
    chain = parties.chain()
    record, result = decided(gateway, proxy, "pay_invoice", arguments, "approve",
                             meta={"countersign.dev/chain": chain.chain})
    assert not result.is_error, text(result)
    assert record["request"]["action"]["requested_by"] == "agent:banking"
    assert record["request"]["chain"] == chain.chain
    assert upstream.calls("pay_invoice").count(arguments) == 1

    forged_args = payment("5002", "100.00")
    hops = chain.chain
    header, payload, signature = hops[-1].split(".")
    forged = hops[:-1] + [".".join([header, payload, signature[:-4] + "AAAA"])]
    result = asyncio.run(call(proxy, "pay_invoice", forged_args,
                              meta={"countersign.dev/chain": forged}))
    assert result.is_error
    assert "chain_refused" in text(result), text(result)
    assert forged_args not in upstream.calls("pay_invoice")


def test_an_expired_request_and_a_stopped_gateway_leave_the_upstream_untouched(
        tmp_path: Path, parties: Parties, gateway: Gateway, upstream: Upstream) -> None:
    # Nobody decides in time.
    short = policy_file(tmp_path, parties, expires_in=2)
    for url in start_proxy(tmp_path, short, upstream, gateway.url, gateway.token):
        arguments = payment("6001")
        result = asyncio.run(call(url, "pay_invoice", arguments))
        assert result.is_error and "expired" in text(result), text(result)
        assert arguments not in upstream.calls("pay_invoice")
    # No gateway at all: the call is refused, unguarded calls still pass.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{s.getsockname()[1]}"
    (tmp_path / "second").mkdir()
    policy = policy_file(tmp_path / "second", parties)
    for url in start_proxy(tmp_path / "second", policy, upstream, nowhere, gateway.token):
        arguments = payment("6002")
        result = asyncio.run(call(url, "pay_invoice", arguments, tasks=True))
        assert result.is_error and "cannot reach the gateway" in text(result), text(result)
        assert arguments not in upstream.calls("pay_invoice")
        passed = asyncio.run(call(url, "lookup_invoice", {"invoice": "6003"}))
        assert not passed.is_error


def stdio_proxy(tmp: Path, parties: Parties, gateway: Gateway,
                upstream: Upstream) -> StdioServerParameters:
    """The proxy as an MCP client starts a stdio server."""
    return StdioServerParameters(
        command=binary("countersign"),
        args=["mcp-proxy", "--upstream", upstream.url, "--policy",
              str(policy_file(tmp, parties)), "--gateway", gateway.url],
        env={"COUNTERSIGN_WORKFLOW_TOKEN": gateway.token})


def test_over_stdio_the_proxy_forwards_an_approved_call_and_passes_the_rest(
        tmp_path: Path, parties: Parties, gateway: Gateway, upstream: Upstream) -> None:
    server = stdio_proxy(tmp_path, parties, gateway, upstream)
    arguments = payment("7001", "42.00")

    async def run():
        async with Client(server, extensions=[Tasks(cancel=False)]) as client:
            looked = await client.call_tool("lookup_invoice", {"invoice": "7000"})
            before = pending_ids(gateway)
            running = asyncio.create_task(client.call_tool("pay_invoice", arguments))
            record = await new_request(gateway, before)
            assert arguments not in upstream.calls("pay_invoice")
            gateway.reviewer.decide(record["request_id"], "approve")
            return looked, await running

    looked, paid = asyncio.run(run())
    assert not looked.is_error and "ACME GmbH" in text(looked)
    assert not paid.is_error, text(paid)
    assert upstream.calls("pay_invoice").count(arguments) == 1


def test_a_cancelled_task_is_never_forwarded_and_its_request_is_withdrawn(
        proxy: str, upstream: Upstream, gateway: Gateway) -> None:
    arguments = payment("8001")

    async def run():
        before = pending_ids(gateway)
        tasks = Tasks(cancel=True)
        async with Client(proxied(proxy), extensions=[tasks]) as client:
            result = await client.call_tool("pay_invoice", arguments)
        return tasks.final, result, pending_ids(gateway) - before

    final, result, left_pending = asyncio.run(run())
    assert final["status"] == "cancelled", final
    assert result.is_error
    assert left_pending == set(), "withdrawn, so no reviewer sees it"
    history = gateway.reviewer.console("GET", "/v1/history?limit=20").json()["requests"]
    (mine,) = [r for r in history if r["request"]["action"]["arguments"] == arguments]
    assert mine["state"] == "withdrawn"
    assert arguments not in upstream.calls("pay_invoice")


def raw(url: str, body: bytes, token: str | None = CLIENT_TOKEN) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": "2025-11-25"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(url, content=body, headers=headers, timeout=30)


def test_what_the_proxy_cannot_read_strictly_is_refused_and_never_relayed(
        proxy: str, upstream: Upstream) -> None:
    """Parsers differ (Python's json takes a BOM, NaN, deep nesting; a batch is an array):
    each is a way to smuggle a guarded call past a proxy that relays what it cannot read."""
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "pay_invoice", "arguments": payment("9001")}}
    text = json.dumps(call)
    smuggled = {
        "bom": b"\xef\xbb\xbf" + text.encode(),
        "nan": text.replace('"_meta_', '').replace('"params": {', '"params": {"x": NaN, ').encode(),
        "deep": text.replace('"params": {', '"params": {"x": ' + "[" * 200 + "]" * 200 + ", ").encode(),
        "batch": json.dumps([call]).encode(),
        "twice": text.replace('"name": "pay_invoice"',
                              '"name": "lookup_invoice", "name": "pay_invoice"').encode(),
    }
    for name, body in smuggled.items():
        answer = raw(proxy, body)
        assert answer.status_code == 400, (name, answer.status_code, answer.text)
        assert answer.json()["error"]["code"] in (-32700, -32600), (name, answer.text)
    assert payment("9001") not in upstream.calls("pay_invoice")
    # Without the client credential, nothing at all.
    anonymous = raw(proxy, text.encode(), token=None)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert raw(proxy, text.encode(), token="guess").status_code == 401
    assert payment("9001") not in upstream.calls("pay_invoice")


def test_a_held_call_whose_client_goes_away_is_withdrawn_and_never_forwarded(
        proxy: str, upstream: Upstream, gateway: Gateway) -> None:
    arguments = payment("9101")

    async def run():
        before = pending_ids(gateway)
        running = asyncio.create_task(call(proxy, "pay_invoice", arguments))
        record = await new_request(gateway, before)
        running.cancel()
        try:
            await running
        except (asyncio.CancelledError, BaseExceptionGroup):
            pass
        for _ in range(200):
            if record["request_id"] not in pending_ids(gateway):
                break
            await asyncio.sleep(0.05)
        return record["request_id"]

    request_id = asyncio.run(run())
    assert gateway.reviewer.record(request_id)["state"] == "withdrawn"
    # An approval now is refused (not pending), and nothing reaches the upstream.
    jws = gateway.reviewer.decision_jws(request_id, "approve")
    late = gateway.reviewer.console("POST", f"/v1/requests/{request_id}/decisions",
                                    json={"decision_jws": jws})
    assert late.status_code == 409, late.text
    assert arguments not in upstream.calls("pay_invoice")


def test_over_stdio_a_held_call_the_client_cancels_is_withdrawn_and_never_forwarded(
        tmp_path: Path, parties: Parties, gateway: Gateway, upstream: Upstream) -> None:
    server = stdio_proxy(tmp_path, parties, gateway, upstream)
    arguments = payment("9201")

    async def run():
        async with Client(server) as client:
            before = pending_ids(gateway)
            running = asyncio.create_task(client.call_tool("pay_invoice", arguments))
            record = await new_request(gateway, before)
            running.cancel()  # the SDK tells the server: notifications/cancelled
            try:
                await running
            except BaseException:
                pass
            for _ in range(200):
                if record["request_id"] not in pending_ids(gateway):
                    break
                await asyncio.sleep(0.05)
            return record["request_id"]

    request_id = asyncio.run(asyncio.wait_for(run(), 60))
    assert gateway.reviewer.record(request_id)["state"] == "withdrawn"
    assert arguments not in upstream.calls("pay_invoice")
