"""Grants and delegation: hop 0 issued by the principal, then `delegate()` down the chain.

Each hop is a `delegation-hop+jwt` compact JWS signed by the delegator. `delegate()` checks
locally, before signing anything, every rule the gateway's verifier applies between a hop and
its parent (attenuation, expiry, depth, purpose, key binding), and raises `WideningRefused`
with the contract's finding codes when the new hop would widen authority.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import jwt

from .digest import sha256_digest
from .errors import ChainError, LocalFinding, WideningRefused
from .keys import KeyPair, PublicKey
from .models import (
    HOP_TYP, AuthorizationDetail, Confirmation, EvidenceCommitment, FindingCode, HopClaims,
    Purpose,
)

__all__ = ["Delegation", "Hop", "sign_hop", "check_covered", "check_action_in_scope",
           "hop_findings"]

ScopeLike = Union[AuthorizationDetail, Mapping[str, Any]]
KeyRef = Union[KeyPair, PublicKey, str]


def _scope(entries: Iterable[ScopeLike]) -> list[AuthorizationDetail]:
    return [e if isinstance(e, AuthorizationDetail) else AuthorizationDetail.model_validate(e)
            for e in entries]


def _jkt(key: KeyRef) -> str:
    if isinstance(key, KeyPair):
        return key.thumbprint
    if isinstance(key, PublicKey):
        return key.thumbprint
    if isinstance(key, str) and key:
        return key
    raise TypeError("a delegatee key is a KeyPair, a PublicKey or a thumbprint")


# ---------------------------------------------------------------------------------------------
# Attenuation: the same rules as the contract (and crates/chain/src/attenuation.rs)
# ---------------------------------------------------------------------------------------------


def _decimal(value: Any) -> Optional[Decimal]:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, (int, float)):
        text = repr(value)
    else:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _json_equal(a: Any, b: Any) -> bool:
    """JSON value equality as serde_json has it: 1 and 1.0 differ, true and 1 differ."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _contains(items: Sequence[Any], value: Any) -> bool:
    return any(_json_equal(item, value) for item in items)


def _compare(name: str, value: Any, limit: Any) -> int:
    v, lim = _decimal(value), _decimal(limit)
    if v is None:
        raise _NotDecimal(f"{name} value {value!r} is not a decimal")
    if lim is None:
        raise _NotDecimal(f"{name} limit {limit!r} is not a decimal")
    return (v > lim) - (v < lim)


class _NotDecimal(Exception):
    pass


def _constraints_within(child: Optional[dict[str, Any]], parent: Optional[dict[str, Any]]) -> Optional[str]:
    if parent is None:
        return None
    child = child or {}
    for key, limit in parent.items():
        if key not in child:
            return f"drops constraint {key} (parent: {limit!r})"
        value = child[key]
        try:
            if key.startswith("max_"):
                if _compare(key, value, limit) > 0:
                    return f"raises {key} from {limit!r} to {value!r}"
                continue
            if key.startswith("min_"):
                if _compare(key, value, limit) < 0:
                    return f"lowers {key} from {limit!r} to {value!r}"
                continue
        except _NotDecimal as e:
            return str(e)
        if isinstance(limit, list):
            if not isinstance(value, list):
                return f"replaces the set {key} {limit!r} with {value!r}"
            extra = [v for v in value if not _contains(limit, v)]
            if extra:
                return f"widens {key}: adds {extra!r} beyond {limit!r}"
        elif not _json_equal(value, limit):
            return f"changes {key} from {limit!r} to {value!r}"
    return None


