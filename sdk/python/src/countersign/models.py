"""Typed models of wire contract v1 (pydantic v2).

Why pydantic rather than dataclasses: most of what the SDK reads comes from the network (the
gateway's answers, webhook bodies, decision claims, an upstream agent's chain) and must be
validated before use; pydantic does that, gives exact JSON round trips and JSON Schema, and
both supported frameworks (LangGraph, OpenAI Agents) already depend on it.

Conventions: `to_wire()` gives the JSON object exactly as the contract spells it (optional
members that are absent are omitted, never sent as `null`); `Model.model_validate(obj)` reads
one. Models the SDK builds refuse unknown members (a typo is caught before sending); models
the SDK receives from the gateway ignore members it does not know yet (the contract grows
backward-compatibly).
"""

from __future__ import annotations

import enum
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_serializer

__all__ = [
    "FindingCode", "Severity", "Tier", "EvidenceKind", "RequestState", "ReceiptStatus",
    "Purpose", "AuthorizationDetail", "Confirmation", "EvidenceCommitment", "HopClaims",
    "Money", "Impact", "Tool", "Action", "Evidence", "Alternative", "Uncertainty", "Callback",
    "EscalationAsk", "DelegationRequestModel", "Finding", "VerificationReport",
    "SubmitResponse", "DecisionOutcome", "PolicyRef", "DecisionClaims", "Receipt",
    "WebhookDelivery", "WebhookSignatureClaims", "Jwk", "Jwks", "TrustParty", "TrustStore",
    "REQUEST_SCHEMA", "HOP_TYP", "DECISION_TYP", "WEBHOOK_TYP",
]

REQUEST_SCHEMA = "countersign.request/v1"
"""The `schema` member of every v1 DelegationRequest."""
HOP_TYP = "delegation-hop+jwt"
"""The JWS `typ` of a hop attestation."""
DECISION_TYP = "delegation-decision+jwt"
"""The JWS `typ` of a reviewer's decision."""
WEBHOOK_TYP = "countersign-webhook+jwt"
"""The JWS `typ` of a webhook's `Countersign-Signature`."""


class FindingCode(str, enum.Enum):
    """The contract's finding codes (a newer contract may add codes: a received `Finding`
    keeps its `code` as text)."""

    MALFORMED = "MALFORMED"
    ALG_NOT_ALLOWED = "ALG_NOT_ALLOWED"
    TYPE_CONFUSION = "TYPE_CONFUSION"
    UNKNOWN_KEY = "UNKNOWN_KEY"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    KEY_BINDING_MISMATCH = "KEY_BINDING_MISMATCH"
    BROKEN_LINK = "BROKEN_LINK"
    PRINCIPAL_CHANGED = "PRINCIPAL_CHANGED"
    GHOST_PERMISSION = "GHOST_PERMISSION"
    LIMIT_INCREASED = "LIMIT_INCREASED"
    EXPIRY_EXTENDED = "EXPIRY_EXTENDED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    DEPTH_EXCEEDED = "DEPTH_EXCEEDED"
    PURPOSE_MISSING = "PURPOSE_MISSING"
    PURPOSE_DRIFT = "PURPOSE_DRIFT"
    UNDELEGATED_ACTOR = "UNDELEGATED_ACTOR"
    ACTION_OUTSIDE_LEAF_SCOPE = "ACTION_OUTSIDE_LEAF_SCOPE"
    ARGUMENTS_DIGEST_MISMATCH = "ARGUMENTS_DIGEST_MISMATCH"
    EVIDENCE_DIGEST_MISMATCH = "EVIDENCE_DIGEST_MISMATCH"
    REPLAYED_JTI = "REPLAYED_JTI"
    SCOPE_OVER_PROVISIONED = "SCOPE_OVER_PROVISIONED"


class Severity(str, enum.Enum):
    """How serious a finding is: an `error` makes the chain invalid; a `warning` must be
    acknowledged by the reviewer but does not."""

    ERROR = "error"
    WARNING = "warning"


