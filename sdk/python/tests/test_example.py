"""examples/python/pay_invoice_langgraph.py runs against a real gateway: its request waits for
the reviewer, and the approval resumes the graph, which pays."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import AUDIENCE, REPO, start_gateway

EXAMPLE = REPO / "examples" / "python" / "pay_invoice_langgraph.py"


def test_the_example_pays_once_approved(cli: str, tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(EXAMPLE), "keys", "--dir", str(tmp_path / "keys"),
                    "--trust", str(tmp_path / "trust.json")], check=True, capture_output=True, timeout=60)
    (tmp_path / "gw").mkdir()
    gateways = start_gateway(tmp_path / "gw", tmp_path / "trust.json", cli)
    gateway = next(gateways)
    try:
        env = dict(os.environ, COUNTERSIGN_GATEWAY_URL=gateway.url, COUNTERSIGN_WORKFLOW_TOKEN=gateway.token,
                   COUNTERSIGN_AUDIENCE=AUDIENCE)
        agent = subprocess.Popen([sys.executable, str(EXAMPLE), "run", "--dir", str(tmp_path / "keys"),
                                  "--db", str(tmp_path / "agent.db"), "--timeout", "60"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            first = agent.stdout.readline()
            assert first.startswith("waiting for a countersignature on "), first + agent.stderr.read()
            request_id = first.split(" on ")[1].split(":")[0]
            record = gateway.reviewer.record(request_id)
            assert record["state"] == "pending" and record["tier"] == "critical"
            gateway.reviewer.decide(request_id)
            out, err = agent.communicate(timeout=60)
        finally:
            agent.kill()
        assert agent.returncode == 0, err
        assert "approve by user:rita" in out and "PAID EUR 1250.00 to ACME GmbH (invoice 4711)" in out
    finally:
        gateways.close()