def check_covered(child: AuthorizationDetail, parents: Sequence[AuthorizationDetail]) -> Optional[tuple[str, str]]:
    """None when `child` is covered by some parent entry of its type (its actions and
    locations among the parent's, its constraints within the parent's); else (finding code,
    detail): `LIMIT_INCREASED` when only a constraint is wider, else `GHOST_PERMISSION`."""
    same_type = [p for p in parents if p.type == child.type]
    if not same_type:
        return (FindingCode.GHOST_PERMISSION.value,
                f"grants type {child.type} which the parent hop never had")
    ghost = limit = None
    for parent in same_type:
        extra_actions = [a for a in child.actions if a not in parent.actions]
        if parent.locations is None:
            extra_locations: list[str] = []
        elif child.locations is None:
            extra_locations = ["any location"]
        else:
            extra_locations = [loc for loc in child.locations if loc not in parent.locations]
        if not extra_actions and not extra_locations:
            problem = _constraints_within(child.constraints, parent.constraints)
            if problem is None:
                return None
            limit = limit or f"{child.type}: {problem}"
        else:
            parts = []
            if extra_actions:
                parts.append(f"actions [{', '.join(extra_actions)}]")
            if extra_locations:
                parts.append(f"locations [{', '.join(extra_locations)}]")
            ghost = ghost or f"{child.type}: adds {' and '.join(parts)} that the parent hop never granted"
    if limit is not None:
        return FindingCode.LIMIT_INCREASED.value, limit
    return FindingCode.GHOST_PERMISSION.value, ghost or child.type


def _constraints_hold(constraints: Optional[dict[str, Any]], arguments: Mapping[str, Any]) -> Optional[str]:
    for key, limit in (constraints or {}).items():
        if key.startswith("max_"):
            name, forbidden = key[4:], 1
        elif key.startswith("min_"):
            name, forbidden = key[4:], -1
        else:
            name, forbidden = key, 0
        if name not in arguments:
            return f"argument {name} bounded by {key} is missing"
        argument = arguments[name]
        if forbidden:
            try:
                if _compare(name, argument, limit) == forbidden:
                    return f"{name} {argument!r} is outside {key} {limit!r}"
            except _NotDecimal as e:
                return str(e)
        else:
            if isinstance(limit, list):
                within = (all(_contains(limit, v) for v in argument) if isinstance(argument, list)
                          else _contains(limit, argument))
            else:
                within = _json_equal(limit, argument)
            if not within:
                return f"{name} {argument!r} is not within {key} {limit!r}"
    return None


def check_action_in_scope(action_type: str, operation: str, resource: str,
                          arguments: Mapping[str, Any], leaf: Sequence[AuthorizationDetail]) -> Optional[str]:
    """None when the action is covered by some entry of the leaf hop's scope (its type, the
    operation among its actions, the resource among its locations, the arguments within its
    constraints); else why not, as text."""
    same_type = [e for e in leaf if e.type == action_type]
    if not same_type:
        return f"the leaf hop grants no {action_type} authority"
    reasons = []
    for entry in same_type:
        if operation not in entry.actions:
            reason: Optional[str] = f"operation {operation} is not among the granted actions {entry.actions}"
        elif entry.locations is not None and resource not in entry.locations:
            reason = f"resource {resource} is not among the granted locations {entry.locations}"
        else:
            reason = _constraints_hold(entry.constraints, arguments)
        if reason is None:
            return None
        reasons.append(reason)
    return f"{action_type}: {'; '.join(reasons)}"


