//! What the agent says about itself (its card), and the checks every call makes first: the
//! protocol version and the media type.

use a2a::{
    A2AError, AgentCapabilities, AgentCard, AgentExtension, AgentInterface, AgentSkill,
    HttpAuthSecurityScheme, SecurityScheme,
};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use countersign_wire::REQUEST_SCHEMA;
use serde_json::json;

use super::{EXTENSION_URI, PROTOCOL_VERSION, REST_PREFIX};
use crate::AppState;

/// Media types a message part may have.
pub(super) const INPUT_MODES: [&str; 2] = ["application/json", "text/plain"];

/// The agent card: one skill, JSON-RPC, bearer authentication like every workflow call.
pub(super) fn agent_card(base_url: &str) -> AgentCard {
    let mut params = std::collections::HashMap::new();
    params.insert("requestSchema".to_owned(), json!(REQUEST_SCHEMA));
    params.insert(
        "decision".to_owned(),
        json!({
            "artifact": "decision",
            "jwsTyp": countersign_wire::DECISION_TYP,
            "jwks": format!("{base_url}.well-known/jwks.json"),
        }),
    );
    let mut schemes = std::collections::HashMap::new();
    schemes.insert(
        "workflowBearer".to_owned(),
        SecurityScheme::HttpAuth(HttpAuthSecurityScheme {
            scheme: "Bearer".into(),
            description: Some(
                "The workflow credential the gateway operator issued (cswf_…)".into(),
            ),
            bearer_format: None,
        }),
    );
    AgentCard {
        name: "Countersign human approval".into(),
        description: "A person reviews an AI agent's delegated, high-impact action, with its \
                      verified delegation chain, and signs the decision."
            .into(),
        version: env!("CARGO_PKG_VERSION").into(),
        supported_interfaces: vec![
            AgentInterface::new(base_url, a2a::TRANSPORT_PROTOCOL_JSONRPC),
            AgentInterface::new(
                format!("{}{REST_PREFIX}", base_url.trim_end_matches('/')),
                a2a::TRANSPORT_PROTOCOL_HTTP_JSON,
            ),
        ],
        capabilities: AgentCapabilities {
            streaming: Some(true),
            push_notifications: Some(true),
            extensions: Some(vec![AgentExtension {
                uri: EXTENSION_URI.into(),
                description: Some(
                    "The message's data part is a Countersign DelegationRequest; the decision \
                     artifact carries the reviewer's signed decision JWS"
                        .into(),
                ),
                required: Some(false),
                params: Some(params),
            }]),
            extended_agent_card: Some(false),
        },
        default_input_modes: INPUT_MODES.iter().map(|m| (*m).to_owned()).collect(),
        default_output_modes: vec!["application/json".into()],
        skills: vec![AgentSkill {
            id: "human-approval".into(),
            name: "Human approval of a delegated action".into(),
            description: "Send a DelegationRequest; the task waits in AUTH_REQUIRED for a \
                          reviewer, then completes with the signed approval or is rejected."
                .into(),
            tags: vec![
                "approval".into(),
                "human-in-the-loop".into(),
                "delegation".into(),
            ],
            examples: None,
            input_modes: Some(vec!["application/json".into()]),
            output_modes: Some(vec!["application/json".into()]),
            security_requirements: None,
        }],
        provider: None,
        documentation_url: None,
        icon_url: None,
        security_schemes: Some(schemes),
        security_requirements: Some(vec![std::collections::HashMap::from([(
            "workflowBearer".to_owned(),
            Vec::new(),
        )])]),
        signatures: None,
    }
}

/// The card as served: built once from the configured public URL (never from a request's
/// `Host`, which a client chooses), so it is the same for everyone and safe to cache.
pub(crate) struct PublishedCard {
    body: Vec<u8>,
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
}

impl PublishedCard {
    /// The card of a gateway reached at `base_url` (ending in `/`), as of `since`.
    pub(crate) fn new(base_url: &str, since: countersign_wire::Timestamp) -> Self {
        let body = serde_json::to_vec(&agent_card(base_url)).unwrap_or_default();
        let etag = format!(
            "\"{}\"",
            countersign_chain::digest::sha256_digest(&body)
                .trim_start_matches("sha256:")
                .get(..32)
                .unwrap_or_default()
        );
        let last_modified = since
            .datetime()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        PublishedCard {
            body,
            etag: HeaderValue::from_str(&etag).ok(),
            last_modified: HeaderValue::from_str(&last_modified).ok(),
        }
    }
}

/// `GET /.well-known/agent-card.json` (public), cacheable.
pub(crate) async fn card(State(state): State<AppState>) -> Response {
    let card = &state.card;
    let mut response = (StatusCode::OK, card.body.clone()).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    for (name, value) in [
        (header::ETAG, &card.etag),
        (header::LAST_MODIFIED, &card.last_modified),
    ] {
        if let Some(value) = value {
            h.insert(name, value.clone());
        }
    }
    response
}

/// Checks the `A2A-Version` the client speaks (the header, else the `A2A-Version` query
/// parameter, else 0.3 as the spec says). Major.Minor is what counts: 1.0.1 is 1.0.
pub(super) fn check_version(headers: &HeaderMap, query: Option<&str>) -> Result<(), A2AError> {
    let from_query = query.and_then(|q| {
        q.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| name.eq_ignore_ascii_case(a2a::SVC_PARAM_VERSION))
            .map(|(_, value)| value.to_owned())
    });
    let spoken = headers
        .get(a2a::SVC_PARAM_VERSION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(from_query)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "0.3".to_owned());
    let major_minor: Vec<&str> = spoken.split('.').take(2).collect();
    if major_minor.join(".") == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(A2AError::version_not_supported(&spoken))
    }
}

/// Whether a request body is declared JSON (`application/json`, or 1.0.1's
/// `application/a2a+json`).
pub(super) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v == "application/a2a+json")
}