class Tier(str, enum.Enum):
    """Impact tiers, from least to most urgent; `high` and `critical` raise a notification."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class EvidenceKind(str, enum.Enum):
    """Kinds of evidence: a source consulted, a tool's output, a retrieval result, a trace
    span, an attached file."""

    SOURCE = "source"
    TOOL_OUTPUT = "tool_output"
    RETRIEVAL = "retrieval"
    TRACE_SPAN = "trace_span"
    ATTACHMENT = "attachment"


class RequestState(str, enum.Enum):
    """Lifecycle of a request at the gateway. Open: `pending` (waiting for a reviewer),
    `escalated` (waiting for a supervisor). Settled with a decision: `approved`, `rejected`.
    Ended without one: `expired` (fail-closed), `withdrawn`, `refused` (at intake)."""

    PENDING = "pending"
    ESCALATED = "escalated"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    REFUSED = "refused"

    @property
    def is_open(self) -> bool:
        """True while a decision may still come (`pending`, `escalated`)."""
        return self in (RequestState.PENDING, RequestState.ESCALATED)


class ReceiptStatus(str, enum.Enum):
    """What the workflow did: `executed` the action, attempted it and `failed`, or `skipped`
    it (for example after a rejection)."""

    EXECUTED = "executed"
    FAILED = "failed"
    SKIPPED = "skipped"


class _Wire(BaseModel):
    """Base of models the SDK builds: strict about members, omits absent optionals."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_enum_values=False)

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for name, field in type(self).model_fields.items():
                key = field.alias or name
                if not field.is_required() and field.default is None and data.get(key) is None:
                    data.pop(key, None)
        return data

    def to_wire(self) -> dict[str, Any]:
        """The JSON object as the contract spells it (absent optional members omitted)."""
        return self.model_dump(mode="json", by_alias=True)


class _Received(_Wire):
    """Base of models the SDK receives: unknown members are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Purpose(_Wire):
    """The purpose a delegation serves: `id` must stay the same along the chain; `text` is
    shown to people."""

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)


class AuthorizationDetail(_Wire):
    """One RFC 9396 authorization detail."""

    type: str = Field(min_length=1)
    actions: list[str] = Field(default_factory=list)
    locations: Optional[list[str]] = None
    constraints: Optional[dict[str, Any]] = None


class Confirmation(_Wire):
    """RFC 7800 style confirmation: `jkt` is the thumbprint of the key that holds the
    delegated authority (the next hop must be signed by it)."""

    jkt: str


class EvidenceCommitment(_Wire):
    """A hop's commitment to one evidence item of the request: its id and digest."""

    id: str
    digest: str


class HopClaims(_Received):
    """Claims of a hop attestation (`delegation-hop+jwt`), signed by the delegator (`iss`)
    for the delegatee (`sub`). Times are seconds since the epoch; `prev` is the digest of the
    parent hop's JWS (absent on hop 0); `max_depth` is how many further delegations are
    allowed (each child at most the parent's − 1)."""

    iss: str
    sub: str
    jti: str
    iat: int
    exp: int
    nbf: Optional[int] = None
    txn: str
    principal: str
    hop: int = Field(ge=0)
    max_depth: int
    prev: Optional[str] = None
    cnf: Confirmation
    authorization_details: list[AuthorizationDetail] = Field(default_factory=list)
    purpose: Optional[Purpose] = None
    evidence: list[EvidenceCommitment] = Field(default_factory=list)


class Money(_Wire):
    """An amount of money: a decimal string (so it survives RFC 8785 exactly) and a
    three-letter currency code."""

    amount: str = Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$")
    currency: str = Field(min_length=3, max_length=3)


class Impact(_Wire):
    """What is at stake: the tier, whether it can be undone, and the money value if any."""

    tier: Tier
    reversible: bool
    value: Optional[Money] = None


class Tool(_Wire):
    """The tool (for example an MCP tool, on `server`) that would carry out the action."""

    name: str
    server: Optional[str] = None


class Action(_Wire):
    """The concrete operation the leaf agent asks to perform. `type`, `operation` and
    `resource` are matched against the leaf scope's `type`, `actions` and `locations`, the
    `arguments` against its constraints; `arguments_digest` is their RFC 8785 digest. Build
    one with `countersign.action()`, which computes the digest."""

    type: str
    operation: str
    resource: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    arguments_digest: str
    requested_by: str
    tool: Optional[Tool] = None
    impact: Impact
    summary: str


class Evidence(_Wire):
    """One piece of evidence, inline (`content`) or behind `uri`, with the digest of its
    exact bytes. Its text is untrusted: consoles only ever show it as inert text. Build one
    with `countersign.evidence()`, which computes the digest."""

    id: str
    kind: EvidenceKind
    produced_by: str
    title: str
    content_type: str
    content: Optional[str] = None
    uri: Optional[str] = None
    digest: str
    captured_at: str


class Alternative(_Wire):
    """An alternative the agent considered, and why it did not choose it."""

    summary: str
    why_not: str


class Uncertainty(_Wire):
    """The requesting agent's account of its own uncertainty (`confidence` in [0, 1]). Build
    one with `countersign.uncertainty()`."""

    confidence: float = Field(ge=0.0, le=1.0)
    method: str
    assumptions: list[str] = Field(default_factory=list)
    known_unknowns: list[str] = Field(default_factory=list)
    alternatives: list[Alternative] = Field(default_factory=list)


class Callback(_Wire):
    """Where the gateway delivers the decision by webhook."""

    url: str


class EscalationAsk(_Wire):
    """The workflow asks for a supervisor from the start, saying why (`note`)."""

    note: str