def hop_findings(index: int, claims: HopClaims, parent: Optional[HopClaims], parent_jws: Optional[str],
                 signer_jkt: Optional[str], request_purpose_id: Optional[str] = None,
                 now: Optional[int] = None) -> list[LocalFinding]:
    """What the contract's verifier would find about hop `index` given its parent (signature
    and trust-store checks excepted: those need the gateway's trust store). Returns the
    findings, empty when there are none; `now` None skips the time checks. Raises
    `ValueError` when `parent` is given without `parent_jws`."""
    out: list[LocalFinding] = []

    def found(code: FindingCode, detail: str) -> None:
        out.append(LocalFinding(code.value, index, detail))

    if claims.hop != index:
        found(FindingCode.BROKEN_LINK, f"hop {index} claims to be hop {claims.hop}")
    if parent is None:
        if claims.prev is not None:
            found(FindingCode.BROKEN_LINK, "hop 0 has a prev, but it has no parent")
    else:
        if not isinstance(parent_jws, str):
            raise ValueError(f"hop {index} has a parent, so its parent's JWS is needed to check prev")
        if claims.prev != sha256_digest(parent_jws.encode("ascii")):
            found(FindingCode.BROKEN_LINK, f"hop {index} prev does not commit to hop {index - 1}")
        if claims.iss != parent.sub:
            found(FindingCode.BROKEN_LINK,
                  f"hop {index} is issued by {claims.iss}, but hop {index - 1} delegated to {parent.sub}")
        if claims.txn != parent.txn:
            found(FindingCode.BROKEN_LINK, f"hop {index} belongs to transaction {claims.txn!r}, not {parent.txn!r}")
        if claims.principal != parent.principal:
            found(FindingCode.PRINCIPAL_CHANGED,
                  f"hop {index} names principal {claims.principal!r}; the chain's is {parent.principal!r}")
        if signer_jkt is not None and signer_jkt != parent.cnf.jkt:
            found(FindingCode.KEY_BINDING_MISMATCH,
                  f"hop {index} is signed by key {signer_jkt}, but hop {index - 1} bound the delegation to key {parent.cnf.jkt}")
        if claims.exp > parent.exp:
            found(FindingCode.EXPIRY_EXTENDED, f"hop {index} expires at {claims.exp}, after its parent's {parent.exp}")
        if parent.max_depth <= 0:
            found(FindingCode.DEPTH_EXCEEDED,
                  f"hop {index - 1} allows no further delegation (max_depth {parent.max_depth}), yet hop {index} delegates")
        elif claims.max_depth > parent.max_depth - 1:
            found(FindingCode.DEPTH_EXCEEDED,
                  f"hop {index} max_depth {claims.max_depth} exceeds its parent's {parent.max_depth} - 1")
        purpose_id = request_purpose_id or (parent.purpose.id if parent.purpose else None)
        if (claims.purpose and parent.purpose and claims.purpose.id
                and claims.purpose.id != parent.purpose.id and claims.purpose.id == purpose_id):
            found(FindingCode.PURPOSE_DRIFT,
                  f"hop {index} purpose {claims.purpose.id!r} differs from its parent's {parent.purpose.id!r}")
        for child in claims.authorization_details:
            problem = check_covered(child, parent.authorization_details)
            if problem is not None:
                out.append(LocalFinding(problem[0], index, f"hop {index} {problem[1]}"))
    if now is not None:
        if claims.exp <= now:
            found(FindingCode.EXPIRED, f"hop {index} expired at {claims.exp}")
        if claims.nbf is not None and claims.nbf > now:
            found(FindingCode.NOT_YET_VALID, f"hop {index} is not valid before {claims.nbf}")
    if claims.max_depth < 0:
        found(FindingCode.DEPTH_EXCEEDED, f"hop {index} has negative max_depth {claims.max_depth}")
    if claims.purpose is None or not claims.purpose.id or not claims.purpose.text.strip():
        found(FindingCode.PURPOSE_MISSING, f"hop {index} states no purpose")
    else:
        expected = request_purpose_id or (parent.purpose.id if parent and parent.purpose else claims.purpose.id)
        if claims.purpose.id != expected:
            found(FindingCode.PURPOSE_DRIFT,
                  f"hop {index} serves purpose {claims.purpose.id!r}; the chain's purpose is {expected!r}")
    return out


# ---------------------------------------------------------------------------------------------
# Signing and the chain
# ---------------------------------------------------------------------------------------------


def sign_hop(claims: HopClaims | Mapping[str, Any], key: KeyPair) -> str:
    """Signs hop claims as a `delegation-hop+jwt` compact JWS and returns it, with no checks
    at all (the equivalent of `countersign sign-hop`). Prefer `Delegation.issue()` /
    `delegate()`."""
    body = claims.to_wire() if isinstance(claims, HopClaims) else dict(claims)
    return key.sign_jws(HOP_TYP, body)


