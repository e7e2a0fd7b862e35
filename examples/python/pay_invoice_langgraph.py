"""A LangGraph agent that asks a human to countersign paying an invoice.

    pip install './sdk/python[langgraph]'
    python examples/python/pay_invoice_langgraph.py keys --dir agent-keys --trust trust.json
    #   → writes the principal's and the agents' keys, and a trust.json naming their public keys;
    #     start the gateway with --trust trust.json (or merge the parties into yours)
    export COUNTERSIGN_GATEWAY_URL=http://127.0.0.1:8787 COUNTERSIGN_WORKFLOW_TOKEN=cswf_…
    export COUNTERSIGN_AUDIENCE=countersign-gateway          # the gateway's --audience
    python examples/python/pay_invoice_langgraph.py run --dir agent-keys --amount 1250.00

`run` pauses the graph at the payment (checkpointed in SQLite, `--db`), submits the
DelegationRequest and waits; approve it in the console and the graph resumes, verifies the
decision and pays (here: prints). Stop it while it waits and run the same command again with
the same `--thread`: it picks up the checkpoint and keeps waiting for the same request.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import Any, Optional, TypedDict

from langchain_core.tools import tool
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

from countersign import Client, Delegation, KeyPair, TrustStore, evidence, uncertainty
from countersign.langgraph import ApprovalGate, approval_tool_node, pending_requests, request_for_tool_call, resume_with_decision

PARTIES = {
    "alice": ("user:alice", "human", "Alice Payer (principal)"),
    "bookkeeper": ("agent:bookkeeper", "agent", "Bookkeeper agent"),
    "banking": ("agent:banking", "agent", "Banking agent"),
}


class State(TypedDict, total=False):
    invoice: dict[str, Any]
    approval_request: dict[str, Any]
    approval: dict[str, Any]
    tool_result: Optional[str]


@tool
def pay_invoice(amount: str, currency: str, payee: str, invoice: str) -> str:
    """Pays a supplier invoice from the operations account."""
    return f"PAID {currency} {amount} to {payee} (invoice {invoice})"  # a real agent calls the bank here


def build_graph(keys_dir: Path, db: Path, client: Client) -> Any:
    alice, bookkeeper, banking = (KeyPair.load(keys_dir / f"{name}.pem") for name in PARTIES)

    def propose(state: State) -> State:
        invoice = state["invoice"]
        # Alice lets her bookkeeper pay supplier invoices up to EUR 5,000; the bookkeeper hands
        # the banking agent exactly this payment's ceiling. Each hop may only narrow.
        chain = Delegation.issue(
            principal="user:alice", key=alice, to="agent:bookkeeper", to_key=bookkeeper,
            scope=[{"type": "payments.transfer", "actions": ["initiate"], "locations": ["acct:ops"],
                    "constraints": {"max_amount": "5000.00", "currency": "EUR"}}],
            purpose={"id": "ap:supplier-invoices", "text": "Pay approved supplier invoices"}, max_depth=1,
        ).delegate(key=bookkeeper, to="agent:banking", to_key=banking,
                   scope=[{"type": "payments.transfer", "actions": ["initiate"], "locations": ["acct:ops"],
                           "constraints": {"max_amount": invoice["amount"], "currency": "EUR"}}])
        source = evidence(id=f"invoice-{invoice['invoice']}", kind="source", produced_by="agent:bookkeeper",
                          title=f"Invoice {invoice['invoice']} from {invoice['payee']}",
                          content=f"Invoice {invoice['invoice']}: {invoice['payee']}, EUR {invoice['amount']}, due in 14 days")
        request = request_for_tool_call(
            {"name": "pay_invoice", "args": invoice, "id": "call-1"}, delegation=chain,
            action_type="payments.transfer", operation="initiate", resource="acct:ops", tier="critical",
            reversible=False, value=(invoice["amount"], "EUR"), evidence=[source],
            uncertainty=uncertainty(0.82, "model self-report", assumptions=["the invoice is genuine"],
                                    known_unknowns=["whether the goods were delivered"]))
        return {"approval_request": request.to_wire()}

    builder = StateGraph(State)
    builder.add_node("propose", propose)
    builder.add_node("pay", approval_tool_node(ApprovalGate(client), pay_invoice))
    builder.add_edge(START, "propose")
    builder.add_edge("propose", "pay")
    builder.add_edge("pay", END)
    return builder.compile(checkpointer=SqliteSaver(sqlite3.connect(str(db), check_same_thread=False)))


def keys(args: argparse.Namespace) -> int:
    args.dir.mkdir(parents=True, exist_ok=True)
    trust = TrustStore()
    for name, (identity, kind, display) in PARTIES.items():
        path = args.dir / f"{name}.pem"
        key = KeyPair.load(path) if path.exists() else KeyPair.generate()
        if not path.exists():
            key.save(path)
        trust.add(identity, kind, display, key.jwk())
    args.trust.write_text(json.dumps(trust.to_wire(), indent=2) + "\n")
    print(f"keys in {args.dir}/, trust store in {args.trust}")
    return 0


def run(args: argparse.Namespace) -> int:
    url, token = os.environ["COUNTERSIGN_GATEWAY_URL"], os.environ["COUNTERSIGN_WORKFLOW_TOKEN"]
    audience = os.environ.get("COUNTERSIGN_AUDIENCE", "countersign-gateway")
    with Client(url, token, audience=audience) as client:
        graph = build_graph(args.dir, args.db, client)
        config = {"configurable": {"thread_id": args.thread}}
        if not pending_requests(graph, config) and not graph.get_state(config).values:
            invoice = {"amount": args.amount, "currency": "EUR", "payee": args.payee, "invoice": args.invoice}
            graph.invoke({"invoice": invoice}, config)
        for _, request, _ in pending_requests(graph, config):
            print(f"waiting for a countersignature on {request.request_id}: {request.action.summary}", flush=True)
        result = resume_with_decision(graph, config, client, timeout=args.timeout)
        approval = result["approval"]
        print(f"{approval['decision']} by {approval['reviewer']}: {approval['reason']}")
        print(result["tool_result"] or "not paid")
        return 0 if approval["decision"] == "approve" else 3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    k = sub.add_parser("keys", help="write the agents' keys and a trust.json for the gateway")
    k.add_argument("--dir", type=Path, default=Path("agent-keys"))
    k.add_argument("--trust", type=Path, default=Path("trust.json"))
    r = sub.add_parser("run", help="run the agent until the payment is decided")
    r.add_argument("--dir", type=Path, default=Path("agent-keys"))
    r.add_argument("--db", type=Path, default=Path("agent-checkpoints.db"))
    r.add_argument("--thread", default=f"invoice-{uuid.uuid4().hex[:8]}")
    r.add_argument("--amount", default="1250.00")
    r.add_argument("--payee", default="ACME GmbH")
    r.add_argument("--invoice", default="4711")
    r.add_argument("--timeout", type=float, default=None, help="seconds to wait (default: until decided)")
    args = parser.parse_args()
    return keys(args) if args.command == "keys" else run(args)


if __name__ == "__main__":
    sys.exit(main())
