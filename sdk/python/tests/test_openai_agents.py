"""The OpenAI Agents SDK adapter with the real `openai-agents` package, its ScriptedModel (no
network) and the real gateway: needs_approval tool calls become DelegationRequests, the run
state is serialized, and approve/reject are applied only from verified decisions."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")

from agents import Agent, Runner, function_tool  # noqa: E402
from agents.testing import ScriptedModel, assistant_message, function_call  # noqa: E402

from countersign import DecisionVerificationError, KeyPair, action, uncertainty, DelegationRequest  # noqa: E402
from countersign.openai_agents import ApprovalMismatch, CountersignApprovals, PendingCall, Ticket  # noqa: E402

from conftest import Gateway, Parties  # noqa: E402

ARGS = {"amount": "1250.00", "currency": "EUR", "payee": "ACME GmbH", "invoice": "4711"}


def make_agent(paid: list[dict[str, Any]], arguments: dict[str, Any] = ARGS) -> Agent[Any]:
    @function_tool(needs_approval=True)
    def pay_invoice(amount: str, currency: str, payee: str, invoice: str) -> str:
        """Pays an invoice from the operations account."""
        paid.append({"amount": amount, "currency": currency, "payee": payee, "invoice": invoice})
        return f"paid {currency} {amount} to {payee}"

    model = ScriptedModel([[function_call("pay_invoice", arguments, call_id="call-pay-1")],
                           [assistant_message("The invoice is settled (or not).")]])
    return Agent(name="payments", instructions="Pay approved invoices.", model=model, tools=[pay_invoice])


def approvals_for(parties: Parties, client) -> CountersignApprovals:
    def request_for(call: PendingCall) -> DelegationRequest:
        chain = parties.chain()
        return DelegationRequest.build(
            delegation=chain,
            action=action(type="payments.transfer", operation="initiate", resource="acct:ops",
                          arguments=call.arguments, requested_by=chain.leaf.sub, tool=call.tool_name,
                          summary=f"Pay {call.arguments['payee']} EUR {call.arguments['amount']}",
                          tier="critical", reversible=False, value=(call.arguments["amount"], "EUR")),
            uncertainty=uncertainty(0.8, "model self-report"))
    return CountersignApprovals(client, request_for=request_for)


def paused(parties: Parties, client, paid: list) -> tuple[Agent[Any], CountersignApprovals, Ticket]:
    agent = make_agent(paid)
    result = asyncio.run(Runner.run(agent, "Pay invoice 4711"))
    assert [i.tool_name for i in result.interruptions] == ["pay_invoice"]
    approvals = approvals_for(parties, client)
    ticket = approvals.submit(result)
    return agent, approvals, Ticket.from_json(ticket.to_json())  # as if stored for hours


def test_an_approval_resumes_the_serialized_run_and_runs_the_tool(gateway: Gateway, parties: Parties, client) -> None:
    paid: list = []
    agent, approvals, ticket = paused(parties, client, paid)
    (request_id,) = [r["request_id"] for r in ticket.requests.values()]
    assert gateway.reviewer.record(request_id)["request"]["action"]["arguments"] == ARGS
    assert paid == []
    gateway.reviewer.decide(request_id)
    fresh = make_agent(paid)  # a new process would rebuild the agent the same way
    state = asyncio.run(approvals.apply(ticket, fresh, timeout=10))
    result = asyncio.run(Runner.run(fresh, state))
    assert paid == [ARGS]
    assert result.final_output == "The invoice is settled (or not)."


def test_a_verified_rejection_rejects_the_call(gateway: Gateway, parties: Parties, client) -> None:
    paid: list = []
    agent, approvals, ticket = paused(parties, client, paid)
    (request_id,) = [r["request_id"] for r in ticket.requests.values()]
    gateway.reviewer.decide(request_id, "reject")
    fresh = make_agent(paid)
    state = asyncio.run(approvals.apply(ticket, fresh, timeout=10))
    result = asyncio.run(Runner.run(fresh, state))
    assert paid == [] and result.interruptions == []
    # The model was told why: the reviewer's signed reason.
    assert "Rejected by user:rita: rejected by the SDK test reviewer" in str(fresh.model.last_call.input)


def test_unverified_decisions_are_never_applied(gateway: Gateway, parties: Parties, client) -> None:
    paid: list = []
    agent, approvals, ticket = paused(parties, client, paid)
    ((call_id, wire),) = ticket.requests.items()
    other = parties.payment()
    client.submit(other)
    for forged, check in [
        ("approve", "format"),
        (gateway.reviewer.decide(other.request_id), "request_id"),          # real, for another request
        (KeyPair.generate().sign_jws("delegation-decision+jwt", {"request_id": wire["request_id"]}), "kid"),
        (gateway.reviewer.decision_jws(wire["request_id"], aud="elsewhere"), "aud"),
    ]:
        with pytest.raises(DecisionVerificationError) as refused:
            asyncio.run(approvals.apply(ticket, make_agent(paid), decisions={call_id: forged}))
        assert refused.value.check == check
    # Nothing decided at the gateway yet: apply() refuses to guess.
    with pytest.raises(TimeoutError):
        asyncio.run(approvals.apply(ticket, make_agent(paid), timeout=0))
    assert paid == []


def test_a_call_whose_arguments_changed_is_never_approved(gateway: Gateway, parties: Parties, client) -> None:
    paid: list = []
    agent, approvals, ticket = paused(parties, client, paid)
    ((call_id, wire),) = ticket.requests.items()
    gateway.reviewer.decide(wire["request_id"])
    # The stored run state is edited to pay more than what the reviewer approved.
    tampered = Ticket(run_state=ticket.run_state.replace("1250.00", "9999.00"), requests=ticket.requests)
    assert tampered.run_state != ticket.run_state
    with pytest.raises(ApprovalMismatch):
        asyncio.run(approvals.apply(tampered, make_agent(paid), timeout=5))
    assert paid == []


def ship_agent(shipped: list[Any]) -> Agent[Any]:
    @function_tool(needs_approval=True)
    def ship_cheques(amount: str, currency: str, payee: str, copies: int) -> str:
        """Prints and ships cheques."""
        shipped.append(copies)
        return f"shipped {copies}"

    arguments = {"amount": "100.00", "currency": "EUR", "payee": "ACME GmbH", "copies": 1}
    model = ScriptedModel([[function_call("ship_cheques", arguments, call_id="call-ship-1")],
                           [assistant_message("Shipped (or not).")]])
    return Agent(name="cheques", instructions="Ship cheques.", model=model, tools=[ship_cheques])


def ship_approvals(parties: Parties, client, copies: Any = None) -> CountersignApprovals:
    def request_for(call: PendingCall) -> DelegationRequest:
        chain = parties.chain()
        arguments = dict(call.arguments) if copies is None else {**call.arguments, "copies": copies}
        return DelegationRequest.build(
            delegation=chain,
            action=action(type="payments.transfer", operation="initiate", resource="acct:ops",
                          arguments=arguments, requested_by=chain.leaf.sub, tool=call.tool_name,
                          summary=f"Ship {arguments['copies']} cheque(s) to {arguments['payee']}",
                          tier="critical", reversible=False),
            uncertainty=uncertainty(0.8, "model self-report"))
    return CountersignApprovals(client, request_for=request_for)


@pytest.mark.parametrize("copies", [True, 1.0])
def test_arguments_are_compared_as_json_so_1_is_not_true_or_1_0(parties: Parties, client, copies: Any) -> None:
    """The call asks for `copies: 1`; a request for `true` or `1.0` is not its request."""
    result = asyncio.run(Runner.run(ship_agent([]), "Ship one cheque to ACME"))
    with pytest.raises(ApprovalMismatch, match="arguments"):
        ship_approvals(parties, client, copies).submit(result)


@pytest.mark.parametrize("tampered", ["true", "1.0"])
def test_a_run_state_edited_from_1_to_true_or_1_0_is_never_approved(
        gateway: Gateway, parties: Parties, client, tampered: str) -> None:
    shipped: list[Any] = []
    result = asyncio.run(Runner.run(ship_agent(shipped), "Ship one cheque to ACME"))
    approvals = ship_approvals(parties, client)
    ticket = approvals.submit(result)
    ((call_id, wire),) = ticket.requests.items()
    assert wire["action"]["arguments"]["copies"] == 1
    gateway.reviewer.decide(wire["request_id"])
    assert asyncio.run(approvals.apply(ticket, ship_agent(shipped), timeout=5)) is not None  # untouched: fine
    edited = Ticket(run_state=ticket.run_state.replace('\\"copies\\":1}', f'\\"copies\\":{tampered}}}'),
                    requests=ticket.requests)
    assert edited.run_state != ticket.run_state
    with pytest.raises(ApprovalMismatch):
        asyncio.run(approvals.apply(edited, ship_agent(shipped), timeout=5))
    assert shipped == []


@pytest.mark.parametrize("text, message", [
    ('{"version": 1, "requests": {}}', "run_state"),
    ('{"version": 1, "run_state": 7, "requests": {}}', "run_state"),
    ('{"version": 1, "run_state": "{}"}', "requests"),
    ('{"version": 1, "run_state": "{}", "requests": 5}', "requests"),
    ('{"version": 1, "run_state": "{}", "requests": [["call-1", {}]]}', "requests"),
    ('{"version": 1, "run_state": "{}", "requests": {"call-1": "req-1"}}', "requests"),
    ('{"version": true, "run_state": "{}", "requests": {}}', "version 1"),
    ('{"version": 1.0, "run_state": "{}", "requests": {}}', "version 1"),
    ('[1]', "version 1"),
    ('{"version": 1, "version": 1}', "twice"),
])
def test_a_malformed_ticket_is_a_value_error_that_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Ticket.from_json(text)


def test_a_ticket_reads_back() -> None:
    ticket = Ticket(run_state='{"x": 1}', requests={"call-1": {"request_id": "req-1"}})
    assert Ticket.from_json(ticket.to_json()) == ticket