@dataclass(frozen=True)
class Hop:
    """One signed hop: its compact JWS, its claims and the `kid` of its header (None when
    the header has none)."""

    jws: str
    claims: HopClaims
    kid: Optional[str]

    @classmethod
    def parse(cls, jws: str) -> "Hop":
        """Reads a hop's header and claims WITHOUT verifying its signature (the gateway
        verifies every hop against its trust store). Raises `ChainError` with MALFORMED (not a
        JWS, or claims off the contract), TYPE_CONFUSION (`typ`) or ALG_NOT_ALLOWED (`alg`)."""
        try:
            header = jwt.get_unverified_header(jws)
            payload = jwt.decode(jws, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            raise ChainError([LocalFinding(FindingCode.MALFORMED.value, None, f"not a usable JWS: {e}")]) from e
        if header.get("typ") != HOP_TYP:
            raise ChainError([LocalFinding(FindingCode.TYPE_CONFUSION.value, None,
                                           f"typ {header.get('typ')!r}; a hop must be {HOP_TYP!r}")])
        if header.get("alg") != "EdDSA":
            raise ChainError([LocalFinding(FindingCode.ALG_NOT_ALLOWED.value, None,
                                           f"alg {header.get('alg')!r}; only EdDSA is allowed")])
        try:
            claims = HopClaims.model_validate(payload)
        except ValueError as e:
            raise ChainError([LocalFinding(FindingCode.MALFORMED.value, None, f"hop claims are invalid: {e}")]) from e
        return cls(jws=jws, claims=claims, kid=header.get("kid"))


class Delegation:
    """A delegation chain, root first. Immutable: `delegate()` returns a longer chain. Start
    one with `issue()`, or read one received from upstream with `from_chain()`. Constructing
    one from no hops raises `ValueError`."""

    __slots__ = ("_hops",)

    def __init__(self, hops: Sequence[Hop]) -> None:
        if not hops:
            raise ValueError("a delegation has at least hop 0")
        self._hops = tuple(hops)

    # -- building -----------------------------------------------------------------------------

    @classmethod
    def issue(cls, *, principal: str, key: KeyPair, to: str, to_key: KeyRef,
              scope: Iterable[ScopeLike], purpose: Purpose | Mapping[str, str], max_depth: int,
              ttl_seconds: int = 3600, expires_at: Optional[int] = None, txn: Optional[str] = None,
              issuer: Optional[str] = None, evidence: Iterable[EvidenceCommitment] = (),
              now: Optional[int] = None, jti: Optional[str] = None) -> "Delegation":
        """Hop 0: the principal (or a grant-issuing service, `issuer`) grants `scope` to `to`,
        whose key (`to_key`: a key or its thumbprint) must sign the next hop. `max_depth` is how
        many further delegations are allowed; the hop expires at `expires_at`, else
        `ttl_seconds` from `now`. Returns the one-hop chain, signed by `key`. Raises
        `WideningRefused` for a hop 0 that is already unusable (PURPOSE_MISSING, EXPIRED,
        DEPTH_EXCEEDED for a negative `max_depth`), pydantic's `ValidationError` for a scope or
        purpose off the contract, `TypeError` for a `to_key` that is none of the three."""
        now = int(time.time()) if now is None else now
        claims = HopClaims(
            iss=issuer or principal, sub=to, jti=jti or str(uuid.uuid4()), iat=now,
            exp=expires_at if expires_at is not None else now + ttl_seconds,
            txn=txn or f"txn-{uuid.uuid4()}", principal=principal, hop=0, max_depth=max_depth,
            cnf=Confirmation(jkt=_jkt(to_key)), authorization_details=_scope(scope),
            purpose=purpose if isinstance(purpose, Purpose) else Purpose.model_validate(purpose),
            evidence=list(evidence),
        )
        findings = hop_findings(0, claims, None, None, None, None, now)
        if findings:
            raise WideningRefused(findings)
        return cls([Hop(jws=sign_hop(claims, key), claims=claims, kid=key.thumbprint)])

    def next_hop_claims(self, *, to: str, to_key: KeyRef, scope: Iterable[ScopeLike],
                        max_depth: Optional[int] = None, expires_at: Optional[int] = None,
                        purpose: Purpose | Mapping[str, str] | None = None,
                        evidence: Iterable[EvidenceCommitment] = (), now: Optional[int] = None,
                        jti: Optional[str] = None) -> HopClaims:
        """The claims the next hop would carry (defaults: the parent's expiry, depth − 1 and
        purpose), without any check of the rules: `delegate()` checks and signs them. Raises
        only for input off the contract (`ValidationError`, `TypeError` for `to_key`)."""
        leaf = self.leaf
        now = int(time.time()) if now is None else now
        return HopClaims(
            iss=leaf.sub, sub=to, jti=jti or str(uuid.uuid4()), iat=now,
            exp=leaf.exp if expires_at is None else expires_at, txn=leaf.txn,
            principal=leaf.principal, hop=len(self._hops),
            max_depth=leaf.max_depth - 1 if max_depth is None else max_depth,
            prev=sha256_digest(self._hops[-1].jws.encode("ascii")),
            cnf=Confirmation(jkt=_jkt(to_key)), authorization_details=_scope(scope),
            purpose=(leaf.purpose if purpose is None else
                     purpose if isinstance(purpose, Purpose) else Purpose.model_validate(purpose)),
            evidence=list(evidence),
        )

    def check_next(self, claims: HopClaims, signer: KeyPair, now: Optional[int] = None) -> list[LocalFinding]:
        """Every finding the next hop (`claims`, signed by `signer`) would get, against the
        leaf and the root's purpose; empty when it would pass. Signs nothing."""
        now = int(time.time()) if now is None else now
        root_purpose = self.root.purpose.id if self.root.purpose else None
        return hop_findings(len(self._hops), claims, self.leaf, self._hops[-1].jws,
                            signer.thumbprint, root_purpose, now)

    def delegate(self, *, key: KeyPair, to: str, to_key: KeyRef, scope: Iterable[ScopeLike],
                 max_depth: Optional[int] = None, expires_at: Optional[int] = None,
                 purpose: Purpose | Mapping[str, str] | None = None,
                 evidence: Iterable[EvidenceCommitment] = (), now: Optional[int] = None,
                 jti: Optional[str] = None) -> "Delegation":
        """The current delegatee (holding `key`, the key the leaf's `cnf.jkt` names) delegates
        `scope` to `to`. Returns the longer chain (this one is unchanged). Raises
        `WideningRefused` naming the finding code(s) if the new hop would widen authority
        (GHOST_PERMISSION, LIMIT_INCREASED, EXPIRY_EXTENDED, DEPTH_EXCEEDED, PURPOSE_DRIFT,
        PURPOSE_MISSING), is signed by the wrong key (KEY_BINDING_MISMATCH) or the chain has
        expired (EXPIRED); nothing is signed then."""
        claims = self.next_hop_claims(to=to, to_key=to_key, scope=scope, max_depth=max_depth,
                                      expires_at=expires_at, purpose=purpose, evidence=evidence,
                                      now=now, jti=jti)
        findings = self.check_next(claims, key, now)
        if findings:
            raise WideningRefused(findings)
        return Delegation([*self._hops, Hop(jws=sign_hop(claims, key), claims=claims, kid=key.thumbprint)])

    @classmethod
    def from_chain(cls, chain: Sequence[str]) -> "Delegation":
        """A chain received from upstream (compact JWS strings, root first). Signatures are NOT
        verified here (the gateway verifies against its trust store), nor the links between
        hops; each hop's header and claims are (`Hop.parse`: raises `ChainError`). An empty
        chain raises `ValueError`."""
        return cls([Hop.parse(jws) for jws in chain])

    # -- reading ------------------------------------------------------------------------------

    @property
    def hops(self) -> tuple[Hop, ...]:
        """The hops, root first."""
        return self._hops

    @property
    def chain(self) -> list[str]:
        """The hop JWS strings, root first: the request's `chain`."""
        return [h.jws for h in self._hops]

    @property
    def root(self) -> HopClaims:
        """Hop 0's claims (the principal's grant)."""
        return self._hops[0].claims

    @property
    def leaf(self) -> HopClaims:
        """The last hop's claims: its `sub` is who may act, its scope what they may do."""
        return self._hops[-1].claims

    @property
    def txn(self) -> str:
        """The chain's transaction id: hop 0's (`delegate()` copies it into each new hop)."""
        return self.root.txn

    @property
    def principal(self) -> str:
        """Hop 0's principal: the human on whose behalf the chain acts."""
        return self.root.principal

    def __len__(self) -> int:
        return len(self._hops)

    def __repr__(self) -> str:
        path = " → ".join([self.root.iss] + [h.claims.sub for h in self._hops])
        return f"Delegation({path}, txn={self.txn!r})"