class DelegationRequestModel(_Wire):
    """The DelegationRequest wire object (see `countersign.DelegationRequest` to build one)."""

    schema_: Literal["countersign.request/v1"] = Field(default=REQUEST_SCHEMA, alias="schema")
    request_id: str = Field(min_length=1)
    txn: str
    created_at: str
    expires_at: str
    principal: str
    purpose: Purpose
    chain: list[str] = Field(min_length=1)
    action: Action
    evidence: list[Evidence] = Field(default_factory=list)
    uncertainty: Uncertainty
    callback: Optional[Callback] = None
    escalate: Optional[EscalationAsk] = None


class Finding(_Received):
    """One thing the gateway's verifier found: its code, severity, the hop it concerns (None:
    the request as a whole) and a plain-language detail."""

    code: str
    severity: Severity
    hop: Optional[int] = None
    detail: str = ""
    evidence_id: Optional[str] = None
    """The evidence item the finding is about, when it is about one."""


class VerificationReport(_Received):
    """The verifier's report on one DelegationRequest: `valid` when no finding is an error
    (warnings may remain), and the digests it computed."""

    verdict: Literal["valid", "invalid"]
    findings: list[Finding] = Field(default_factory=list)
    request_digest: Optional[str] = None
    chain_digest: Optional[str] = None
    action_digest: Optional[str] = None

    def codes(self, severity: Severity | None = None) -> list[str]:
        """The findings' codes, in order; only those of `severity` when given."""
        return [f.code for f in self.findings if severity is None or f.severity == severity]


class SubmitResponse(_Received):
    """The gateway's answer to a submit: the request's state and the verifier's report."""

    request_id: str
    state: RequestState
    report: VerificationReport


class DecisionOutcome(_Received):
    """What a workflow waits for (`GET /v1/requests/{id}/decision`): the state and, once
    approved or rejected, the decision JWS that settled it. Not verified: see
    `Client.verify()`. `approvals` holds every approver's JWS when a quorum approved, oldest
    first."""

    request_id: str
    state: RequestState
    decision_jws: Optional[str] = None
    approvals: list[str] = Field(default_factory=list)


class PolicyRef(_Received):
    """The versioned policy a decision was taken under."""

    id: str
    version: str


class DecisionClaims(_Received):
    """Claims of a reviewer's decision, signed with the reviewer's own key (`iss`): which
    request (`request_id`, `txn` and the three digests), `approve` or `reject`, why, and the
    finding codes the reviewer acknowledged."""

    iss: str
    aud: str
    jti: str
    iat: int
    exp: int
    txn: str
    request_id: str
    request_digest: str
    chain_digest: str
    action_digest: str
    decision: Literal["approve", "reject"]
    reason: str
    flags_acknowledged: list[str] = Field(default_factory=list)
    policy: PolicyRef


class Receipt(_Wire):
    """What the workflow did with the decision (`POST /v1/requests/{id}/receipt`); see
    `Client.post_receipt()`."""

    status: ReceiptStatus
    executed_at: str
    detail: str = ""
    result_digest: Optional[str] = None


class WebhookDelivery(_Received):
    """The body the gateway POSTs to a request's callback URL. `delivery_id` is repeated on
    retries (the idempotency key). Read it with `verify_webhook()`, never directly."""

    delivery_id: str
    request_id: str
    state: RequestState
    decision_jws: Optional[str] = None


class WebhookSignatureClaims(_Received):
    """Claims of a webhook's `Countersign-Signature` JWS: the gateway (`iss`), the digest of
    the exact body bytes, the delivery id and when it was signed."""

    iss: str
    body_digest: str
    delivery_id: str
    iat: int


class Jwk(_Received):
    """A public JWK as the gateway publishes it."""

    kty: str
    crv: Optional[str] = None
    x: Optional[str] = None
    y: Optional[str] = None
    kid: Optional[str] = None
    alg: Optional[str] = None
    use: Optional[str] = None


class Jwks(_Received):
    """A JWK Set (`{"keys": [...]}`). To verify with it, use `countersign.KeySet`."""

    keys: list[Jwk]


class TrustParty(_Wire):
    """A human, agent or service in the trust store, with the public JWKs registered for it."""

    kind: Literal["human", "agent", "service"]
    display_name: str
    keys: list[dict[str, Any]]


class TrustStore(_Wire):
    """`trust.json`: identity → kind, display name and public JWKs. The gateway resolves keys
    only from here, never from tokens."""

    parties: dict[str, TrustParty] = Field(default_factory=dict)

    def add(self, identity: str, kind: Literal["human", "agent", "service"], display_name: str,
            *jwks: dict[str, Any]) -> "TrustStore":
        """Adds `identity` with these keys, or adds the keys to a party already there (whose
        kind and display name are then replaced). Returns this store, for chaining."""
        party = self.parties.get(identity)
        keys = (party.keys if party else []) + [dict(j) for j in jwks]
        self.parties[identity] = TrustParty(kind=kind, display_name=display_name, keys=keys)
        return self
