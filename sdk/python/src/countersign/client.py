"""The workflow's client for the gateway's REST API, sync (`Client`) and async (`AsyncClient`).

    client = Client("http://127.0.0.1:8787", token="cswf_…", audience="countersign-gateway")
    decision = client.request_approval(request)      # submit → wait → verify
    if decision.approved:
        result = pay()
        client.post_receipt(request, "executed", detail="paid", result=result)

Every answer from the gateway is parsed as I-JSON and validated before use. Gateway errors are
`GatewayError` (with the gateway's `code`); transport failures are `NetworkError`; an answer
that breaks the contract is `ProtocolError`. Every call to the gateway can raise these three.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any, Callable, Mapping, Optional, TypeVar, Union
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from .decision import Decision, KeySet, verify_decision, verify_webhook
from .digest import json_digest, loads_ijson
from .errors import (
    ChainRefused, DecisionVerificationError, GatewayError, NetworkError, ProtocolError, RequestEnded,
    WebhookVerificationError,
)
from .models import (
    DecisionOutcome, Receipt, ReceiptStatus, RequestState, SubmitResponse, VerificationReport,
    WebhookDelivery,
)
from .request import DecisionSubject, DelegationRequest, rfc3339

__all__ = ["Client", "AsyncClient", "MAX_WAIT_SECONDS"]

MAX_WAIT_SECONDS = 60  # the gateway's long-poll cap
"""The longest one long-poll asks the gateway to hold (its cap); longer waits poll again."""
M = TypeVar("M", bound=BaseModel)


def _path(*segments: str) -> str:
    return "/".join(quote(s, safe="") for s in segments)


def _decision_path(request_id: str) -> str:
    return f"/v1/requests/{_path(request_id)}/decision"


WEBHOOK_KEYS_PATH = "/.well-known/countersign-webhook-keys.json"
"""Where the gateway publishes the key it signs webhooks with (apart from the decision keys)."""


class _Core:
    """What the sync and async clients share: URLs, bodies, and reading answers. Its methods
    are the clients' plumbing, public by name only: most code needs none of them."""

    def prepare(self, json_body: Any, auth: bool) -> tuple[Optional[bytes], dict[str, str]]:
        """A call's body (compact UTF-8 JSON) and headers (the credential only when `auth`)."""
        content = None if json_body is None else json.dumps(json_body, ensure_ascii=False,
                                                              separators=(",", ":")).encode("utf-8")
        headers = dict(self.headers) if auth else {"Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        return content, headers

    @staticmethod
    def key_set(document: Any) -> KeySet:
        """A `KeySet` from a JWKS the gateway served; raises `ProtocolError` if it is none."""
        try:
            return KeySet(document)
        except ValueError as e:
            raise ProtocolError(f"the JWKS does not follow RFC 7517: {e}") from e

    def __init__(self, base_url: str, token: str, audience: str, timeout: float,
                 jwks: Optional[Mapping[str, Any]]) -> None:
        if not token:
            raise ValueError("a workflow credential (cswf_…) is required")
        self.base_url = base_url.rstrip("/")
        self.audience = audience
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                        "User-Agent": "countersign-python/0.1"}
        self._keys: Optional[KeySet] = KeySet(jwks) if jwks is not None else None
        self._webhook_keys: Optional[KeySet] = None
        self._pinned = jwks is not None

    # -- answers ------------------------------------------------------------------------------

    @staticmethod
    def json_of(response: httpx.Response) -> Any:
        """The answer's body as I-JSON; raises `ProtocolError` if it is not."""
        try:
            return loads_ijson(response.content)
        except ValueError as e:
            raise ProtocolError(f"{response.request.method} {response.request.url.path} answered "
                                f"{response.status_code} with a body that is not I-JSON: {e}") from e

    def check(self, response: httpx.Response, ok: tuple[int, ...]) -> Any:
        """The answer's JSON body (None if empty) when its status is in `ok`. Otherwise raises
        `ChainRefused` / `GatewayError` with the gateway's error, or `ProtocolError` when the
        answer carries no error body."""
        if response.status_code in ok:
            return self.json_of(response) if response.content else None
        body: Any = None
        try:
            body = loads_ijson(response.content)
            error = body["error"]
            code, message = str(error["code"]), str(error.get("message", ""))
        except (ValueError, KeyError, TypeError):
            raise ProtocolError(f"{response.request.method} {response.request.url.path} answered "
                                f"{response.status_code} without an error body") from None
        if code == "chain_refused":
            report = None
            if isinstance(error.get("report"), dict):
                try:
                    report = VerificationReport.model_validate(error["report"])
                except ValidationError:
                    report = None
            raise ChainRefused(response.status_code, code, message, body, report)
        raise GatewayError(response.status_code, code, message, body)

    @staticmethod
    def model(cls: type[M], data: Any, what: str) -> M:
        """`data` validated as `cls`; raises `ProtocolError` (naming `what`) if it is not one."""
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise ProtocolError(f"{what} does not follow the contract: {e}") from e

    def submitted(self, request: DelegationRequest, data: Any) -> SubmitResponse:
        """The submit answer for `request`; raises `ProtocolError` if it is for another
        request or its report's digests are not those of the request sent."""
        answer = self.model(SubmitResponse, data, "the submit answer")
        if answer.request_id != request.request_id:
            raise ProtocolError(f"the gateway answered for {answer.request_id}, not {request.request_id}")
        subject, report = request.subject, answer.report
        for name in ("request_digest", "chain_digest", "action_digest"):
            if getattr(report, name) != getattr(subject, name):
                raise ProtocolError(f"the gateway's {name} {getattr(report, name)} is not that of the "
                                    f"request sent ({getattr(subject, name)})")
        return answer

    def outcome(self, request_id: str, data: Any) -> DecisionOutcome:
        """The decision outcome for `request_id`; raises `ProtocolError` if it is for another
        request, or approved/rejected without a decision JWS."""
        outcome = self.model(DecisionOutcome, data, "the decision outcome")
        if outcome.request_id != request_id:
            raise ProtocolError(f"the gateway answered for {outcome.request_id}, not {request_id}")
        if outcome.state in (RequestState.APPROVED, RequestState.REJECTED) and not outcome.decision_jws:
            raise ProtocolError(f"request {request_id} is {outcome.state.value} but carries no decision")
        return outcome

    def decide(self, outcome: DecisionOutcome, subject: DecisionSubject, keys: KeySet) -> Decision:
        """The verified decision of a settled outcome, checked against `keys` and the
        outcome's state (every quorum approval too). Raises `DecisionVerificationError` if it
        has no decision, it does not verify or it says otherwise than the state,
        `RequestEnded` if the request ended without a decision, `ProtocolError` if it is still
        open."""
        if outcome.state.is_open:
            raise ProtocolError("the request is still open")
        if outcome.state not in (RequestState.APPROVED, RequestState.REJECTED):
            raise RequestEnded(outcome.request_id, outcome.state.value)
        if not outcome.decision_jws:
            raise DecisionVerificationError("format", f"request {outcome.request_id} is "
                                            f"{outcome.state.value} but the outcome carries no decision")
        decision = verify_decision(outcome.decision_jws, keys, audience=self.audience, subject=subject)
        want = "approve" if outcome.state == RequestState.APPROVED else "reject"
        if decision.decision != want:
            raise DecisionVerificationError("decision", f"the gateway says {outcome.state.value} "
                                            f"but the signed decision says {decision.decision}")
        for other in outcome.approvals:
            if other != outcome.decision_jws:
                extra = verify_decision(other, keys, audience=self.audience, subject=subject)
                if not extra.approved:
                    raise DecisionVerificationError("decision", "a quorum approval is not an approval")
        return decision

    @staticmethod
    def receipt_body(status: Union[ReceiptStatus, str], detail: str, result: Any,
                     result_digest: Optional[str], executed_at: Optional[str]) -> dict[str, Any]:
        """A receipt's wire object; `result_digest` defaults to the digest of `result`.
        Raises `ValueError` for an unknown status or a result with no RFC 8785 form."""
        if result is not None and result_digest is None:
            result_digest = json_digest(result)
        return Receipt(status=ReceiptStatus(status), executed_at=executed_at or rfc3339(),
                       detail=detail, result_digest=result_digest).to_wire()

    @staticmethod
    def note_body(message_id: str, text: str) -> dict[str, Any]:
        """A note's wire object. Raises `ValueError` without a `message_id`, or for text that
        is blank or longer than 4,000 characters."""
        if not message_id:
            raise ValueError("a note needs a message_id (sending it again is one note)")
        if not text.strip() or len(text) > 4000:
            raise ValueError("a note is non-blank text of at most 4,000 characters")
        return {"message_id": message_id, "text": text}

    @staticmethod
    def request_id_of(request: Union[DelegationRequest, str]) -> str:
        """The request id of a request, or the id itself."""
        return request.request_id if isinstance(request, DelegationRequest) else request

    # -- webhooks -----------------------------------------------------------------------------

    @staticmethod
    def webhook_headers(headers: Mapping[str, str]) -> tuple[str, Optional[str]]:
        """A delivery's `Countersign-Signature` and `Idempotency-Key` (None if absent), from
        its headers in any case. Raises `WebhookVerificationError` (check `signature`)
        without a signature."""
        lower = {k.lower(): v for k, v in headers.items()}
        signature = lower.get("countersign-signature")
        if not signature:
            raise WebhookVerificationError("signature", "no Countersign-Signature header")
        return signature, lower.get("idempotency-key")

    def delivery(self, body: bytes, signature: str, idempotency_key: Optional[str], keys: KeySet,
                 request: DelegationRequest) -> WebhookDelivery:
        """The delivery `body`, verified against `keys` (see `verify_webhook()`) and about
        `request`. Raises `WebhookVerificationError`."""
        delivery = verify_webhook(body, signature, keys, issuer=self.audience, idempotency_key=idempotency_key)
        if delivery.request_id != request.request_id:
            raise WebhookVerificationError("request_id", "the delivery is about another request")
        return delivery

    @staticmethod
    def delivered_outcome(delivery: WebhookDelivery) -> Optional[DecisionOutcome]:
        """The outcome a verified delivery carries, to verify as any other: None unless it is
        approved or rejected."""
        if delivery.state not in (RequestState.APPROVED, RequestState.REJECTED):
            return None
        return DecisionOutcome(request_id=delivery.request_id, state=delivery.state,
                               decision_jws=delivery.decision_jws)

    # -- waiting ------------------------------------------------------------------------------

    @staticmethod
    def deadline_of(timeout: Optional[float]) -> Optional[float]:
        """The `time.monotonic()` at which a wait of `timeout` seconds ends (None: never)."""
        return None if timeout is None else time.monotonic() + timeout

    @staticmethod
    def wait_seconds(deadline: Optional[float], poll: int) -> int:
        """The `wait` of the next long-poll: the whole seconds left, rounded up, at least 1
        and at most `poll` and `MAX_WAIT_SECONDS`; 0 (ask once, do not hold) only when the
        deadline has already passed."""
        if deadline is None:
            return max(1, min(poll, MAX_WAIT_SECONDS))
        left = deadline - time.monotonic()
        if left <= 0:
            return 0
        return max(1, min(poll, MAX_WAIT_SECONDS, math.ceil(left)))

    @staticmethod
    def done_waiting(outcome: DecisionOutcome, deadline: Optional[float]) -> bool:
        """Whether a wait ends with `outcome`: settled, or the deadline has passed."""
        return not outcome.state.is_open or (deadline is not None and time.monotonic() >= deadline)

    @staticmethod
    def pause_after(started: float, deadline: Optional[float]) -> float:
        """Seconds to pause before the next long-poll, so that a gateway answering at once
        (stopping, say) is asked at most once a second, never past the deadline."""
        now = time.monotonic()
        pause = started + 1 - now
        if deadline is not None:
            pause = min(pause, deadline - now)
        return max(0.0, pause)


