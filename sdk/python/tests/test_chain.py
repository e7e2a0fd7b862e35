"""Chains across languages: what the SDK builds verifies with the Rust `countersign verify`
with no findings, and every widening the SDK refuses locally is the finding the Rust verifier
reports when the same hop is forced through (signed with no checks)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from countersign import (
    Delegation, DelegationRequest, InvalidRequest, KeyPair, WideningRefused, action, evidence,
    json_digest, sha256_digest, sign_hop,
)
from countersign.chain import hop_findings
from countersign.models import DelegationRequestModel

from conftest import Parties, cli_verify, run_cli


def errors(report: dict[str, Any]) -> set[tuple[str, Any]]:
    return {(f["code"], f["hop"]) for f in report["findings"] if f["severity"] == "error"}


def test_sdk_chain_verifies_in_rust_with_no_findings(cli: str, parties: Parties, tmp_path: Path) -> None:
    request = parties.payment()
    code, report = cli_verify(cli, tmp_path, request.to_json(), parties.trust_path)
    assert (code, report["verdict"], report["findings"]) == (0, "valid", [])
    # The digests a decision must name are the same on both sides.
    assert report["request_digest"] == request.subject.request_digest
    assert report["chain_digest"] == request.subject.chain_digest
    assert report["action_digest"] == request.subject.action_digest


def test_three_hops_with_evidence_commitments_verify(cli: str, parties: Parties, tmp_path: Path) -> None:
    note = evidence(id="approval-note", kind="tool_output", produced_by="agent:banking",
                    title="Balance check", content="Balance EUR 9 000,00 ✓ (ümlaut, emoji 💶)")
    chain = parties.chain().delegate(
        key=parties.banking, to="agent:clerk", to_key=parties.clerk, max_depth=0,
        scope=[{"type": "payments.transfer", "actions": ["initiate"], "locations": ["acct:ops"],
                "constraints": {"max_amount": "1250.00", "currency": "EUR", "payee": "ACME GmbH"}}],
        evidence=[{"id": note.id, "digest": note.digest}])
    request = DelegationRequest.build(
        delegation=chain,
        action=action(type="payments.transfer", operation="initiate", resource="acct:ops",
                      arguments={"amount": "99.95", "currency": "EUR", "payee": "ACME GmbH"},
                      requested_by="agent:clerk", summary="Pay", tier="high", reversible=True),
        evidence=[note], uncertainty=parties.payment().model.uncertainty)
    assert len(request.model.chain) == 3
    code, report = cli_verify(cli, tmp_path, request.to_json(), parties.trust_path)
    assert (code, report["findings"]) == (0, [])


def test_digests_are_the_clis_digests(cli: str, tmp_path: Path) -> None:
    arguments = {"amount": "1250.00", "payee": "Zoë & Søn", "lines": [{"n": 1, "x": 0.5}], "a": None}
    (tmp_path / "args.json").write_text(json.dumps(arguments, indent=3))
    assert run_cli(cli, "digest", "--json", str(tmp_path / "args.json")).stdout.strip() == json_digest(arguments)
    content = "Invoice — ACME\r\n\ttrailing spaces   \n"
    (tmp_path / "ev.txt").write_bytes(content.encode("utf-8"))
    item = evidence(id="e", kind="attachment", produced_by="agent:x", title="t", content=content)
    assert run_cli(cli, "digest", str(tmp_path / "ev.txt")).stdout.strip() == item.digest
    assert item.digest == sha256_digest(content.encode("utf-8"))


# Each widening: (name, how to call delegate() on the 2-hop chain as the banking agent,
# the codes expected at hop 2).
Widening = Callable[[Parties, Delegation], dict[str, Any]]
BASE = {"type": "payments.transfer", "actions": ["initiate"], "locations": ["acct:ops"],
        "constraints": {"max_amount": "1250.00", "currency": "EUR"}}


def _entry(**change: Any) -> list[dict[str, Any]]:
    entry = json.loads(json.dumps(BASE))
    for key, value in change.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return [entry]


WIDENINGS: list[tuple[str, Callable[[Parties, Delegation], dict[str, Any]], set[str]]] = [
    ("new type", lambda p, d: {"scope": _entry() + [{"type": "data.export", "actions": ["send"]}]},
     {"GHOST_PERMISSION"}),
    ("new action", lambda p, d: {"scope": _entry(actions=["initiate", "refund"])}, {"GHOST_PERMISSION"}),
    ("new location", lambda p, d: {"scope": _entry(locations=["acct:ops", "acct:treasury"])}, {"GHOST_PERMISSION"}),
    ("any location", lambda p, d: {"scope": _entry(locations=None)}, {"GHOST_PERMISSION"}),
    ("raised limit", lambda p, d: {"scope": _entry(constraints={"max_amount": "1250.01", "currency": "EUR"})},
     {"LIMIT_INCREASED"}),
    ("limit as a larger number", lambda p, d: {"scope": _entry(constraints={"max_amount": 10000, "currency": "EUR"})},
     {"LIMIT_INCREASED"}),
    ("dropped constraint", lambda p, d: {"scope": _entry(constraints={"max_amount": "100"})}, {"LIMIT_INCREASED"}),
    ("exact value made a set", lambda p, d: {"scope": _entry(constraints={"max_amount": "100", "currency": ["EUR", "USD"]})},
     {"LIMIT_INCREASED"}),
    ("extended expiry", lambda p, d: {"scope": _entry(), "expires_at": d.leaf.exp + 60}, {"EXPIRY_EXTENDED"}),
    ("depth not reduced", lambda p, d: {"scope": _entry(), "max_depth": d.leaf.max_depth}, {"DEPTH_EXCEEDED"}),
    ("negative depth", lambda p, d: {"scope": _entry(), "max_depth": -1}, {"DEPTH_EXCEEDED"}),
    ("changed purpose", lambda p, d: {"scope": _entry(), "purpose": {"id": "marketing:deck", "text": "Make slides"}},
     {"PURPOSE_DRIFT"}),
    ("ghost under a new purpose", lambda p, d: {"scope": _entry(actions=["initiate", "export"]),
                                                "purpose": {"id": "marketing:deck", "text": "Make slides"}},
     {"GHOST_PERMISSION", "PURPOSE_DRIFT"}),
]


@pytest.mark.parametrize("name, widen, codes", WIDENINGS, ids=[w[0] for w in WIDENINGS])
def test_local_refusal_is_the_rust_finding(name: str, widen: Widening, codes: set[str], cli: str,
                                           parties: Parties, tmp_path: Path) -> None:
    chain = parties.chain()
    kwargs = widen(parties, chain)
    with pytest.raises(WideningRefused) as refused:
        chain.delegate(key=parties.banking, to="agent:clerk", to_key=parties.clerk, **kwargs)
    local = {(f.code, f.hop) for f in refused.value.findings}
    assert local == {(code, 2) for code in codes}
    assert refused.value.code in codes
    # The same hop, forced through: signed with no checks.
    claims = chain.next_hop_claims(to="agent:clerk", to_key=parties.clerk, **kwargs)
    forced = Delegation.from_chain(chain.chain + [sign_hop(claims, parties.banking)])
    request = _forced_request(parties, forced)
    code, report = cli_verify(cli, tmp_path, request, parties.trust_path)
    assert code == 1
    assert errors(report) == local


def _forced_request(parties: Parties, chain: Delegation) -> dict[str, Any]:
    """A request on `chain` acting within hop 1's scope (the leaf here is the widened hop),
    requested by the leaf delegatee: only the widening itself is wrong."""
    wire = parties.payment(parties.chain(), amount="10.00").to_wire()
    wire["chain"], wire["txn"] = chain.chain, chain.txn
    wire["action"]["requested_by"] = chain.leaf.sub
    return wire


def test_wrong_signing_key_is_key_binding_mismatch(cli: str, parties: Parties, tmp_path: Path) -> None:
    chain = parties.chain()
    # The clerk's key is registered (for agent:clerk), but hop 1 bound the delegation to the
    # banking agent's key, so the clerk cannot sign as the banking agent.
    with pytest.raises(WideningRefused) as refused:
        chain.delegate(key=parties.clerk, to="agent:clerk", to_key=parties.clerk, scope=_entry())
    assert refused.value.code == "KEY_BINDING_MISMATCH"
    # Forced: the Rust verifier, which looks keys up by identity (iss = agent:banking), sees a
    # key not registered for agent:banking.
    claims = chain.next_hop_claims(to="agent:clerk", to_key=parties.clerk, scope=_entry())
    forced = Delegation.from_chain(chain.chain + [sign_hop(claims, parties.clerk)])
    code, report = cli_verify(cli, tmp_path, _forced_request(parties, forced), parties.trust_path)
    assert code == 1 and ("UNKNOWN_KEY", 2) in errors(report)


def test_depth_zero_parent_refuses_any_delegation(cli: str, parties: Parties, tmp_path: Path) -> None:
    leaf = parties.grant(max_depth=1).delegate(key=parties.bookkeeper, to="agent:banking",
                                               to_key=parties.banking, scope=_entry())
    assert leaf.leaf.max_depth == 0
    with pytest.raises(WideningRefused) as refused:
        leaf.delegate(key=parties.banking, to="agent:clerk", to_key=parties.clerk, scope=_entry(), max_depth=0)
    assert {(f.code, f.hop) for f in refused.value.findings} == {("DEPTH_EXCEEDED", 2)}
    claims = leaf.next_hop_claims(to="agent:clerk", to_key=parties.clerk, scope=_entry(), max_depth=0)
    forced = Delegation.from_chain(leaf.chain + [sign_hop(claims, parties.banking)])
    code, report = cli_verify(cli, tmp_path, _forced_request(parties, forced), parties.trust_path)
    assert errors(report) == {("DEPTH_EXCEEDED", 2)}


@pytest.mark.parametrize("case, codes", [
    ("over the leaf limit", {("ACTION_OUTSIDE_LEAF_SCOPE", 1)}),
    ("undelegated actor", {("UNDELEGATED_ACTOR", None)}),
    ("evidence missing", {("EVIDENCE_DIGEST_MISMATCH", 1)}),
])
def test_request_refusals_are_the_rust_findings(case: str, codes: set, cli: str, parties: Parties,
                                                tmp_path: Path) -> None:
    good = parties.payment()
    wire = good.to_wire()
    chain = parties.chain()
    if case == "over the leaf limit":
        arguments = dict(wire["action"]["arguments"], amount="1250.50")
        make = lambda: parties.payment(amount="1250.50")  # noqa: E731
    elif case == "undelegated actor":
        arguments = None
        make = lambda: DelegationRequest.build(  # noqa: E731
            delegation=chain, action=good.action.model_copy(update={"requested_by": "agent:clerk"}),
            evidence=good.model.evidence, uncertainty=good.model.uncertainty)
    else:
        arguments = None
        committed = parties.grant().delegate(
            key=parties.bookkeeper, to="agent:banking", to_key=parties.banking, scope=_entry(),
            evidence=[{"id": "bank-statement", "digest": sha256_digest(b"statement")}])
        make = lambda: parties.payment(committed)  # noqa: E731
    with pytest.raises(InvalidRequest) as refused:
        make()
    assert {(f.code, f.hop) for f in refused.value.findings} == codes
    # Forced: the same request built without the SDK's checks.
    if case == "over the leaf limit":
        wire["action"]["arguments"] = arguments
        wire["action"]["arguments_digest"] = json_digest(arguments)
    elif case == "undelegated actor":
        wire["action"]["requested_by"] = "agent:clerk"
    else:
        wire["chain"], wire["txn"] = committed.chain, committed.txn
    DelegationRequestModel.model_validate(wire)  # still a well-formed request
    code, report = cli_verify(cli, tmp_path, wire, parties.trust_path)
    assert errors(report) == codes


def test_the_rust_demo_chains_get_the_same_findings_here(cli: str, tmp_path: Path) -> None:
    """The other direction: chains the Rust code built and signed, checked by the SDK's rules."""
    run_cli(cli, "demo-requests", str(tmp_path / "demo"))
    index = json.loads((tmp_path / "demo" / "index.json").read_text())
    checked = 0
    for scenario in index["scenarios"]:
        request = json.loads((tmp_path / "demo" / scenario["file"]).read_text())
        delegation = Delegation.from_chain(request["chain"])
        local = set()
        for i, hop in enumerate(delegation.hops):
            parent = delegation.hops[i - 1] if i else None
            local |= {(f.code, f.hop) for f in hop_findings(
                i, hop.claims, parent.claims if parent else None, parent.jws if parent else None,
                None, request["purpose"]["id"], int(time.time()))}
        expected = {(f["code"], f["hop"]) for f in scenario["expected_findings"]
                    if f["code"] in {"GHOST_PERMISSION", "LIMIT_INCREASED", "PURPOSE_DRIFT",
                                     "EXPIRY_EXTENDED", "DEPTH_EXCEEDED", "BROKEN_LINK"}}
        assert local == expected, scenario["slug"]
        checked += bool(expected)
    assert checked == 2  # ghost export (GHOST_PERMISSION + PURPOSE_DRIFT) and widened recipients


