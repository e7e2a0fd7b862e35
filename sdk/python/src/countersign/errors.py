"""Typed exceptions. Every failure the SDK reports about a chain, a request, the gateway or a
decision is a `CountersignError`:

- `ChainError` (and `WideningRefused`): a delegation the SDK refuses to sign; carries the
  contract's finding code(s). Nothing was signed or sent.
- `InvalidRequest`: a DelegationRequest the SDK refuses to send (it knows it is invalid).
- `GatewayError` (and `ChainRefused`): the gateway answered with an error; carries its code.
- `NetworkError`: the gateway could not be reached or did not answer in time. Distinct from a
  gateway error: retrying a submit is safe (idempotent on `request_id`).
- `ProtocolError`: the gateway's answer is not what the contract says (untrusted input).
- `DecisionVerificationError`: a decision (or webhook) failed verification. Never acted on.
- `RequestEnded`: the request ended without a decision (expired, withdrawn, refused).

Not `CountersignError`s, because they are the caller's to prevent: `ValueError` / `TypeError`
for arguments the SDK cannot use (pydantic's `ValidationError` and `countersign.keys.KeyError_`
are `ValueError`s), `OSError` from key files, and `TimeoutError` when a wait runs out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

__all__ = [
    "CountersignError", "LocalFinding", "ChainError", "WideningRefused", "InvalidRequest",
    "GatewayError", "ChainRefused", "NetworkError", "ProtocolError",
    "DecisionVerificationError", "WebhookVerificationError", "RequestEnded",
]


class CountersignError(Exception):
    """Base of the SDK's typed errors (see the module's list). Catch it to catch them all."""


@dataclass(frozen=True)
class LocalFinding:
    """A finding the SDK computed locally, with the contract's code (as the Rust verifier
    would report it) and the hop index it concerns (None: the request)."""

    code: str
    hop: Optional[int]
    detail: str


class ChainError(CountersignError):
    """A delegation step the SDK will not sign, or a hop it cannot read (`Hop.parse`:
    MALFORMED, TYPE_CONFUSION, ALG_NOT_ALLOWED). `code` and `hop` are the first finding's;
    `findings` are all of them. Constructing one without findings raises `ValueError`."""

    def __init__(self, findings: Sequence[LocalFinding]) -> None:
        if not findings:
            raise ValueError("a ChainError needs at least one finding")
        self.findings = list(findings)
        self.code = self.findings[0].code
        self.hop = self.findings[0].hop
        super().__init__("; ".join(f"{f.code}: {f.detail}" for f in self.findings))

    @property
    def codes(self) -> set[str]:
        """The codes of all findings."""
        return {f.code for f in self.findings}


class WideningRefused(ChainError):
    """`delegate()` would widen authority (GHOST_PERMISSION, LIMIT_INCREASED,
    EXPIRY_EXTENDED, DEPTH_EXCEEDED, PURPOSE_DRIFT, …) or sign with the wrong key
    (KEY_BINDING_MISMATCH); `Delegation.issue()` raises it too for a hop 0 that is already
    unusable (PURPOSE_MISSING, EXPIRED, a negative max_depth). Nothing was signed."""


class InvalidRequest(ChainError):
    """A DelegationRequest the SDK knows is invalid (e.g. ACTION_OUTSIDE_LEAF_SCOPE,
    UNDELEGATED_ACTOR, EVIDENCE_DIGEST_MISMATCH, EXPIRED), raised by
    `DelegationRequest.build()` and `evidence()`. Nothing was sent."""


class GatewayError(CountersignError):
    """The gateway answered with `{"error": {"code", "message"}}`: `status` is the HTTP
    status, `code` the gateway's stable error code (match on it, never on `message`), `body`
    the parsed answer."""

    def __init__(self, status: int, code: str, message: str, body: Any = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        super().__init__(f"gateway answered {status} {code}: {message}")


class ChainRefused(GatewayError):
    """`422 chain_refused`: forged or malformed at intake. `report` is the gateway's
    `VerificationReport` saying why (None when the answer carried no readable report)."""

    def __init__(self, status: int, code: str, message: str, body: Any, report: Any) -> None:
        super().__init__(status, code, message, body)
        self.report = report


class NetworkError(CountersignError):
    """The gateway was unreachable, or the connection failed or timed out. Retrying a submit
    is safe: the gateway is idempotent on `request_id`."""


class ProtocolError(CountersignError):
    """The gateway's answer does not follow the contract (not JSON, wrong shape, digests that
    are not those of what was sent)."""


class DecisionVerificationError(CountersignError):
    """A decision JWS that must not be acted on. `check` names the failed check: `format`,
    `typ`, `alg`, `kid`, `signature`, `claims`, `aud`, `exp`, `iat`, `request_id`, `txn`,
    `request_digest`, `chain_digest`, `action_digest`, `decision`."""

    def __init__(self, check: str, message: str) -> None:
        self.check = check
        super().__init__(f"decision refused ({check}): {message}")


class WebhookVerificationError(CountersignError):
    """A webhook delivery that must not be acted on. `check` names the failed check: those
    of a JWS (`format`, `typ`, `alg`, `kid`, `signature`, `claims`), then `iss`, `iat`,
    `body_digest`, `body` (not a delivery, or approved/rejected without a decision JWS),
    `delivery_id`, and from `Client.verify_webhook` also `signature` (no header) and
    `request_id` (a delivery about another request)."""

    def __init__(self, check: str, message: str) -> None:
        self.check = check
        super().__init__(f"webhook refused ({check}): {message}")


class RequestEnded(CountersignError):
    """The request ended without a decision to act on: `state` is the gateway's final state
    (`expired`, `withdrawn` or `refused`)."""

    def __init__(self, request_id: str, state: str) -> None:
        self.request_id = request_id
        self.state = state
        super().__init__(f"request {request_id} ended {state} without a decision")