def _network(e: httpx.HTTPError) -> NetworkError:
    return NetworkError(f"{type(e).__name__}: {e}")


class Client(_Core):
    """Synchronous client. `token` is the workflow's credential (`cswf_…`; empty raises
    `ValueError`), `audience` the gateway's audience, which decisions must name. `jwks` pins
    the decision keys instead of fetching `/.well-known/jwks.json`. `http` is an
    `httpx.Client` to use (then not closed here). A context manager: `close()` on exit."""

    def __init__(self, base_url: str, token: str, *, audience: str = "countersign-gateway",
                 timeout: float = 30.0, jwks: Optional[Mapping[str, Any]] = None,
                 http: Optional[httpx.Client] = None) -> None:
        super().__init__(base_url, token, audience, timeout, jwks)
        self._http = http or httpx.Client(timeout=timeout, follow_redirects=False)
        self._owns_http = http is None

    def close(self) -> None:
        """Closes the HTTP client, if this client made it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def _send(self, method: str, path: str, *, json_body: Any = None, params: Any = None,
              timeout: Optional[float] = None, auth: bool = True) -> httpx.Response:
        content, headers = self.prepare(json_body, auth)
        try:
            return self._http.request(method, self.base_url + path, content=content, params=params,
                                      headers=headers, timeout=timeout or self.timeout)
        except httpx.HTTPError as e:
            raise _network(e) from e

    def submit(self, request: DelegationRequest) -> SubmitResponse:
        """Submits the request (`201`); the same request again gets the same answer, so a retry
        after a `NetworkError` is safe. Returns the state and the gateway's verification
        report; raises `ChainRefused` when the chain is forged or malformed, `GatewayError`
        (e.g. `request_id_conflict`: another request under this id)."""
        response = self._send("POST", "/v1/requests", json_body=request.to_wire())
        return self.submitted(request, self.check(response, (200, 201)))

    def status(self, request: Union[DelegationRequest, str]) -> DecisionOutcome:
        """The request's outcome now, without waiting (not verified: see `verify()`)."""
        request_id = self.request_id_of(request)
        response = self._send("GET", _decision_path(request_id), params={"wait": 0})
        return self.outcome(request_id, self.check(response, (200,)))

    def wait(self, request: Union[DelegationRequest, str], *, timeout: Optional[float] = None,
             poll: int = 55) -> DecisionOutcome:
        """Long-polls until the request is settled or `timeout` seconds pass (None: no limit);
        returns the outcome (still open if the time ran out; not verified: see `verify()`).
        Each long-poll asks the gateway to hold for the time left rounded up to whole seconds,
        at least 1 and at most `poll` (capped at `MAX_WAIT_SECONDS`), so the wait may overrun
        `timeout` by under a second; a `timeout` of 0 asks once. Long-polls start at most once
        a second. Stateless, so it can be resumed after a restart with the request id alone."""
        request_id = self.request_id_of(request)
        deadline = self.deadline_of(timeout)
        while True:
            started, wait = time.monotonic(), self.wait_seconds(deadline, poll)
            response = self._send("GET", _decision_path(request_id),
                                  params={"wait": wait}, timeout=wait + self.timeout)
            outcome = self.outcome(request_id, self.check(response, (200,)))
            if self.done_waiting(outcome, deadline):
                return outcome
            time.sleep(self.pause_after(started, deadline))

    def keys(self, *, refresh: bool = False) -> KeySet:
        """The gateway's published decision keys (fetched once; `refresh` fetches again,
        unless the keys were pinned with `jwks`). Raises `ProtocolError` for a JWKS that is
        not one."""
        if self._keys is None or (refresh and not self._pinned):
            response = self._send("GET", "/.well-known/jwks.json", auth=False)
            self._keys = self.key_set(self.check(response, (200,)))
        return self._keys

    def webhook_keys(self, *, refresh: bool = False) -> KeySet:
        """The gateway's own key, which signs webhooks (published apart from the decision
        keys, so a reviewer's key never verifies a webhook). Fetched once, at
        `WEBHOOK_KEYS_PATH`; `refresh` fetches again (a rotated key)."""
        if self._webhook_keys is None or refresh:
            response = self._send("GET", WEBHOOK_KEYS_PATH, auth=False)
            self._webhook_keys = self.key_set(self.check(response, (200,)))
        return self._webhook_keys

    def verify(self, outcome: DecisionOutcome, request: DelegationRequest) -> Decision:
        """The verified decision of a settled outcome of `request` (see `decide()`), fetching
        the keys again once for an unknown `kid` (a newly enrolled reviewer) unless pinned.
        Raises `DecisionVerificationError`, or `RequestEnded` if it ended without one."""
        try:
            return self.decide(outcome, request.subject, self.keys())
        except DecisionVerificationError as e:
            if e.check != "kid" or self._pinned:
                raise
            return self.decide(outcome, request.subject, self.keys(refresh=True))  # a newly enrolled reviewer

    def request_approval(self, request: DelegationRequest, *, timeout: Optional[float] = None) -> Decision:
        """Submit → wait → verify. Returns a verified `Decision` (approve or reject: check
        `decision.approved`); raises `RequestEnded` if it expired, was withdrawn or refused,
        `TimeoutError` if `timeout` passed first, `DecisionVerificationError` if the decision
        does not verify, and what `submit()` raises."""
        self.submit(request)
        outcome = self.wait(request, timeout=timeout)
        if outcome.state.is_open:
            raise TimeoutError(f"request {request.request_id} is still {outcome.state.value}")
        return self.verify(outcome, request)

    def post_receipt(self, request: Union[DelegationRequest, str],
                     status: Union[ReceiptStatus, str], *, detail: str = "", result: Any = None,
                     result_digest: Optional[str] = None, executed_at: Optional[str] = None) -> bool:
        """Reports what was done with the decision (`result` is digested, never sent); True
        when recorded now, False when already recorded. Raises `ValueError` as
        `receipt_body()` does, `GatewayError` as the gateway answers."""
        body = self.receipt_body(status, detail, result, result_digest, executed_at)
        response = self._send("POST", f"/v1/requests/{_path(self.request_id_of(request))}/receipt", json_body=body)
        self.check(response, (200, 201))
        return response.status_code == 201

    def post_note(self, request: Union[DelegationRequest, str], message_id: str, text: str) -> bool:
        """A note for the reviewer while the request waits (untrusted text, never signed);
        True when added, False when `message_id` was already taken with this text. Raises
        `ValueError` as `note_body()` does, `GatewayError` as the gateway answers."""
        response = self._send("POST", f"/v1/requests/{_path(self.request_id_of(request))}/notes",
                              json_body=self.note_body(message_id, text))
        self.check(response, (200, 201))
        return response.status_code == 201

    def verify_webhook(self, body: bytes, headers: Mapping[str, str], request: DelegationRequest) -> tuple[WebhookDelivery, Optional[Decision]]:
        """Verifies a webhook delivery for `request` (signature, body digest, delivery id) and
        the decision it carries; returns both (the decision is None unless approved or
        rejected). `body` is the exact bytes received, `headers` the request's headers (any
        case). A signature by a key the client does not know fetches the webhook keys again,
        once (the gateway may have rotated its key), unless they were fetched for this call.
        Raises `WebhookVerificationError` for the delivery, `DecisionVerificationError` for its
        decision."""
        signature, idempotency_key = self.webhook_headers(headers)
        fetched = self._webhook_keys is None
        try:
            delivery = self.delivery(body, signature, idempotency_key, self.webhook_keys(), request)
        except WebhookVerificationError as e:
            if e.check != "kid" or fetched:
                raise
            delivery = self.delivery(body, signature, idempotency_key, self.webhook_keys(refresh=True), request)
        outcome = self.delivered_outcome(delivery)
        return delivery, None if outcome is None else self.verify(outcome, request)


