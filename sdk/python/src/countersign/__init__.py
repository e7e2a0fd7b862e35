"""Countersign for Python: ask a human to countersign an AI agent's high-impact handoff.

Build a delegation chain (`Delegation.issue` → `delegate`), a `DelegationRequest` on it, and
`Client.request_approval()` it: the `Decision` you get back has been verified against the
gateway's published keys and binds exactly the request you sent.

Everything below is importable from `countersign`; the modules it comes from:

- `countersign.chain`: hop 0 and `delegate()`, with the gateway's attenuation rules.
- `countersign.request`: the DelegationRequest, its action, evidence and uncertainty.
- `countersign.client`: the gateway's REST API, sync and async.
- `countersign.decision`: verifying decisions and webhook deliveries.
- `countersign.errors`: the typed exceptions.
- `countersign.keys`: Ed25519 key files, JWKs and thumbprints.
- `countersign.digest`: RFC 8785 digests and I-JSON parsing.
- `countersign.models`: the wire contract's models.

Adapters, imported on their own (each needs its extra):

- `countersign.langgraph`: a node that waits for a countersignature (`[langgraph]`).
- `countersign.openai_agents`: approvals for `needs_approval` tools (`[openai-agents]`).
"""

from .chain import Delegation, Hop, sign_hop
from .client import AsyncClient, Client
from .decision import Decision, KeySet, verify_decision, verify_webhook
from .digest import canonical_json, json_digest, sha256_digest
from .errors import (
    ChainError, ChainRefused, CountersignError, DecisionVerificationError, GatewayError,
    InvalidRequest, LocalFinding, NetworkError, ProtocolError, RequestEnded,
    WebhookVerificationError, WideningRefused,
)
from .keys import KeyPair, PublicKey, thumbprint_of_jwk
from .models import (
    Action, AuthorizationDetail, DecisionClaims, DecisionOutcome, Evidence, EvidenceKind,
    FindingCode, HopClaims, Purpose, ReceiptStatus, RequestState, SubmitResponse, Tier,
    TrustStore, Uncertainty, VerificationReport, WebhookDelivery,
)
from .request import DecisionSubject, DelegationRequest, action, commitment, evidence, rfc3339, uncertainty

__version__ = "0.1.0"

__all__ = [
    "Action", "AsyncClient", "AuthorizationDetail", "ChainError", "ChainRefused", "Client",
    "CountersignError", "Decision", "DecisionClaims", "DecisionOutcome", "DecisionSubject",
    "DecisionVerificationError", "Delegation", "DelegationRequest", "Evidence", "EvidenceKind",
    "FindingCode", "GatewayError", "Hop", "HopClaims", "InvalidRequest", "KeyPair", "KeySet",
    "LocalFinding", "NetworkError", "ProtocolError", "PublicKey", "Purpose", "ReceiptStatus",
    "RequestEnded", "RequestState", "SubmitResponse", "Tier", "TrustStore", "Uncertainty",
    "VerificationReport", "WebhookDelivery", "WebhookVerificationError", "WideningRefused",
    "action", "canonical_json", "commitment", "evidence", "json_digest", "rfc3339",
    "sha256_digest", "sign_hop", "thumbprint_of_jwk", "uncertainty", "verify_decision",
    "verify_webhook",
]
