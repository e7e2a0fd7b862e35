"""Building a DelegationRequest: the action (with its arguments digest), evidence items (with
digests over their exact bytes) and the agent's uncertainty, on top of a `Delegation`.

`DelegationRequest.build()` refuses (`InvalidRequest`, with the contract's finding code) a
request it knows the gateway would flag: an action outside the leaf's scope, an actor the
chain never delegated to, evidence a hop commits to that is missing or different, an expired
chain. What it returns is immutable; `to_wire()` is the exact JSON object to submit, and
`subject` the digests a decision on it must name.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from .chain import Delegation, check_action_in_scope
from .digest import json_digest, loads_ijson, sha256_digest
from .errors import InvalidRequest, LocalFinding
from .models import (
    Action, Alternative, Callback, DelegationRequestModel, EscalationAsk, Evidence,
    EvidenceCommitment, EvidenceKind, FindingCode, Impact, Money, Tier, Tool, Uncertainty,
)

__all__ = ["DelegationRequest", "DecisionSubject", "action", "evidence", "uncertainty",
           "rfc3339", "commitment"]


def rfc3339(at: Union[_dt.datetime, int, float, None] = None) -> str:
    """`at` (an aware datetime or Unix seconds; None: now) as RFC 3339 in UTC with
    milliseconds, the gateway's one text form for times. Raises `ValueError` for a naive
    datetime."""
    if at is None:
        at = _dt.datetime.now(_dt.timezone.utc)
    elif isinstance(at, (int, float)):
        at = _dt.datetime.fromtimestamp(at, _dt.timezone.utc)
    elif at.tzinfo is None:
        raise ValueError("a naive datetime has no time zone; pass an aware one")
    at = at.astimezone(_dt.timezone.utc)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def action(*, type: str, operation: str, resource: str, arguments: Mapping[str, Any],
           requested_by: str, summary: str, tier: Union[Tier, str], reversible: bool,
           value: Optional[tuple[str, str]] = None, tool: Optional[str] = None,
           tool_server: Optional[str] = None) -> Action:
    """An action with `arguments_digest` computed (RFC 8785 over `arguments`). `value` is
    (amount, currency) at stake, `tool` / `tool_server` the tool that would carry it out.
    Amounts and ids belong in strings: integers beyond 2^53 or non-finite numbers raise
    `ValueError`, as do an unknown `tier` and fields off the contract (`ValidationError`)."""
    args = dict(arguments)
    return Action(
        type=type, operation=operation, resource=resource, arguments=args,
        arguments_digest=json_digest(args), requested_by=requested_by,
        tool=Tool(name=tool, server=tool_server) if tool else None,
        impact=Impact(tier=Tier(tier), reversible=reversible,
                      value=Money(amount=value[0], currency=value[1]) if value else None),
        summary=summary,
    )


def evidence(*, id: str, kind: Union[EvidenceKind, str], produced_by: str, title: str,
             content: Union[str, bytes, None] = None, content_type: str = "text/plain",
             uri: Optional[str] = None, digest: Optional[str] = None,
             captured_at: Optional[str] = None) -> Evidence:
    """An evidence item. With inline `content` (text, or bytes that are UTF-8) the digest is
    computed over its exact UTF-8 bytes (a `digest` passed too must equal it). Content kept
    elsewhere (binary attachments) goes behind `uri` with the `digest` of its bytes, e.g.
    `sha256_digest(data)`. `captured_at` defaults to now. Raises `InvalidRequest`
    (EVIDENCE_DIGEST_MISMATCH) when `digest` is not that of `content`, and `ValueError` for
    content that is not UTF-8, no content without both `uri` and `digest`, or an unknown
    `kind`."""
    if content is not None:
        raw = content if isinstance(content, bytes) else content.encode("utf-8")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError("inline evidence content must be UTF-8; put binary behind a uri with its digest") from e
        computed = sha256_digest(raw)
        if digest is not None and digest != computed:
            raise InvalidRequest([LocalFinding(FindingCode.EVIDENCE_DIGEST_MISMATCH.value, None,
                                               f"evidence {id!r} content digests to {computed}, not {digest}")])
        digest, content_text = computed, text
    else:
        if uri is None or digest is None:
            raise ValueError("evidence without inline content needs a uri and the digest of its bytes")
        content_text = None
    return Evidence(id=id, kind=EvidenceKind(kind), produced_by=produced_by, title=title,
                    content_type=content_type, content=content_text, uri=uri, digest=digest,
                    captured_at=captured_at or rfc3339())


def commitment(item: Evidence) -> EvidenceCommitment:
    """A hop's commitment to an evidence item, its id and digest (for
    `delegate(evidence=[...])`: the request must then carry that item unchanged)."""
    return EvidenceCommitment(id=item.id, digest=item.digest)


def uncertainty(confidence: float, method: str, *, assumptions: Sequence[str] = (),
                known_unknowns: Sequence[str] = (),
                alternatives: Sequence[tuple[str, str]] = ()) -> Uncertainty:
    """The agent's account of its uncertainty: `confidence` in [0, 1], how it was obtained
    (`method`), its assumptions and known unknowns, and the alternatives it considered as
    (summary, why not) pairs. Raises `ValidationError` for a confidence outside [0, 1]."""
    return Uncertainty(confidence=confidence, method=method, assumptions=list(assumptions),
                       known_unknowns=list(known_unknowns),
                       alternatives=[Alternative(summary=s, why_not=w) for s, w in alternatives])


@dataclass(frozen=True)
class DecisionSubject:
    """What a decision must name to decide this request: its ids and the three digests
    (RFC 8785 digests of the request, its `chain` and its `action`)."""

    request_id: str
    txn: str
    request_digest: str
    chain_digest: str
    action_digest: str


class DelegationRequest:
    """A DelegationRequest, ready to submit: `model` is its wire model, `subject` what a
    decision on it must name. Make one with `build()`, or read one back with `from_wire()`.

    Treat it as immutable: the wire form and the digests are taken once, when it is made, so
    a change to `model` afterwards is in neither."""

    __slots__ = ("_wire", "model", "subject")

    def __init__(self, model: DelegationRequestModel) -> None:
        wire = model.to_wire()
        self._wire = wire
        self.model = model
        self.subject = DecisionSubject(
            request_id=model.request_id, txn=model.txn, request_digest=json_digest(wire),
            chain_digest=json_digest(wire["chain"]), action_digest=json_digest(wire["action"]))

    @classmethod
    def build(cls, *, delegation: Delegation, action: Action, uncertainty: Uncertainty,
              evidence: Iterable[Evidence] = (), request_id: Optional[str] = None,
              expires_in_seconds: int = 1800, expires_at: Optional[str] = None,
              created_at: Optional[str] = None, callback_url: Optional[str] = None,
              escalate_note: Optional[str] = None, now: Optional[_dt.datetime] = None) -> "DelegationRequest":
        """The request for `action` under `delegation` (its leaf may act), with `evidence`
        and `uncertainty`. Defaults: `request_id` a fresh `req-<uuid4>`, `created_at` now,
        `expires_at` `expires_in_seconds` after now (`now` an aware datetime).
        `callback_url` asks for a webhook, `escalate_note` for a supervisor from the start.

        Raises `InvalidRequest` with every finding it knows the gateway would report:
        UNDELEGATED_ACTOR (`requested_by` is not the leaf's `sub`), ACTION_OUTSIDE_LEAF_SCOPE,
        ARGUMENTS_DIGEST_MISMATCH, EVIDENCE_DIGEST_MISMATCH (content off its digest, or a hop
        committing to evidence the request does not carry), MALFORMED (an evidence id twice),
        EXPIRED (a hop). Nothing is sent."""
        now = now or _dt.datetime.now(_dt.timezone.utc)
        items = list(evidence)
        leaf = delegation.leaf
        findings: list[LocalFinding] = []
        if action.requested_by != leaf.sub:
            findings.append(LocalFinding(FindingCode.UNDELEGATED_ACTOR.value, None,
                                         f"the action is requested by {action.requested_by}, but the chain delegates to {leaf.sub}"))
        problem = check_action_in_scope(action.type, action.operation, action.resource,
                                        action.arguments, leaf.authorization_details)
        if problem is not None:
            findings.append(LocalFinding(FindingCode.ACTION_OUTSIDE_LEAF_SCOPE.value, len(delegation) - 1,
                                         f"the action is outside the leaf hop's scope: {problem}"))
        if json_digest(action.arguments) != action.arguments_digest:
            findings.append(LocalFinding(FindingCode.ARGUMENTS_DIGEST_MISMATCH.value, None,
                                         "arguments_digest is not the digest of arguments"))
        by_id = {}
        for item in items:
            if item.id in by_id:
                findings.append(LocalFinding(FindingCode.MALFORMED.value, None, f"evidence id {item.id!r} appears twice"))
            by_id[item.id] = item
            if item.content is not None and sha256_digest(item.content.encode("utf-8")) != item.digest:
                findings.append(LocalFinding(FindingCode.EVIDENCE_DIGEST_MISMATCH.value, None,
                                             f"evidence {item.id!r} content does not match its digest"))
        for index, hop in enumerate(delegation.hops):
            for c in hop.claims.evidence:
                if c.id not in by_id or by_id[c.id].digest != c.digest:
                    findings.append(LocalFinding(FindingCode.EVIDENCE_DIGEST_MISMATCH.value, index,
                                                 f"hop {index} commits to evidence {c.id!r} that the request does not carry with digest {c.digest}"))
            if hop.claims.exp <= int(now.timestamp()):
                findings.append(LocalFinding(FindingCode.EXPIRED.value, index, f"hop {index} has expired"))
        if findings:
            raise InvalidRequest(findings)
        model = DelegationRequestModel(
            request_id=request_id or f"req-{uuid.uuid4()}", txn=delegation.txn,
            created_at=created_at or rfc3339(now),
            expires_at=expires_at or rfc3339(now + _dt.timedelta(seconds=expires_in_seconds)),
            principal=delegation.principal, purpose=delegation.root.purpose, chain=delegation.chain,
            action=action, evidence=items, uncertainty=uncertainty,
            callback=Callback(url=callback_url) if callback_url else None,
            escalate=EscalationAsk(note=escalate_note) if escalate_note else None,
        )
        return cls(model)

    @classmethod
    def from_wire(cls, obj: Union[Mapping[str, Any], str, bytes]) -> "DelegationRequest":
        """A request back from its JSON (e.g. from a checkpoint): validated, digests recomputed.
        The contract's checks are not run again (see `build()`). Raises `ValueError` for JSON
        that is not I-JSON, off the contract (`ValidationError`), or carrying members or values
        the contract does not define."""
        data = loads_ijson(obj) if isinstance(obj, (str, bytes)) else dict(obj)
        request = cls(DelegationRequestModel.model_validate(data))
        if request._wire != data:
            raise ValueError("the request JSON carries members or values the contract does not define")
        return request

    def to_wire(self) -> dict[str, Any]:
        """The JSON object to submit (a fresh copy: changing it changes nothing here)."""
        return loads_ijson(self.to_json())

    def to_json(self) -> str:
        """The wire object as compact JSON text (not escaped to ASCII; not the RFC 8785 form
        the digests are taken over)."""
        import json
        return json.dumps(self._wire, ensure_ascii=False, separators=(",", ":"))

    @property
    def request_id(self) -> str:
        """The request's id, which submissions are idempotent on."""
        return self.model.request_id

    @property
    def action(self) -> Action:
        """The action a decision on this request allows or refuses."""
        return self.model.action

    def __repr__(self) -> str:
        return f"DelegationRequest({self.request_id!r}, {self.action.type}.{self.action.operation} on {self.action.resource})"
