"""The client against the real gateway binary on loopback (fresh SQLite database): submit,
wait, verify, receipts, notes, typed errors, webhooks; decisions verified against the JWKS."""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import threading
import time
import uuid
from typing import Any

import httpx
import pytest

from countersign import (
    AsyncClient, ChainRefused, Client, DecisionVerificationError, Delegation, GatewayError,
    KeyPair, NetworkError, ProtocolError, RequestState, WebhookVerificationError, sign_hop,
    verify_decision,
)
from countersign.client import WEBHOOK_KEYS_PATH
from countersign.decision import KeySet, verify_webhook
from countersign.digest import sha256_digest
from countersign.models import DecisionOutcome

from conftest import AUDIENCE, Gateway, Parties


def decide_soon(gateway: Gateway, request_id: str, decision: str = "approve", delay: float = 0.3) -> threading.Thread:
    """The reviewer decides from another thread while the workflow long-polls."""
    def work() -> None:
        time.sleep(delay)
        gateway.reviewer.decide(request_id, decision)
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_request_approval_returns_a_verified_approval_and_takes_a_receipt(
        gateway: Gateway, parties: Parties, client: Client) -> None:
    request = parties.payment()
    thread = decide_soon(gateway, request.request_id)
    started = time.monotonic()
    decision = client.request_approval(request, timeout=30)
    thread.join()
    assert decision.approved and decision.reviewer == "user:rita"
    assert decision.claims.request_digest == request.subject.request_digest
    assert time.monotonic() - started < 10  # woken by the decision, not by the poll running out
    assert client.post_receipt(request, "executed", detail="paid", result={"transfer": "tx-1"}) is True
    assert client.post_receipt(request, "executed", detail="paid", result={"transfer": "tx-1"}) is False
    record = gateway.reviewer.record(request.request_id)
    assert record["state"] == "approved"


def test_a_rejection_is_a_verified_decision_that_is_not_approved(
        gateway: Gateway, parties: Parties, client: Client) -> None:
    request = parties.payment()
    decide_soon(gateway, request.request_id, "reject")
    decision = client.request_approval(request, timeout=30)
    assert (decision.approved, decision.decision) == (False, "reject")
    assert "reject" in decision.reason
    assert client.post_receipt(request, "skipped", detail="rejected by the reviewer")


def test_submit_is_idempotent_and_a_changed_body_conflicts(parties: Parties, client: Client) -> None:
    request = parties.payment()
    first = client.submit(request)
    again = client.submit(request)
    assert first.state == again.state == RequestState.PENDING
    assert first.report == again.report and first.report.verdict == "valid"
    other = parties.payment(request_id=request.request_id, amount="1000.00")
    with pytest.raises(GatewayError) as conflict:
        client.submit(other)
    assert (conflict.value.status, conflict.value.code) == (409, "request_id_conflict")


def test_wait_runs_out_open_and_resumes_from_the_id_alone(gateway: Gateway, parties: Parties) -> None:
    request = parties.payment()
    with gateway.client() as first:
        first.submit(request)
        started = time.monotonic()
        outcome = first.wait(request, timeout=1)
        assert outcome.state == RequestState.PENDING and outcome.decision_jws is None
        assert time.monotonic() - started >= 0.9
    gateway.reviewer.decide(request.request_id)
    with gateway.client() as later:  # e.g. after a restart: only the request id is needed
        outcome = later.wait(request.request_id, timeout=10)
        assert outcome.state == RequestState.APPROVED
        assert later.verify(outcome, request).approved


def _waits(requests: list[httpx.Request]) -> list[str]:
    return [r.url.params["wait"] for r in requests if r.url.path.endswith("/decision")]


