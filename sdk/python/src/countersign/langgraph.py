"""LangGraph adapter: a high-impact tool call waits for a human countersignature.

The graph pauses with `interrupt()` (checkpointed by any LangGraph checkpointer) carrying the
DelegationRequest; a runner submits it, waits for the reviewer's decision and resumes the graph
with the decision JWS. The node verifies that JWS before it acts: a resume value that is not a
decision for exactly this request, signed by a key the gateway publishes, for its audience and
unexpired, is refused and the node interrupts again (the tool never runs). A verified
rejection returns without running the tool.

    gate = ApprovalGate(client)
    builder.add_node("pay", approval_tool_node(gate, pay_invoice))   # reads state["approval_request"]
    ...
    graph = builder.compile(checkpointer=SqliteSaver(conn))
    graph.invoke(inputs, config)                                     # pauses at "pay"
    result = resume_with_decision(graph, config, client)             # submit → wait → resume

Because LangGraph re-runs a node from its start when it resumes, the request must be built
before the node that waits (in an earlier node, so it is in the checkpointed state): building
it again would make another request id and other digests.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping, Optional, Union

import httpx
from langgraph.types import Command, interrupt

from .client import Client
from .decision import Decision, verify_decision
from .errors import CountersignError, DecisionVerificationError
from .models import ReceiptStatus
from .request import DelegationRequest

__all__ = ["ApprovalGate", "approval_tool_node", "resume_with_decision", "pending_requests",
           "INTERRUPT_KEY"]

INTERRUPT_KEY = "countersign"
"""The key of a Countersign interrupt's value: `{INTERRUPT_KEY: {"request_id", "request",
"refused"?}}`, `refused` (`{"check", "message", "value"}`) after a resume value was refused."""
log = logging.getLogger("countersign.langgraph")

RequestLike = Union[DelegationRequest, Mapping[str, Any]]


def _request(request: RequestLike) -> DelegationRequest:
    return request if isinstance(request, DelegationRequest) else DelegationRequest.from_wire(request)


class ApprovalGate:
    """Pauses a node until a verified decision for a DelegationRequest arrives.

    `client` provides the gateway's published keys (its JWKS, fetched once and again for an
    unknown `kid`) and audience, and receives receipts. `leeway` is the clock skew allowed on
    a decision's `exp` and `iat`, in seconds."""

    def __init__(self, client: Client, *, leeway: int = 60) -> None:
        self.client = client
        self.leeway = leeway

    def verify(self, value: Any, request: DelegationRequest) -> Decision:
        """The verified decision `value` (a decision JWS) for `request`, fetching the keys
        again once for an unknown `kid`. Raises `DecisionVerificationError` (check `format`
        for a value that is not a string)."""
        if not isinstance(value, str):
            raise DecisionVerificationError("format", f"the resume value is a {type(value).__name__}, not a decision JWS")
        try:
            return verify_decision(value, self.client.keys(), audience=self.client.audience,
                                   subject=request.subject, leeway=self.leeway)
        except DecisionVerificationError as e:
            if e.check != "kid":
                raise
            return verify_decision(value, self.client.keys(refresh=True), audience=self.client.audience,
                                   subject=request.subject, leeway=self.leeway)

    def require(self, request: RequestLike) -> Decision:
        """Call inside a node: interrupts with the request and returns the verified decision
        (approve or reject) it is resumed with. A resume value that does not verify is
        refused: the node interrupts again, saying why, and waits for a real decision.

        `request` is a `DelegationRequest` or its wire object (read with `from_wire()`:
        `ValueError` if it does not read back). Like any `interrupt()`, the first call pauses
        the graph by raising LangGraph's `GraphInterrupt`: do not catch it. Client errors
        while fetching keys propagate."""
        request = _request(request)
        payload: dict[str, Any] = {"request_id": request.request_id, "request": request.to_wire()}
        value = interrupt({INTERRUPT_KEY: payload})
        while True:
            try:
                return self.verify(value, request)
            except DecisionVerificationError as e:
                log.warning("refused a resume value for %s: %s", request.request_id, e)
                refused = {"check": e.check, "message": str(e),
                           "value": value if isinstance(value, str) else repr(value)[:200]}
                value = interrupt({INTERRUPT_KEY: dict(payload, refused=refused)})

    def receipt(self, request: DelegationRequest, status: ReceiptStatus, detail: str, result: Any = None) -> None:
        """Posts a receipt for `request`, with the digest of `result` when it has an RFC 8785
        form. Best effort: a failure to deliver it (a `CountersignError`, any `httpx` error,
        an invalid gateway URL, an `OSError`) is logged, never raised: raising after the tool
        ran would make LangGraph run the node, and the tool, again. Programming errors
        (`TypeError`, `ValueError` for an unknown status…) are raised."""
        try:
            self.client.post_receipt(request, status, detail=detail,
                                     result=result if _jsonable(result) else None)
        except _RECEIPT_FAILURES as e:
            log.warning("could not post the receipt for %s: %s: %s", request.request_id, type(e).__name__, e)


# What posting a receipt can meet on the way (the client wraps most as `NetworkError`; an
# `http=` client's own transport or hooks, and a malformed base URL, raise the rest).
_RECEIPT_FAILURES = (CountersignError, httpx.HTTPError, httpx.InvalidURL, OSError)


def _jsonable(value: Any) -> bool:
    try:
        from .digest import canonical_json
        canonical_json(value)
        return value is not None
    except (ValueError, TypeError):
        return False


def approval_tool_node(gate: ApprovalGate, tool: Any, *, request_key: str = "approval_request",
                       result_key: str = "tool_result", outcome_key: str = "approval") -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """A node that runs `tool` (a LangChain tool, or any callable taking the arguments as
    keywords) only after a verified approval of the DelegationRequest in `state[request_key]`,
    and with exactly the arguments that were approved (`action.arguments`).

    Returns the node function. The node returns `{outcome_key: {"decision", "reviewer",
    "reason", "decision_jws", "request_id"}, result_key: …}` (`result_key` is None after a
    rejection) and posts a receipt (`executed`, `skipped`, or `failed` before re-raising what
    the tool raised). The node raises `KeyError` when the state has no `request_key`."""

    def node(state: Mapping[str, Any]) -> dict[str, Any]:
        request = _request(state[request_key])
        decision = gate.require(request)
        outcome = {"decision": decision.decision, "reviewer": decision.reviewer,
                   "reason": decision.reason, "decision_jws": decision.jws,
                   "request_id": request.request_id}
        if not decision.approved:
            gate.receipt(request, ReceiptStatus.SKIPPED, f"rejected by {decision.reviewer}: {decision.reason}")
            return {outcome_key: outcome, result_key: None}
        arguments = dict(request.action.arguments)
        try:
            result = tool.invoke(arguments) if hasattr(tool, "invoke") else tool(**arguments)
        except Exception as e:
            gate.receipt(request, ReceiptStatus.FAILED, f"{type(e).__name__}: {e}")
            raise
        gate.receipt(request, ReceiptStatus.EXECUTED, f"executed {request.action.tool.name if request.action.tool else 'the action'}", result)
        return {outcome_key: outcome, result_key: result}

    return node


def pending_requests(graph: Any, config: Mapping[str, Any]) -> list[tuple[str, DelegationRequest, Optional[dict[str, Any]]]]:
    """The Countersign interrupts the graph is paused on, as (interrupt id, request,
    refusal) tuples; refusal is None, or why the last resume value was refused. Empty when
    there are none. Raises `ValueError` if a stored request does not read back."""
    state = graph.get_state(config)
    found = []
    for pending in state.interrupts:
        value = pending.value
        if isinstance(value, Mapping) and INTERRUPT_KEY in value:
            body = value[INTERRUPT_KEY]
            found.append((pending.id, DelegationRequest.from_wire(body["request"]), body.get("refused")))
    return found


def resume_with_decision(graph: Any, config: Mapping[str, Any], client: Client, *,
                         timeout: Optional[float] = None, submit: bool = True) -> Any:
    """The runner: for each Countersign interrupt the graph is paused on, submit its request
    (idempotent), wait for the decision and resume the graph with the decision JWS. Returns
    what the graph's last run returns (the state's values if that is None, or if there was
    nothing to resume). Raises `TimeoutError` if no decision came within `timeout` (seconds,
    per request; None: no limit), `RequestEnded` if a request ended without one,
    `DecisionVerificationError` if the decision does not verify or the node refused the
    gateway's own decision, and the client's errors. `submit=False` skips the submit (the
    request is already there)."""
    result: Any = None
    sent: dict[str, str] = {}
    while True:
        pending = pending_requests(graph, config)
        if not pending:
            return result if result is not None else graph.get_state(config).values
        resume: dict[str, str] = {}
        for interrupt_id, request, refused in pending:
            if refused is not None and refused.get("value") == sent.get(request.request_id):
                raise DecisionVerificationError(refused.get("check", "decision"),
                                                f"the graph refused the gateway's decision: {refused.get('message')}")
            if submit:
                client.submit(request)
            outcome = client.wait(request, timeout=timeout)
            if outcome.state.is_open:
                raise TimeoutError(f"request {request.request_id} is still {outcome.state.value}")
            decision = client.verify(outcome, request)  # RequestEnded for expired/withdrawn
            resume[interrupt_id] = decision.jws
            sent[request.request_id] = decision.jws
        result = graph.invoke(Command(resume=resume), config)


def request_for_tool_call(tool_call: Mapping[str, Any], *, delegation: Any, action_type: str,
                          operation: str, resource: str, tier: str, reversible: bool,
                          uncertainty: Any, summary: Optional[str] = None,
                          value: Optional[tuple[str, str]] = None, evidence: Any = (),
                          server: Optional[str] = None, expires_in_seconds: int = 1800,
                          request_id: Optional[str] = None) -> DelegationRequest:
    """A DelegationRequest for a LangChain tool call (`{"name", "args", "id"}`): the action's
    arguments are the call's arguments, requested by the chain's leaf delegatee, and its tool
    the call's tool (the summary defaults to `name(k=v, …)`). Raises as `action()` and
    `DelegationRequest.build()` do (`InvalidRequest`, `ValueError`)."""
    from .request import action as make_action

    name, args = tool_call["name"], dict(tool_call.get("args") or {})
    return DelegationRequest.build(
        delegation=delegation,
        action=make_action(type=action_type, operation=operation, resource=resource, arguments=args,
                           requested_by=delegation.leaf.sub, tier=tier, reversible=reversible,
                           summary=summary or f"{name}({', '.join(f'{k}={v}' for k, v in args.items())})",
                           value=value, tool=name, tool_server=server),
        evidence=list(evidence), uncertainty=uncertainty, expires_in_seconds=expires_in_seconds,
        request_id=request_id)


__all__.append("request_for_tool_call")
