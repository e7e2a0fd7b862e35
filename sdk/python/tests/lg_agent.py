"""A LangGraph agent that pays an invoice only with a countersignature, checkpointed in SQLite.
Imported by test_langgraph.py, and run as a separate process for the restart test:

    python lg_agent.py start|resume DB THREAD KEYS_DIR MARKER GATEWAY_URL TOKEN AUDIENCE
"""

from __future__ import annotations

import json
import operator
import sqlite3
import sys
from pathlib import Path
from typing import Annotated, Any, Optional, TypedDict

from langchain_core.tools import tool
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

from countersign import Client, Delegation, KeyPair, uncertainty
from countersign.langgraph import (
    ApprovalGate, approval_tool_node, request_for_tool_call, resume_with_decision,
)


class State(TypedDict, total=False):
    invoice: dict[str, Any]
    approval_request: dict[str, Any]
    approval: dict[str, Any]
    tool_result: Optional[str]
    log: Annotated[list[str], operator.add]


def build(db: Path, keys: Path, marker: Path, client: Client) -> Any:
    alice, bookkeeper, banking = (KeyPair.load(keys / f"{n}.pem") for n in ("alice", "bookkeeper", "banking"))

    @tool
    def pay_invoice(amount: str, currency: str, payee: str, invoice: str) -> str:
        """Pays an invoice from the operations account."""
        with marker.open("a") as out:
            out.write(json.dumps({"amount": amount, "currency": currency, "payee": payee, "invoice": invoice}) + "\n")
        return f"paid {currency} {amount} to {payee}"

    def propose(state: State) -> State:
        """The agent decides to pay; the tool call becomes a DelegationRequest (in the state,
        so it is checkpointed and the same on resume)."""
        delegation = Delegation.issue(
            principal="user:alice", key=alice, to="agent:bookkeeper", to_key=bookkeeper,
            scope=[{"type": "payments.transfer", "actions": ["initiate"], "locations": ["acct:ops"],
                    "constraints": {"max_amount": "5000.00", "currency": "EUR"}}],
            purpose={"id": "ap:supplier-invoices", "text": "Pay approved supplier invoices"}, max_depth=1,
        ).delegate(key=bookkeeper, to="agent:banking", to_key=banking,
                   scope=[{"type": "payments.transfer", "actions": ["initiate"], "locations": ["acct:ops"],
                           "constraints": {"max_amount": "2000.00", "currency": "EUR"}}])
        call = {"name": "pay_invoice", "args": state["invoice"], "id": "call-1"}
        request = request_for_tool_call(call, delegation=delegation, action_type="payments.transfer",
                                        operation="initiate", resource="acct:ops", tier="critical",
                                        reversible=False, value=(state["invoice"]["amount"], "EUR"),
                                        uncertainty=uncertainty(0.85, "model self-report"))
        return {"approval_request": request.to_wire(), "log": ["proposed"]}

    builder = StateGraph(State)
    builder.add_node("propose", propose)
    builder.add_node("pay", approval_tool_node(ApprovalGate(client), pay_invoice))
    builder.add_edge(START, "propose")
    builder.add_edge("propose", "pay")
    builder.add_edge("pay", END)
    return builder.compile(checkpointer=SqliteSaver(sqlite3.connect(str(db), check_same_thread=False)))


INVOICE = {"amount": "1250.00", "currency": "EUR", "payee": "ACME GmbH", "invoice": "4711"}


def main(argv: list[str]) -> int:
    mode, db, thread, keys, marker, url, token, audience = argv
    with Client(url, token, audience=audience) as client:
        graph = build(Path(db), Path(keys), Path(marker), client)
        config = {"configurable": {"thread_id": thread}}
        if mode == "start":
            graph.invoke({"invoice": INVOICE}, config)
            (interrupt,) = graph.get_state(config).interrupts
            request = interrupt.value["countersign"]["request"]
            client.submit(__import__("countersign").DelegationRequest.from_wire(request))
            print(json.dumps({"request_id": request["request_id"]}))
            return 0
        result = resume_with_decision(graph, config, client, timeout=30, submit=False)
        print(json.dumps({"approval": result["approval"]["decision"], "tool_result": result["tool_result"]}))
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