def test_integers_beyond_2_53_are_refused_before_signing(parties: Parties) -> None:
    with pytest.raises(ValueError):
        action(type="payments.transfer", operation="initiate", resource="acct:ops",
               arguments={"amount": 2 ** 60}, requested_by="agent:banking", summary="x",
               tier="low", reversible=True)


def test_from_wire_round_trips_and_keeps_the_digests(parties: Parties) -> None:
    request = parties.payment(callback_url="http://127.0.0.1:9/hook")
    again = DelegationRequest.from_wire(request.to_json())
    assert again.subject == request.subject
    assert "escalate" not in request.to_wire() and request.to_wire()["callback"] == {"url": "http://127.0.0.1:9/hook"}
    with pytest.raises(ValueError):
        DelegationRequest.from_wire(request.to_json().replace('"request_id"', '"request_id":"x","request_id"', 1))


def test_hop_zero_must_not_be_born_expired(parties: Parties) -> None:
    with pytest.raises(WideningRefused) as refused:
        parties.grant(ttl=-5)
    assert refused.value.code == "EXPIRED"


def test_keys_given_as_thumbprints_bind_the_same(parties: Parties) -> None:
    other = KeyPair.generate()
    chain = parties.grant().delegate(key=parties.bookkeeper, to="agent:banking",
                                     to_key=other.thumbprint, scope=_entry())
    assert chain.leaf.cnf.jkt == other.thumbprint
    assert chain.leaf.prev == sha256_digest(chain.chain[0].encode())


def test_hop_findings_needs_the_parents_jws_even_under_python_O(parties: Parties) -> None:
    """A real check, not an `assert` that `python -O` strips."""
    hops = parties.chain().hops
    with pytest.raises(ValueError, match="parent's JWS"):
        hop_findings(1, hops[1].claims, hops[0].claims, None, None)
    assert hop_findings(1, hops[1].claims, hops[0].claims, hops[0].jws, None) == []