@pytest.mark.parametrize("timeout, waits", [(0.9, ["1"]), (0.2, ["1"]), (0, ["0"])])
def test_wait_with_under_a_second_left_long_polls_once(gateway: Gateway, parties: Parties,
                                                       timeout: float, waits: list[str]) -> None:
    """The time left rounds up: one long-poll of a second, never `wait=0` back to back."""
    request = parties.payment()
    sent: list[httpx.Request] = []
    with httpx.Client(event_hooks={"request": [sent.append]}) as http, gateway.client(http=http) as c:
        c.submit(request)
        started = time.monotonic()
        outcome = c.wait(request, timeout=timeout)
    assert outcome.state == RequestState.PENDING
    assert _waits(sent) == waits
    assert time.monotonic() - started >= (0.9 if waits == ["1"] else 0)


def test_async_wait_with_under_a_second_left_long_polls_once(gateway: Gateway, parties: Parties) -> None:
    request = parties.payment()
    sent: list[httpx.Request] = []

    async def record(r: httpx.Request) -> None:
        sent.append(r)

    async def flow() -> DecisionOutcome:
        async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
            async with AsyncClient(gateway.url, gateway.token, audience=AUDIENCE, http=http) as c:
                await c.submit(request)
                return await c.wait(request, timeout=0.9)

    assert asyncio.run(flow()).state == RequestState.PENDING
    assert _waits(sent) == ["1"]


def test_wait_never_spins_on_a_gateway_that_answers_at_once(parties: Parties) -> None:
    """A gateway answering open at once (as one that is stopping does) is asked about once a
    second, not in a loop."""
    request = parties.payment()
    sent: list[httpx.Request] = []

    def at_once(req: httpx.Request) -> httpx.Response:
        sent.append(req)
        return httpx.Response(200, json={"request_id": request.request_id, "state": "pending"})

    with Client("http://gateway.invalid", "cswf_x", audience=AUDIENCE,
                http=httpx.Client(transport=httpx.MockTransport(at_once))) as c:
        started = time.monotonic()
        assert c.wait(request, timeout=2.5).state == RequestState.PENDING
        assert time.monotonic() - started >= 2.5
    assert 3 <= len(sent) <= 5, _waits(sent)
    assert all(w != "0" for w in _waits(sent)[:-1])

    async def flow() -> DecisionOutcome:
        async with AsyncClient("http://gateway.invalid", "cswf_x", audience=AUDIENCE,
                               http=httpx.AsyncClient(transport=httpx.MockTransport(at_once))) as c:
            return await c.wait(request, timeout=1.5)

    sent.clear()
    assert asyncio.run(flow()).state == RequestState.PENDING
    assert 2 <= len(sent) <= 4, _waits(sent)


def test_a_forged_hop_is_refused_with_the_report(parties: Parties, client: Client) -> None:
    chain = parties.grant()
    intruder = KeyPair.generate()
    claims = chain.next_hop_claims(to="agent:banking", to_key=parties.banking,
                                   scope=[{"type": "payments.transfer", "actions": ["initiate"],
                                           "locations": ["acct:ops"],
                                           "constraints": {"max_amount": "1250.00", "currency": "EUR"}}])
    forged = Delegation.from_chain(chain.chain + [sign_hop(claims, intruder)])
    with pytest.raises(ChainRefused) as refused:
        client.submit(parties.payment(forged))
    assert refused.value.code == "chain_refused" and refused.value.status == 422
    assert ("UNKNOWN_KEY", 1) in {(f.code, f.hop) for f in refused.value.report.findings}


def test_a_widened_chain_is_escalated(parties: Parties, client: Client) -> None:
    chain = parties.grant()
    claims = chain.next_hop_claims(to="agent:banking", to_key=parties.banking,
                                   scope=[{"type": "payments.transfer", "actions": ["initiate"],
                                           "locations": ["acct:ops"],
                                           "constraints": {"max_amount": "99999.00", "currency": "EUR"}}])
    widened = Delegation.from_chain(chain.chain + [sign_hop(claims, parties.bookkeeper)])
    answer = client.submit(parties.payment(widened))
    assert answer.state == RequestState.ESCALATED
    assert "LIMIT_INCREASED" in answer.report.codes()


