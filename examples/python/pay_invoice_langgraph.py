"""A LangGraph agent that asks a human to countersign paying an invoice.

    pip install './sdk/python[langgraph]'

With the desktop console's embedded demo (the values are in its Settings → "Connect your own agent"):

    python examples/python/pay_invoice_langgraph.py keys --dir agent-keys --trust '<Trust store path from Settings>'
    export COUNTERSIGN_GATEWAY_URL='<Gateway URL from Settings>'
    export COUNTERSIGN_WORKFLOW_TOKEN='<Workflow credential from Settings>'
    export COUNTERSIGN_AUDIENCE=countersign-embedded-demo    # "Audience" in Settings
    python examples/python/pay_invoice_langgraph.py run --dir agent-keys --thread invoice-4711

The console starts with a new port and credential each time: after a restart, run the exports
again (the parties `keys` merged into its trust store stay).

With a gateway you run (set up as the README's "The gateway" shows):

    python examples/python/pay_invoice_langgraph.py keys --dir agent-keys --trust trust.json
    countersign-gateway serve --trust trust.json --listen 127.0.0.1:8787
    export COUNTERSIGN_GATEWAY_URL=http://127.0.0.1:8787 COUNTERSIGN_WORKFLOW_TOKEN=cswf_…
    export COUNTERSIGN_AUDIENCE=countersign-gateway    # the gateway's --audience (this is its default)
    python examples/python/pay_invoice_langgraph.py run --dir agent-keys --thread invoice-4711

`keys` writes the trust store if it is missing, else merges the agent's parties
(user:ap-alice, agent:ap-bookkeeper, agent:ap-banking) into it: every other party stays, one
already there with other keys is refused unless `--replace`, and the file is replaced whole, so
a running gateway takes it within a second. `run` first checks that the gateway signs decisions
for COUNTERSIGN_AUDIENCE, then pauses the graph at the payment (checkpointed in SQLite, `--db`),
submits the DelegationRequest and waits; approve it in the console and the graph resumes,
verifies the decision and pays (here: prints). Stop it while it waits (Ctrl-C) and run the same
command again, same `--thread`: it picks up the checkpoint and keeps waiting for the same request.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import stat
import sys
import tempfile
import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Optional, TypedDict

import httpx
from langchain_core.tools import tool
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

from countersign import Client, Delegation, KeyPair, TrustStore, evidence, thumbprint_of_jwk, uncertainty
from countersign.langgraph import ApprovalGate, approval_tool_node, pending_requests, request_for_tool_call, resume_with_decision

# Key file → (identity, kind, display name). None of these is a party of the console's
# embedded demo, so merging them into its trust store changes none of its own.
PARTIES = {
    "alice": ("user:ap-alice", "human", "Alice Payer (accounts payable)"),
    "bookkeeper": ("agent:ap-bookkeeper", "agent", "AP bookkeeper agent"),
    "banking": ("agent:ap-banking", "agent", "AP banking agent"),
}
PRINCIPAL, BOOKKEEPER, BANKING = (identity for identity, _, _ in PARTIES.values())

# The gateway's public audit-log key is named after the log's origin, `<audience>/audit`.
LOG_KEY_PATH = "/v1/audit/log-key"
LOG_ORIGIN_SUFFIX = "/audit"


class State(TypedDict, total=False):
    invoice: dict[str, Any]
    approval_request: dict[str, Any]
    approval: dict[str, Any]
    tool_result: Optional[str]


@tool
def pay_invoice(amount: str, currency: str, payee: str, invoice: str) -> str:
    """Pays a supplier invoice from the operations account."""
    return f"PAID {currency} {amount} to {payee} (invoice {invoice})"  # a real agent calls the bank here


def payment_summary(invoice: dict[str, Any]) -> str:
    """What the reviewer's queue shows: `Pay ACME GmbH EUR 1,250.00 (invoice 4711)`."""
    return (f"Pay {invoice['payee']} {invoice['currency']} {Decimal(invoice['amount']):,.2f} "
            f"(invoice {invoice['invoice']})")


