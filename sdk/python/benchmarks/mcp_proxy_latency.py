"""The latency `countersign mcp-proxy` adds to a call it passes through: the same
`tools/call` of an unguarded tool, made by the official Python MCP client directly against an
upstream MCP server (the official SDK's `MCPServer`) and through the proxy, in one run,
interleaved in rounds so both see the same machine. Prints p50 and p99 of each, and the ratio.

Usage: mcp_proxy_latency.py COUNTERSIGN_BINARY [CALLS]
(scripts/bench-mcp-proxy.sh builds the release binary and runs this.)
"""

import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

HERE = Path(__file__).resolve().parent
UPSTREAM = HERE.parent / "tests" / "mcp_upstream.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def measure(direct_url: str, proxy_url: str, calls: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"direct": [], "proxy": []}
    http = httpx2.AsyncClient(headers={"Authorization": "Bearer bench-client"})
    async with Client(direct_url) as direct, \
            Client(streamable_http_client(proxy_url, http_client=http)) as proxied:
        clients = {"direct": direct, "proxy": proxied}
        for client in clients.values():  # warm-up
            for _ in range(20):
                await client.call_tool("lookup_invoice", {"invoice": "warm"})
        rounds, per_round = 20, max(1, calls // 20)
        for r in range(rounds):
            order = ["direct", "proxy"] if r % 2 == 0 else ["proxy", "direct"]
            for name in order:
                for _ in range(per_round):
                    started = time.perf_counter()
                    result = await clients[name].call_tool("lookup_invoice", {"invoice": "4711"})
                    times[name].append((time.perf_counter() - started) * 1000)
                    assert not result.is_error
    return times


def main() -> None:
    binary, calls = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        up_port, proxy_port = free_port(), free_port()
        policy = tmp / "proxy.toml"
        policy.write_text('server = "invoices"\n[[tool]]\nname = "pay_invoice"\ntier = "high"\n'
                          'action_type = "payments.transfer"\noperation = "initiate"\n'
                          'resource_argument = "account"\n')
        upstream = subprocess.Popen([sys.executable, str(UPSTREAM), str(up_port),
                                     str(tmp / "calls.jsonl")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proxy = subprocess.Popen(
            [binary, "mcp-proxy", "--upstream", f"http://127.0.0.1:{up_port}/mcp", "--policy",
             str(policy), "--token", "unused-for-pass-through", "--listen",
             f"127.0.0.1:{proxy_port}", "--client-token", "bench-client"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(up_port)
            wait_for(proxy_port)
            times = asyncio.run(measure(f"http://127.0.0.1:{up_port}/mcp",
                                        f"http://127.0.0.1:{proxy_port}/mcp", calls))
        finally:
            proxy.terminate()
            upstream.terminate()
    report = {}
    for name, samples in times.items():
        report[name] = {"calls": len(samples), "p50_ms": round(percentile(samples, 50), 3),
                        "p99_ms": round(percentile(samples, 99), 3),
                        "mean_ms": round(statistics.fmean(samples), 3)}
    report["ratio"] = {k: round(report["proxy"][k] / report["direct"][k], 3)
                       for k in ("p50_ms", "p99_ms")}
    report["added_ms"] = {k: round(report["proxy"][k] - report["direct"][k], 3)
                          for k in ("p50_ms", "p99_ms")}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