def test_bad_credentials_are_a_gateway_error_and_no_gateway_a_network_error(
        gateway: Gateway, parties: Parties) -> None:
    with Client(gateway.url, "cswf_not-a-real-token", audience=AUDIENCE) as wrong:
        with pytest.raises(GatewayError) as denied:
            wrong.submit(parties.payment())
    assert (denied.value.status, denied.value.code) == (401, "unauthenticated")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with Client(f"http://127.0.0.1:{closed_port}", gateway.token, audience=AUDIENCE, timeout=2) as nobody:
        with pytest.raises(NetworkError):
            nobody.submit(parties.payment())
    assert not issubclass(NetworkError, GatewayError)


def test_an_unknown_request_is_not_found(client: Client) -> None:
    with pytest.raises(GatewayError) as missing:
        client.status(f"req-{uuid.uuid4()}")
    assert missing.value.code == "not_found"


def test_notes_while_waiting(gateway: Gateway, parties: Parties, client: Client) -> None:
    request = parties.payment()
    client.submit(request)
    assert client.post_note(request, "n-1", "The supplier called: the invoice is urgent.") is True
    assert client.post_note(request, "n-1", "The supplier called: the invoice is urgent.") is False
    with pytest.raises(GatewayError) as reused:
        client.post_note(request, "n-1", "another text under the same id")
    assert reused.value.code == "invalid_body"
    record = gateway.reviewer.record(request.request_id)
    assert [n["text"] for n in record["notes"]] == ["The supplier called: the invoice is urgent."]
    gateway.reviewer.decide(request.request_id, "reject")
    with pytest.raises(GatewayError) as ended:
        client.post_note(request, "n-2", "too late")
    assert (ended.value.status, ended.value.code) == (409, "not_pending")
    with pytest.raises(ValueError):
        client.post_note(request, "n-3", "x" * 4001)


# -- decision verification ---------------------------------------------------------------------


@pytest.fixture()
def approved(gateway: Gateway, parties: Parties, client: Client):
    request = parties.payment()
    client.submit(request)
    jws = gateway.reviewer.decide(request.request_id)
    return request, jws, client.keys()


def test_a_reviewer_signed_decision_verifies(gateway: Gateway, approved) -> None:
    request, jws, keys = approved
    decision = verify_decision(jws, keys, audience=AUDIENCE, subject=request.subject)
    assert decision.approved and decision.kid == gateway.reviewer.key.thumbprint
    assert isinstance(keys, KeySet) and gateway.reviewer.key.thumbprint in keys


def _resign(key: KeyPair, jws: str, typ: str = "delegation-decision+jwt", **change: Any) -> str:
    import jwt as pyjwt
    claims = pyjwt.decode(jws, options={"verify_signature": False})
    claims.update(change)
    return key.sign_jws(typ, claims)


@pytest.mark.parametrize("tamper, check", [
    (lambda g, jws: _resign(KeyPair.generate(), jws), "kid"),                          # forged: unenrolled key
    (lambda g, jws: jws[:-6] + ("AAAAAA" if not jws.endswith("AAAAAA") else "BBBBBB"), "signature"),
    (lambda g, jws: _resign(g.reviewer.key, jws, aud="another-gateway"), "aud"),
    (lambda g, jws: _resign(g.reviewer.key, jws, exp=int(time.time()) - 3600), "exp"),
    (lambda g, jws: _resign(g.reviewer.key, jws, request_id="req-other"), "request_id"),
    (lambda g, jws: _resign(g.reviewer.key, jws, txn="txn-other"), "txn"),
    (lambda g, jws: _resign(g.reviewer.key, jws, request_digest="sha256:" + "0" * 64), "request_digest"),
    (lambda g, jws: _resign(g.reviewer.key, jws, chain_digest="sha256:" + "1" * 64), "chain_digest"),
    (lambda g, jws: _resign(g.reviewer.key, jws, action_digest="sha256:" + "2" * 64), "action_digest"),
    (lambda g, jws: _resign(g.reviewer.key, jws, typ="delegation-hop+jwt"), "typ"),
    (lambda g, jws: _resign(g.reviewer.key, jws, decision="maybe"), "claims"),
    (lambda g, jws: "approve", "format"),
])
def test_forged_or_mismatched_decisions_are_refused(gateway: Gateway, approved, tamper, check: str) -> None:
    request, jws, keys = approved
    with pytest.raises(DecisionVerificationError) as refused:
        verify_decision(tamper(gateway, jws), keys, audience=AUDIENCE, subject=request.subject)
    assert refused.value.check == check