def build_graph(keys_dir: Path, db: Path, client: Client) -> Any:
    alice, bookkeeper, banking = (KeyPair.load(keys_dir / f"{name}.pem") for name in PARTIES)

    def propose(state: State) -> State:
        invoice = state["invoice"]
        # Alice lets her bookkeeper pay supplier invoices up to EUR 5,000; the bookkeeper hands
        # the banking agent exactly this payment's ceiling. Each hop may only narrow.
        chain = Delegation.issue(
            principal=PRINCIPAL, key=alice, to=BOOKKEEPER, to_key=bookkeeper,
            scope=[{"type": "payments.transfer", "actions": ["initiate"], "locations": ["acct:ops"],
                    "constraints": {"max_amount": "5000.00", "currency": "EUR"}}],
            purpose={"id": "ap:supplier-invoices", "text": "Pay approved supplier invoices"}, max_depth=1,
        ).delegate(key=bookkeeper, to=BANKING, to_key=banking,
                   scope=[{"type": "payments.transfer", "actions": ["initiate"], "locations": ["acct:ops"],
                           "constraints": {"max_amount": invoice["amount"], "currency": "EUR"}}])
        source = evidence(id=f"invoice-{invoice['invoice']}", kind="source", produced_by=BOOKKEEPER,
                          title=f"Invoice {invoice['invoice']} from {invoice['payee']}",
                          content=f"Invoice {invoice['invoice']}: {invoice['payee']}, EUR {invoice['amount']}, due in 14 days")
        request = request_for_tool_call(
            {"name": "pay_invoice", "args": invoice, "id": "call-1"}, delegation=chain,
            action_type="payments.transfer", operation="initiate", resource="acct:ops", tier="critical",
            reversible=False, value=(invoice["amount"], "EUR"), evidence=[source],
            summary=payment_summary(invoice),
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


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _thumbprints(keys: list[Any]) -> set[str]:
    """The keys by RFC 7638 thumbprint (a key that has none: by its JSON)."""
    out = set()
    for jwk in keys:
        try:
            out.add(thumbprint_of_jwk(jwk))
        except (ValueError, AttributeError):
            out.add(json.dumps(jwk, sort_keys=True))
    return out


def _read_trust(path: Path) -> dict[str, Any]:
    """The trust store at `path` as it is written (members the SDK does not model are kept)."""
    try:
        store = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"cannot read the trust store {path}: {e}") from e
    parties = store.get("parties") if isinstance(store, dict) else None
    if not isinstance(parties, dict) or not all(
            isinstance(p, dict) and isinstance(p.get("keys", []), list) for p in parties.values()):
        raise ValueError(f"{path} is not a trust store: expected {{\"parties\": {{identity: "
                         f"{{\"kind\", \"display_name\", \"keys\": [JWK, …]}}}}}}")
    return store


def _write_atomically(path: Path, text: str) -> None:
    """Writes a temporary file next to `path` and renames it over `path`: a reader (the
    gateway reloads the file within a second) sees the old file or the new one, never half."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def keys(args: argparse.Namespace) -> int:
    args.dir.mkdir(parents=True, exist_ok=True)
    ours = TrustStore()
    for name, (identity, kind, display) in PARTIES.items():
        path = args.dir / f"{name}.pem"
        key = KeyPair.load(path) if path.exists() else KeyPair.generate()
        if not path.exists():
            key.save(path)
        ours.add(identity, kind, display, key.jwk())
    wire = ours.to_wire()["parties"]

    if not args.trust.exists():
        _write_atomically(args.trust, json.dumps({"parties": wire}, indent=2, ensure_ascii=False) + "\n")
        for identity in wire:
            print(f"added: {identity}")
        print(f"keys in {args.dir}/, trust store {args.trust} written ({len(wire)} parties)")
        return 0

    try:
        store = _read_trust(args.trust)
    except ValueError as e:
        return fail(f"{e}; nothing written")
    parties = store["parties"]
    added, replaced, kept = [], [], []
    clashes = [identity for identity, party in wire.items() if identity in parties
               and _thumbprints(parties[identity].get("keys", [])) != _thumbprints(party["keys"])]
    if clashes and not args.replace:
        return fail(f"{args.trust} already has {', '.join(clashes)} with other keys than those in "
                    f"{args.dir}/; nothing written (--replace replaces them with these keys)")
    for identity, party in wire.items():
        if identity not in parties:
            added.append(identity)
        elif identity in clashes:
            replaced.append(identity)
        else:
            kept.append(identity)
            continue
        parties[identity] = party
    if added or replaced:
        _write_atomically(args.trust, json.dumps(store, indent=2, ensure_ascii=False) + "\n")
    for verb, names in (("added", added), ("replaced", replaced), ("already there", kept)):
        for identity in names:
            print(f"{verb}: {identity}")
    print(f"keys in {args.dir}/, trust store {args.trust}: {len(added)} added, {len(replaced)} replaced, "
          f"{len(kept)} already there, {len(parties)} parties in all")
    return 0


def audience_of_log_key(log_key: str) -> Optional[str]:
    """The audience in a gateway's log key, `<audience>/audit+<keyid>+<base64 key>` (a note
    key's name has no `+`; its base64 may), or None if it is not one."""
    name, plus, _ = log_key.strip().partition("+")
    return name[:-len(LOG_ORIGIN_SUFFIX)] if plus and name.endswith(LOG_ORIGIN_SUFFIX) else None