class AsyncClient(_Core):
    """Asynchronous client: the API of `Client` with `await`. An async context manager:
    `aclose()` on exit."""

    def __init__(self, base_url: str, token: str, *, audience: str = "countersign-gateway",
                 timeout: float = 30.0, jwks: Optional[Mapping[str, Any]] = None,
                 http: Optional[httpx.AsyncClient] = None) -> None:
        super().__init__(base_url, token, audience, timeout, jwks)
        self._http = http or httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._owns_http = http is None

    async def aclose(self) -> None:
        """Closes the HTTP client, if this client made it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.aclose()

    async def _send(self, method: str, path: str, *, json_body: Any = None, params: Any = None,
                    timeout: Optional[float] = None, auth: bool = True) -> httpx.Response:
        content, headers = self.prepare(json_body, auth)
        try:
            return await self._http.request(method, self.base_url + path, content=content,
                                            params=params, headers=headers, timeout=timeout or self.timeout)
        except httpx.HTTPError as e:
            raise _network(e) from e

    async def submit(self, request: DelegationRequest) -> SubmitResponse:
        """As `Client.submit()`."""
        response = await self._send("POST", "/v1/requests", json_body=request.to_wire())
        return self.submitted(request, self.check(response, (200, 201)))

    async def status(self, request: Union[DelegationRequest, str]) -> DecisionOutcome:
        """As `Client.status()`."""
        request_id = self.request_id_of(request)
        response = await self._send("GET", _decision_path(request_id), params={"wait": 0})
        return self.outcome(request_id, self.check(response, (200,)))

    async def wait(self, request: Union[DelegationRequest, str], *, timeout: Optional[float] = None,
                   poll: int = 55) -> DecisionOutcome:
        """As `Client.wait()`."""
        request_id = self.request_id_of(request)
        deadline = self.deadline_of(timeout)
        while True:
            started, wait = time.monotonic(), self.wait_seconds(deadline, poll)
            response = await self._send("GET", _decision_path(request_id),
                                        params={"wait": wait}, timeout=wait + self.timeout)
            outcome = self.outcome(request_id, self.check(response, (200,)))
            if self.done_waiting(outcome, deadline):
                return outcome
            await asyncio.sleep(self.pause_after(started, deadline))

    async def keys(self, *, refresh: bool = False) -> KeySet:
        """As `Client.keys()`."""
        if self._keys is None or (refresh and not self._pinned):
            response = await self._send("GET", "/.well-known/jwks.json", auth=False)
            self._keys = self.key_set(self.check(response, (200,)))
        return self._keys

    async def webhook_keys(self, *, refresh: bool = False) -> KeySet:
        """As `Client.webhook_keys()`."""
        if self._webhook_keys is None or refresh:
            response = await self._send("GET", WEBHOOK_KEYS_PATH, auth=False)
            self._webhook_keys = self.key_set(self.check(response, (200,)))
        return self._webhook_keys

    async def verify(self, outcome: DecisionOutcome, request: DelegationRequest) -> Decision:
        """As `Client.verify()`."""
        try:
            return self.decide(outcome, request.subject, await self.keys())
        except DecisionVerificationError as e:
            if e.check != "kid" or self._pinned:
                raise
            return self.decide(outcome, request.subject, await self.keys(refresh=True))

    async def request_approval(self, request: DelegationRequest, *, timeout: Optional[float] = None) -> Decision:
        """As `Client.request_approval()`."""
        await self.submit(request)
        outcome = await self.wait(request, timeout=timeout)
        if outcome.state.is_open:
            raise TimeoutError(f"request {request.request_id} is still {outcome.state.value}")
        return await self.verify(outcome, request)

    async def post_receipt(self, request: Union[DelegationRequest, str],
                           status: Union[ReceiptStatus, str], *, detail: str = "", result: Any = None,
                           result_digest: Optional[str] = None, executed_at: Optional[str] = None) -> bool:
        """As `Client.post_receipt()`."""
        body = self.receipt_body(status, detail, result, result_digest, executed_at)
        response = await self._send("POST", f"/v1/requests/{_path(self.request_id_of(request))}/receipt", json_body=body)
        self.check(response, (200, 201))
        return response.status_code == 201

    async def post_note(self, request: Union[DelegationRequest, str], message_id: str, text: str) -> bool:
        """As `Client.post_note()`."""
        response = await self._send("POST", f"/v1/requests/{_path(self.request_id_of(request))}/notes",
                                    json_body=self.note_body(message_id, text))
        self.check(response, (200, 201))
        return response.status_code == 201

    async def verify_webhook(self, body: bytes, headers: Mapping[str, str],
                             request: DelegationRequest) -> tuple[WebhookDelivery, Optional[Decision]]:
        """As `Client.verify_webhook()`."""
        signature, idempotency_key = self.webhook_headers(headers)
        fetched = self._webhook_keys is None
        try:
            delivery = self.delivery(body, signature, idempotency_key, await self.webhook_keys(), request)
        except WebhookVerificationError as e:
            if e.check != "kid" or fetched:
                raise
            delivery = self.delivery(body, signature, idempotency_key, await self.webhook_keys(refresh=True), request)
        outcome = self.delivered_outcome(delivery)
        return delivery, None if outcome is None else await self.verify(outcome, request)