def test_alg_none_and_hs256_are_refused(approved) -> None:
    import jwt as pyjwt
    request, jws, keys = approved
    claims = pyjwt.decode(jws, options={"verify_signature": False})
    kid = pyjwt.get_unverified_header(jws)["kid"]
    for token in (pyjwt.encode(claims, None, algorithm="none", headers={"typ": "delegation-decision+jwt", "kid": kid}),
                  pyjwt.encode(claims, "secret" * 8, algorithm="HS256", headers={"typ": "delegation-decision+jwt", "kid": kid})):
        with pytest.raises(DecisionVerificationError) as refused:
            verify_decision(token, keys, audience=AUDIENCE, subject=request.subject)
        assert refused.value.check == "alg"


def test_a_decision_for_another_request_is_refused(gateway: Gateway, parties: Parties, approved) -> None:
    request, jws, keys = approved
    other = parties.payment()
    with pytest.raises(DecisionVerificationError) as refused:
        verify_decision(jws, keys, audience=AUDIENCE, subject=other.subject)
    assert refused.value.check == "request_id"


def test_an_outcome_whose_state_contradicts_its_decision_is_refused(gateway: Gateway, parties: Parties,
                                                                    client: Client) -> None:
    request = parties.payment()
    client.submit(request)
    reject = gateway.reviewer.decision_jws(request.request_id, "reject")
    lying = DecisionOutcome(request_id=request.request_id, state=RequestState.APPROVED, decision_jws=reject)
    with pytest.raises(DecisionVerificationError) as refused:
        client.verify(lying, request)
    assert refused.value.check == "decision"


@pytest.mark.parametrize("state", [RequestState.APPROVED, RequestState.REJECTED])
def test_a_settled_outcome_without_a_decision_is_refused_even_under_python_O(
        parties: Parties, client: Client, state: RequestState) -> None:
    """A real check, not an `assert` that `python -O` strips."""
    request = parties.payment()
    with pytest.raises(DecisionVerificationError) as refused:
        client.verify(DecisionOutcome(request_id=request.request_id, state=state), request)
    assert refused.value.check == "format"


def test_a_submit_answer_with_other_digests_is_a_protocol_error(gateway: Gateway, parties: Parties) -> None:
    request = parties.payment()

    def lie(req: httpx.Request) -> httpx.Response:
        report = {"verdict": "valid", "findings": [], "request_digest": "sha256:" + "9" * 64,
                  "chain_digest": request.subject.chain_digest, "action_digest": request.subject.action_digest}
        return httpx.Response(201, json={"request_id": request.request_id, "state": "pending", "report": report})

    with Client(gateway.url, gateway.token, audience=AUDIENCE, http=httpx.Client(transport=httpx.MockTransport(lie))) as c:
        with pytest.raises(ProtocolError, match="request_digest"):
            c.submit(request)

    def duplicate(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"request_id":"a","request_id":"b","state":"approved"}')

    with Client(gateway.url, gateway.token, audience=AUDIENCE, http=httpx.Client(transport=httpx.MockTransport(duplicate))) as c:
        with pytest.raises(ProtocolError, match="I-JSON"):
            c.status(request)