def published_audience(url: str) -> Optional[str]:
    """The audience the gateway at `url` signs decisions for, read from its public audit-log
    key; None if it does not publish one. Raises `httpx.HTTPError` when the gateway cannot be
    reached."""
    response = httpx.get(url.rstrip("/") + LOG_KEY_PATH, timeout=10)
    return audience_of_log_key(response.text) if response.status_code == 200 else None


def run(args: argparse.Namespace) -> int:
    url, token = os.environ.get("COUNTERSIGN_GATEWAY_URL"), os.environ.get("COUNTERSIGN_WORKFLOW_TOKEN")
    if not url or not token:
        return fail("set COUNTERSIGN_GATEWAY_URL and COUNTERSIGN_WORKFLOW_TOKEN (see the top of this file)")
    audience = os.environ.get("COUNTERSIGN_AUDIENCE") or "countersign-gateway"
    source = "COUNTERSIGN_AUDIENCE" if os.environ.get("COUNTERSIGN_AUDIENCE") else "COUNTERSIGN_AUDIENCE is unset: the default"
    # Checked before anything is submitted: with another audience the reviewer's approval
    # would be spent on a decision this agent then refuses to verify.
    try:
        published = published_audience(url)
    except httpx.HTTPError as e:
        return fail(f"cannot reach the gateway at {url}: {e}")
    if published is None:
        print(f"note: {url} does not publish its audience; decisions must be for {audience!r}", file=sys.stderr)
    elif published != audience:
        return fail(f"the gateway at {url} signs decisions for audience {published!r}, but this agent "
                    f"expects {audience!r} ({source}); export COUNTERSIGN_AUDIENCE={published} "
                    f"if that is the gateway you mean. Nothing was submitted.")
    try:
        with Client(url, token, audience=audience) as client:
            graph = build_graph(args.dir, args.db, client)
            config = {"configurable": {"thread_id": args.thread}}
            if not pending_requests(graph, config) and not graph.get_state(config).values:
                invoice = {"amount": args.amount, "currency": "EUR", "payee": args.payee, "invoice": args.invoice}
                graph.invoke({"invoice": invoice}, config)
            for _, request, _ in pending_requests(graph, config):
                print(f"waiting for a countersignature on {request.request_id}: {request.action.summary}; "
                      f"thread {args.thread}", flush=True)
            result = resume_with_decision(graph, config, client, timeout=args.timeout)
    except KeyboardInterrupt:
        print(f"\nstopped; run the same command again (with --thread {args.thread}) to keep waiting",
              file=sys.stderr)
        return 130
    approval = result["approval"]
    print(f"{approval['decision']} by {approval['reviewer']}: {approval['reason']}")
    print(result["tool_result"] or "not paid")
    return 0 if approval["decision"] == "approve" else 3


def amount(text: str) -> str:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not an amount: {text!r}") from None
    if not value.is_finite() or value <= 0 or value.as_tuple().exponent < -2:
        raise argparse.ArgumentTypeError(f"not an amount in EUR: {text!r}")
    return f"{value:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    k = sub.add_parser("keys", help="write the agents' keys, and their parties into a trust store")
    k.add_argument("--dir", type=Path, default=Path("agent-keys"))
    k.add_argument("--trust", type=Path, default=Path("trust.json"),
                   help="the trust store: written if missing, else the parties are merged into it")
    k.add_argument("--replace", action="store_true",
                   help="replace a party the trust store already has with other keys")
    r = sub.add_parser("run", help="run the agent until the payment is decided")
    r.add_argument("--dir", type=Path, default=Path("agent-keys"))
    r.add_argument("--db", type=Path, default=Path("agent-checkpoints.db"))
    r.add_argument("--thread", default=f"invoice-{uuid.uuid4().hex[:8]}",
                   help="the checkpointed run to start or resume (default: a new one)")
    r.add_argument("--amount", type=amount, default="1250.00")
    r.add_argument("--payee", default="ACME GmbH")
    r.add_argument("--invoice", default="4711")
    r.add_argument("--timeout", type=float, default=None, help="seconds to wait (default: until decided)")
    args = parser.parse_args()
    return keys(args) if args.command == "keys" else run(args)


if __name__ == "__main__":
    sys.exit(main())
