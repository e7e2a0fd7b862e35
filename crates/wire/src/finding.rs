//! Findings of the chain verifier and the report that carries them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A verification finding code. The codes are the contract; `detail` is for people.
///
/// Codes this build does not know (from a newer gateway) deserialize to
/// [`FindingCode::Other`] and round-trip unchanged, so an older console still shows them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum FindingCode {
    /// The request or a hop cannot be parsed, or breaks a size or number-domain limit.
    Malformed,
    /// A JWS uses an algorithm other than EdDSA.
    AlgNotAllowed,
    /// A JWS carries the wrong `typ`.
    TypeConfusion,
    /// No trusted key of the claimed signer matches.
    UnknownKey,
    /// The signature does not verify.
    SignatureInvalid,
    /// The next hop is not signed by the key named in `cnf.jkt`.
    KeyBindingMismatch,
    /// `prev`, `iss`/`sub` continuity, `hop` index or `txn` mismatch.
    BrokenLink,
    /// A hop names a different principal.
    PrincipalChanged,
    /// A hop grants a type, action or location its parent never had.
    GhostPermission,
    /// A hop widens or drops a constraint.
    LimitIncreased,
    /// A hop expires later than its parent.
    ExpiryExtended,
    /// A hop has expired.
    Expired,
    /// A hop is not valid yet.
    NotYetValid,
    /// A hop delegates beyond the allowed depth.
    DepthExceeded,
    /// A hop has no purpose.
    PurposeMissing,
    /// A hop's purpose id differs from the request's or its parent's.
    PurposeDrift,
    /// The action is requested by someone the chain does not delegate to.
    UndelegatedActor,
    /// The action is not covered by the leaf hop's scope.
    ActionOutsideLeafScope,
    /// `arguments_digest` does not match the arguments.
    ArgumentsDigestMismatch,
    /// An evidence digest does not match, or a committed evidence id is missing.
    EvidenceDigestMismatch,
    /// A hop `jti` was already seen in another request (gateway only).
    ReplayedJti,
    /// Warning: the leaf grants types or actions the action does not need.
    ScopeOverProvisioned,
    /// A code this build does not know.
    Other(String),
}

impl FindingCode {
    /// Every code this build knows, in contract order.
    pub const KNOWN: [FindingCode; 22] = [
        FindingCode::Malformed,
        FindingCode::AlgNotAllowed,
        FindingCode::TypeConfusion,
        FindingCode::UnknownKey,
        FindingCode::SignatureInvalid,
        FindingCode::KeyBindingMismatch,
        FindingCode::BrokenLink,
        FindingCode::PrincipalChanged,
        FindingCode::GhostPermission,
        FindingCode::LimitIncreased,
        FindingCode::ExpiryExtended,
        FindingCode::Expired,
        FindingCode::NotYetValid,
        FindingCode::DepthExceeded,
        FindingCode::PurposeMissing,
        FindingCode::PurposeDrift,
        FindingCode::UndelegatedActor,
        FindingCode::ActionOutsideLeafScope,
        FindingCode::ArgumentsDigestMismatch,
        FindingCode::EvidenceDigestMismatch,
        FindingCode::ReplayedJti,
        FindingCode::ScopeOverProvisioned,
    ];