def test_async_client_request_approval(gateway: Gateway, parties: Parties) -> None:
    request = parties.payment()

    async def flow() -> Any:
        async with AsyncClient(gateway.url, gateway.token, audience=AUDIENCE) as client:
            decide_soon(gateway, request.request_id)
            decision = await client.request_approval(request, timeout=30)
            assert await client.post_receipt(request, "executed", detail="paid async")
            return decision

    decision = asyncio.run(flow())
    assert decision.approved and decision.request_id == request.request_id


# -- webhooks ------------------------------------------------------------------------------------


class _Receiver(http.server.BaseHTTPRequestHandler):
    deliveries: list[tuple[bytes, dict[str, str]]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).deliveries.append((body, {k: v for k, v in self.headers.items()}))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_webhook_signed_by_the_gateway_verifies_and_tampering_is_refused(
        gateway: Gateway, parties: Parties, client: Client) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        request = parties.payment(callback_url=f"http://127.0.0.1:{server.server_port}/countersign")
        client.submit(request)
        gateway.reviewer.decide(request.request_id)
        body, headers = _delivered(request.request_id)
        delivery, decision = client.verify_webhook(body, headers, request)
        assert delivery.state == RequestState.APPROVED and decision is not None and decision.approved
        tampered = body.replace(b'"approved"', b'"rejected"')
        assert tampered != body
        with pytest.raises(WebhookVerificationError) as refused:
            client.verify_webhook(tampered, headers, request)
        assert refused.value.check == "body_digest"
        with pytest.raises(WebhookVerificationError) as unsigned:
            client.verify_webhook(body, {k: v for k, v in headers.items() if k.lower() != "countersign-signature"}, request)
        assert unsigned.value.check == "signature"
        forged_sig = KeyPair.generate().sign_jws("countersign-webhook+jwt", {"iss": AUDIENCE, "iat": int(time.time()),
                                                 "body_digest": "sha256:" + "0" * 64, "delivery_id": "x"})
        with pytest.raises(WebhookVerificationError) as forged:
            client.verify_webhook(body, {**{k: v for k, v in headers.items() if k.lower() != "countersign-signature"},
                                          "Countersign-Signature": forged_sig}, request)
        assert forged.value.check == "kid"
        # An enrolled reviewer's key verifies decisions, never webhooks: a delivery that a
        # reviewer signed (here saying the request expired) is refused.
        expired = body.replace(b'"approved"', b'"expired"')
        by_reviewer = gateway.reviewer.key.sign_jws("countersign-webhook+jwt", {
            "iss": AUDIENCE, "iat": int(time.time()), "body_digest": sha256_digest(expired),
            "delivery_id": delivery.delivery_id})
        with pytest.raises(WebhookVerificationError) as by_a_reviewer:
            client.verify_webhook(expired, {**{k: v for k, v in headers.items() if k.lower() != "countersign-signature"},
                                            "Countersign-Signature": by_reviewer}, request)
        assert by_a_reviewer.value.check == "kid"
    finally:
        server.shutdown()


def test_a_decision_signed_by_the_consoles_rust_code_verifies_and_a_mismatched_one_is_refused(
        gateway: Gateway, parties: Parties, client: Client, cli: str, tmp_path: Any) -> None:
    from conftest import run_cli
    request = parties.payment(amount="310.00")
    client.submit(request)
    record = tmp_path / "record.json"
    record.write_text(json.dumps(gateway.reviewer.record(request.request_id)))
    jws = run_cli(cli, "sign-decision", "--record", str(record), "--key", str(gateway.dir / "rita.pem"),
                  "--identity", "user:rita", "--audience", AUDIENCE, "--decision", "approve",
                  "--reason", "Invoice matches the purchase order").stdout.strip()
    posted = gateway.reviewer.console("POST", f"/v1/requests/{request.request_id}/decisions",
                                      json={"decision_jws": jws})
    assert posted.status_code == 201, posted.text
    decision = client.verify(client.wait(request, timeout=20), request)
    assert decision.approved and decision.jws == jws
    assert decision.claims.iss == "user:rita"
    # The same decision for another request (other digests) is refused.
    other = parties.payment(amount="311.00")
    with pytest.raises(DecisionVerificationError):
        verify_decision(jws, client.keys(), audience=AUDIENCE, subject=other.subject)


