"""OpenAI Agents SDK adapter: tools marked `needs_approval` wait for a countersignature.

When a run returns `interruptions` (`ToolApprovalItem`s), `submit()` turns each into a
DelegationRequest (through your `request_for` function), submits it, and returns a `Ticket`:
the serialized `RunState` plus the requests, as JSON that can be stored for hours. `apply()`
later loads the state and approves or rejects each pending call ONLY from a decision that
verifies for exactly that request (signature by a key the gateway publishes, audience,
expiry, ids and digests), and only if the pending call's tool and arguments are the ones the
request carried. Then `Runner.run(agent, state)` continues.

    approvals = CountersignApprovals(client, request_for=payment_request)
    result = await Runner.run(agent, "pay invoice 4711")
    ticket = approvals.submit(result)          # store ticket.to_json() anywhere
    ...                                        # hours later, any process
    state = await approvals.apply(Ticket.from_json(saved), agent)
    result = await Runner.run(agent, state)

Like the Agents SDK's own `RunState.from_string`, keep tickets in storage you trust: the
decisions bind the requests, and `apply()` binds the pending calls to the requests, but the
rest of the conversation state is not signed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from agents import Agent, RunState
from agents.items import ToolApprovalItem

from .chain import _json_equal
from .client import Client
from .decision import Decision, verify_decision
from .digest import loads_ijson
from .errors import CountersignError, DecisionVerificationError
from .models import DecisionOutcome, RequestState
from .request import DelegationRequest

__all__ = ["CountersignApprovals", "Ticket", "ApprovalMismatch", "PendingCall", "call_of"]


class ApprovalMismatch(CountersignError):
    """A pending tool call is not the one its DelegationRequest describes (other tool or
    other arguments), or has no request in the ticket: never approved."""


@dataclass(frozen=True)
class PendingCall:
    """A tool call waiting for approval: its call id, tool name and parsed arguments (what
    `request_for` builds a DelegationRequest from)."""

    call_id: str
    tool_name: str
    arguments: dict[str, Any]


def call_of(item: ToolApprovalItem) -> PendingCall:
    """The pending call of an interruption: its id, tool name and parsed arguments. Raises
    `ApprovalMismatch` without a call id or tool name, or for arguments that are not an
    I-JSON object."""
    raw = item.raw_item
    get = (lambda k: raw.get(k)) if isinstance(raw, dict) else (lambda k: getattr(raw, k, None))
    call_id, arguments = get("call_id") or get("id"), get("arguments")
    if not call_id or not item.tool_name:
        raise ApprovalMismatch("the interruption has no call id or tool name")
    try:
        parsed = loads_ijson(arguments) if isinstance(arguments, str) else dict(arguments or {})
    except ValueError as e:
        raise ApprovalMismatch(f"the call's arguments are not I-JSON: {e}") from e
    if not isinstance(parsed, dict):
        raise ApprovalMismatch("the call's arguments are not a JSON object")
    return PendingCall(call_id=str(call_id), tool_name=item.tool_name, arguments=parsed)


@dataclass
class Ticket:
    """What waits for the reviewer: the serialized run state and one request (its wire
    object) per call id. Store `to_json()`; read it back with `from_json()`."""

    run_state: str
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> str:
        """The ticket as JSON text (version 1)."""
        return json.dumps({"version": 1, "run_state": self.run_state, "requests": self.requests})

    @classmethod
    def from_json(cls, text: str) -> "Ticket":
        """A ticket back from `to_json()`. Raises `ValueError` for text that is not I-JSON,
        not a version 1 ticket, or one whose `run_state` is not a string or whose `requests`
        is not an object of request objects (the requests are read by `request()`)."""
        data = loads_ijson(text)
        version = data.get("version") if isinstance(data, dict) else None
        if type(version) is not int or version != 1:
            raise ValueError("not a countersign ticket (version 1)")
        run_state, requests = data.get("run_state"), data.get("requests")
        if not isinstance(run_state, str):
            raise ValueError("a version 1 ticket's run_state is a string (RunState.to_string())")
        if not isinstance(requests, dict) or not all(isinstance(r, dict) for r in requests.values()):
            raise ValueError("a version 1 ticket's requests is an object of request objects by call id")
        return cls(run_state=run_state, requests=dict(requests))

    def request(self, call_id: str) -> DelegationRequest:
        """The request stored for `call_id`. Raises `ApprovalMismatch` when there is none,
        `ValueError` when it does not read back."""
        if call_id not in self.requests:
            raise ApprovalMismatch(f"the ticket has no request for call {call_id}")
        return DelegationRequest.from_wire(self.requests[call_id])


class CountersignApprovals:
    """Turns a run's interruptions into DelegationRequests and applies verified decisions.

    `request_for(call)` builds the DelegationRequest for a `PendingCall` (its delegation chain,
    action type, resource, tier…); the action's arguments must be the call's arguments, equal
    as JSON values (`1`, `1.0` and `true` are three different values), and its tool the call's
    tool.

    `client` submits, waits and provides the keys: a sync `Client` (its calls run in a worker
    thread inside `apply()`)."""

    def __init__(self, client: Client, *, request_for: Callable[[PendingCall], DelegationRequest]) -> None:
        self.client = client
        self.request_for = request_for

    @staticmethod
    def _bind(call: PendingCall, request: DelegationRequest) -> None:
        tool = request.action.tool.name if request.action.tool else None
        if tool != call.tool_name:
            raise ApprovalMismatch(f"call {call.call_id} is {call.tool_name}, the request is for {tool}")
        if not _json_equal(request.action.arguments, call.arguments):  # 1, 1.0 and true differ
            raise ApprovalMismatch(f"call {call.call_id}'s arguments are not the request's")

    def submit(self, result: Any) -> Ticket:
        """Submits a DelegationRequest for each interruption of `result` (a RunResult) and
        returns the ticket to store. Idempotent per request id. Raises `ApprovalMismatch` when
        a request is not for its call, `ValueError` when the run has no interruptions, and
        what `request_for` and `Client.submit()` raise."""
        ticket = Ticket(run_state=result.to_state().to_string())
        for item in result.interruptions:
            call = call_of(item)
            request = self.request_for(call)
            self._bind(call, request)
            self.client.submit(request)
            ticket.requests[call.call_id] = request.to_wire()
        if not ticket.requests:
            raise ValueError("the run has no interruptions to countersign")
        return ticket

    def verify(self, jws: str, request: DelegationRequest) -> Decision:
        """The verified decision `jws` for `request`, fetching the keys again once for an
        unknown `kid`. Raises `DecisionVerificationError`."""
        try:
            return verify_decision(jws, self.client.keys(), audience=self.client.audience, subject=request.subject)
        except DecisionVerificationError as e:
            if e.check != "kid":
                raise
            return verify_decision(jws, self.client.keys(refresh=True), audience=self.client.audience,
                                   subject=request.subject)

    async def apply(self, ticket: Ticket, agent: Agent[Any], *, decisions: Optional[Mapping[str, str]] = None,
                    timeout: Optional[float] = 0) -> RunState[Any, Agent[Any]]:
        """Loads the run state and approves/rejects every pending call from its verified
        decision: the JWS in `decisions[call_id]` (e.g. from a webhook) or, if absent, the
        gateway's (waiting up to `timeout` seconds; None: no limit). Raises, with nothing
        applied, if any decision is missing (`TimeoutError`), does not verify
        (`DecisionVerificationError`), the request ended without one (`RequestEnded`) or a
        call is not its request's (`ApprovalMismatch`). Returns the state, for
        `Runner.run(agent, state)`. The default `timeout` of 0 asks the gateway once."""
        state = await RunState.from_string(agent, ticket.run_state)
        plan: list[tuple[ToolApprovalItem, Decision]] = []
        for item in state.get_interruptions():
            call = call_of(item)
            request = ticket.request(call.call_id)
            self._bind(call, request)
            given = (decisions or {}).get(call.call_id)
            if given is not None:
                decision = await asyncio.to_thread(self.verify, given, request)
            else:
                outcome: DecisionOutcome = await asyncio.to_thread(self.client.wait, request, timeout=timeout)
                if outcome.state.is_open:
                    raise TimeoutError(f"request {request.request_id} is still {outcome.state.value}")
                decision = await asyncio.to_thread(self.client.verify, outcome, request)
            plan.append((item, decision))
        for item, decision in plan:
            if decision.approved:
                state.approve(item)
            else:
                state.reject(item, rejection_message=f"Rejected by {decision.reviewer}: {decision.reason}")
        return state