    /// The code as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            FindingCode::Malformed => "MALFORMED",
            FindingCode::AlgNotAllowed => "ALG_NOT_ALLOWED",
            FindingCode::TypeConfusion => "TYPE_CONFUSION",
            FindingCode::UnknownKey => "UNKNOWN_KEY",
            FindingCode::SignatureInvalid => "SIGNATURE_INVALID",
            FindingCode::KeyBindingMismatch => "KEY_BINDING_MISMATCH",
            FindingCode::BrokenLink => "BROKEN_LINK",
            FindingCode::PrincipalChanged => "PRINCIPAL_CHANGED",
            FindingCode::GhostPermission => "GHOST_PERMISSION",
            FindingCode::LimitIncreased => "LIMIT_INCREASED",
            FindingCode::ExpiryExtended => "EXPIRY_EXTENDED",
            FindingCode::Expired => "EXPIRED",
            FindingCode::NotYetValid => "NOT_YET_VALID",
            FindingCode::DepthExceeded => "DEPTH_EXCEEDED",
            FindingCode::PurposeMissing => "PURPOSE_MISSING",
            FindingCode::PurposeDrift => "PURPOSE_DRIFT",
            FindingCode::UndelegatedActor => "UNDELEGATED_ACTOR",
            FindingCode::ActionOutsideLeafScope => "ACTION_OUTSIDE_LEAF_SCOPE",
            FindingCode::ArgumentsDigestMismatch => "ARGUMENTS_DIGEST_MISMATCH",
            FindingCode::EvidenceDigestMismatch => "EVIDENCE_DIGEST_MISMATCH",
            FindingCode::ReplayedJti => "REPLAYED_JTI",
            FindingCode::ScopeOverProvisioned => "SCOPE_OVER_PROVISIONED",
            FindingCode::Other(code) => code,
        }
    }

    /// The severity a finding with this code carries.
    pub fn severity(&self) -> Severity {
        match self {
            FindingCode::ScopeOverProvisioned => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// Whether the gateway refuses a request with this finding at intake (forged or
    /// malformed), rather than storing it for review or escalation.
    pub fn refuses_intake(&self) -> bool {
        matches!(
            self,
            FindingCode::Malformed
                | FindingCode::AlgNotAllowed
                | FindingCode::TypeConfusion
                | FindingCode::UnknownKey
                | FindingCode::SignatureInvalid
        )
    }
}

impl From<String> for FindingCode {
    fn from(code: String) -> Self {
        FindingCode::KNOWN
            .iter()
            .find(|known| known.as_str() == code)
            .cloned()
            .unwrap_or(FindingCode::Other(code))
    }
}

impl From<FindingCode> for String {
    fn from(code: FindingCode) -> Self {
        code.as_str().to_owned()
    }
}

/// The contract's codes; a consumer keeps a code it does not know (from a newer version) as
/// it is, as [`FindingCode::Other`] does.
impl schemars::JsonSchema for FindingCode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FindingCode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let known: Vec<&str> = FindingCode::KNOWN.iter().map(FindingCode::as_str).collect();
        schemars::json_schema!({
            "type": "string",
            "description": "A verification finding code (a newer version may add codes).",
            "enum": known,
        })
    }
}

impl fmt::Display for FindingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious a finding is.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Must be acknowledged; does not make the chain invalid.
    Warning,
    /// Makes the chain invalid.
    Error,
}

/// One thing the verifier found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    /// What was found.
    pub code: FindingCode,
    /// How serious it is.
    pub severity: Severity,
    /// The hop it concerns, or `None` for the request as a whole.
    pub hop: Option<u32>,
    /// Plain-language explanation with the precise values involved.
    pub detail: String,
    /// The evidence item it concerns, when it concerns one (so a console marks that item
    /// without reading the explanation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_id: Option<String>,
}

impl Finding {
    /// A finding with the code's own severity.
    pub fn new(code: FindingCode, hop: Option<u32>, detail: impl Into<String>) -> Self {
        Finding {
            severity: code.severity(),
            code,
            hop,
            detail: detail.into(),
            evidence_id: None,
        }
    }

    /// The same finding, about the evidence item `id`.
    pub fn about_evidence(self, id: &str) -> Self {
        Finding {
            evidence_id: Some(id.to_owned()),
            ..self
        }
    }
}

/// Overall outcome of verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No error findings (warnings may remain).
    Valid,
    /// At least one error finding.
    Invalid,
}

/// The verifier's report on one DelegationRequest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VerificationReport {
    /// `valid` when no finding is an error.
    pub verdict: Verdict,
    /// Everything found, in request order (request-level first, then hop by hop).
    pub findings: Vec<Finding>,
    /// Digest of the request as submitted; `None` if it could not be computed.
    pub request_digest: Option<String>,
    /// Digest of the chain; `None` if it could not be computed.
    pub chain_digest: Option<String>,
    /// Digest of the action; `None` if it could not be computed.
    pub action_digest: Option<String>,
}

impl VerificationReport {
    /// Puts findings in report order (request-level first, then hop by hop, each group in the
    /// order the checks ran) and sets the verdict: invalid exactly when a finding is an error.
    pub fn settle(&mut self) {
        self.findings
            .sort_by_key(|f| f.hop.map_or(0, |h| u64::from(h) + 1));
        self.verdict = if self.has_errors() {
            Verdict::Invalid
        } else {
            Verdict::Valid
        };
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// Whether a finding with `code` is present.
    pub fn has(&self, code: &FindingCode) -> bool {
        self.findings.iter().any(|f| &f.code == code)
    }
}