# -- webhooks signed here, with the gateway's webhook keys served by a stand-in --------------------


class _WebhookKeys:
    """Serves `WEBHOOK_KEYS_PATH` from `keys` (rotate by changing it), counting fetches."""

    def __init__(self, *keys: KeyPair) -> None:
        self.keys, self.fetches = list(keys), 0

    def __call__(self, req: httpx.Request) -> httpx.Response:
        assert req.url.path == WEBHOOK_KEYS_PATH, req.url.path
        self.fetches += 1
        return httpx.Response(200, json={"keys": [k.jwk() for k in self.keys]})


def _delivery(key: KeyPair, request_id: str, state: str, **extra: Any) -> tuple[bytes, dict[str, str]]:
    """A webhook delivery as the gateway would send it, signed with `key`."""
    delivery_id = f"{request_id}:{state}"
    body = json.dumps({"delivery_id": delivery_id, "request_id": request_id, "state": state, **extra}).encode()
    signature = key.sign_jws("countersign-webhook+jwt", {"iss": AUDIENCE, "iat": int(time.time()),
                                                         "body_digest": sha256_digest(body),
                                                         "delivery_id": delivery_id})
    return body, {"Countersign-Signature": signature, "Idempotency-Key": delivery_id}


@pytest.mark.parametrize("state", ["approved", "rejected"])
def test_a_settled_webhook_without_its_decision_is_not_to_be_trusted(parties: Parties, state: str) -> None:
    gateway_key, request = KeyPair.generate(), parties.payment()
    body, headers = _delivery(gateway_key, request.request_id, state)
    with Client("http://gateway.invalid", "cswf_x", audience=AUDIENCE,
                http=httpx.Client(transport=httpx.MockTransport(_WebhookKeys(gateway_key)))) as c:
        with pytest.raises(WebhookVerificationError) as refused:
            c.verify_webhook(body, headers, request)
    assert refused.value.check == "body"
    with pytest.raises(WebhookVerificationError) as direct:
        verify_webhook(body, headers["Countersign-Signature"], KeySet([gateway_key.jwk()]), issuer=AUDIENCE)
    assert direct.value.check == "body"
    # A delivery that ended without a decision carries none, and verifies.
    body, headers = _delivery(gateway_key, request.request_id, "expired")
    assert verify_webhook(body, headers["Countersign-Signature"], KeySet([gateway_key.jwk()]),
                          issuer=AUDIENCE).state == RequestState.EXPIRED


def test_a_rotated_webhook_key_is_fetched_once_and_an_unknown_one_still_refused(parties: Parties) -> None:
    old, new, stranger = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    served, request = _WebhookKeys(old), parties.payment()
    with Client("http://gateway.invalid", "cswf_x", audience=AUDIENCE,
                http=httpx.Client(transport=httpx.MockTransport(served))) as c:
        body, headers = _delivery(old, request.request_id, "expired")
        assert c.verify_webhook(body, headers, request)[0].state == RequestState.EXPIRED
        assert served.fetches == 1
        served.keys = [new]                                           # the gateway rotates its key
        body, headers = _delivery(new, request.request_id, "withdrawn")
        assert c.verify_webhook(body, headers, request)[0].state == RequestState.WITHDRAWN
        assert served.fetches == 2                                    # fetched again, once
        assert c.verify_webhook(body, headers, request)[0].state == RequestState.WITHDRAWN
        assert served.fetches == 2                                    # and kept
        # A key the gateway does not publish: one more fetch, then refused (fail closed).
        forged_body, forged = _delivery(stranger, request.request_id, "expired")
        with pytest.raises(WebhookVerificationError) as refused:
            c.verify_webhook(forged_body, forged, request)
        assert refused.value.check == "kid" and served.fetches == 3
        # Other failures fetch nothing.
        with pytest.raises(WebhookVerificationError) as tampered:
            c.verify_webhook(body.replace(b"withdrawn", b"expired"), headers, request)
        assert tampered.value.check == "body_digest" and served.fetches == 3
    # A client that has just fetched the keys does not fetch them again for the same delivery.
    fresh = _WebhookKeys(old)
    with Client("http://gateway.invalid", "cswf_x", audience=AUDIENCE,
                http=httpx.Client(transport=httpx.MockTransport(fresh))) as c:
        with pytest.raises(WebhookVerificationError):
            c.verify_webhook(forged_body, forged, request)
    assert fresh.fetches == 1


# -- the async client's status() and verify_webhook(), against the real gateway --------------------


def _delivered(request_id: str, timeout: float = 20) -> tuple[bytes, dict[str, str]]:
    """The gateway's webhook delivery about `request_id`, once it has arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for body, headers in list(_Receiver.deliveries):
            if json.loads(body)["request_id"] == request_id:
                return body, headers
        time.sleep(0.05)
    raise AssertionError(f"the gateway never delivered the webhook for {request_id}")


def test_async_client_status_and_verify_webhook(gateway: Gateway, parties: Parties) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    request = parties.payment(callback_url=f"http://127.0.0.1:{server.server_port}/countersign")
    other = parties.payment()

    async def flow() -> None:
        async with AsyncClient(gateway.url, gateway.token, audience=AUDIENCE) as client:
            await client.submit(request)
            pending = await client.status(request)
            assert (pending.request_id, pending.state, pending.decision_jws) == (
                request.request_id, RequestState.PENDING, None)
            with pytest.raises(GatewayError) as missing:
                await client.status(f"req-{uuid.uuid4()}")
            assert missing.value.code == "not_found"
            jws = await asyncio.to_thread(gateway.reviewer.decide, request.request_id)
            settled = await client.status(request.request_id)
            assert settled.state == RequestState.APPROVED and settled.decision_jws == jws
            body, headers = await asyncio.to_thread(_delivered, request.request_id)
            delivery, decision = await client.verify_webhook(body, headers, request)
            assert delivery.state == RequestState.APPROVED
            assert decision is not None and decision.approved and decision.jws == jws
            with pytest.raises(WebhookVerificationError) as tampered:
                await client.verify_webhook(body.replace(b'"approved"', b'"rejected"'), headers, request)
            assert tampered.value.check == "body_digest"
            with pytest.raises(WebhookVerificationError) as elsewhere:
                await client.verify_webhook(body, headers, other)
            assert elsewhere.value.check == "request_id"
            with pytest.raises(WebhookVerificationError) as unsigned:
                await client.verify_webhook(body, {"Idempotency-Key": delivery.delivery_id}, request)
            assert unsigned.value.check == "signature"

    try:
        asyncio.run(flow())
    finally:
        server.shutdown()


def test_async_verify_webhook_fetches_a_rotated_key_once(parties: Parties) -> None:
    old, new, stranger = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    served, request = _WebhookKeys(old), parties.payment()

    async def flow() -> None:
        async with AsyncClient("http://gateway.invalid", "cswf_x", audience=AUDIENCE,
                               http=httpx.AsyncClient(transport=httpx.MockTransport(served))) as c:
            body, headers = _delivery(old, request.request_id, "expired")
            assert (await c.verify_webhook(body, headers, request))[1] is None
            served.keys = [new]
            body, headers = _delivery(new, request.request_id, "expired")
            assert (await c.verify_webhook(body, headers, request))[0].state == RequestState.EXPIRED
            assert served.fetches == 2
            with pytest.raises(WebhookVerificationError) as refused:
                await c.verify_webhook(*_delivery(stranger, request.request_id, "expired"), request)
            assert refused.value.check == "kid" and served.fetches == 3
            with pytest.raises(WebhookVerificationError) as undecided:
                await c.verify_webhook(*_delivery(new, request.request_id, "approved"), request)
            assert undecided.value.check == "body"

    asyncio.run(flow())
