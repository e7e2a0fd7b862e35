//! HTTP client for the Countersign gateway.
//!
//! Workflows submit requests, long-poll for outcomes, verify decisions against the gateway's
//! JWKS ([`verify_decision`]) and post receipts. Consoles authenticate every call with a
//! fresh single-use token signed by the reviewer's own key ([`ConsoleIdentity`]), read the
//! queue, follow live events and post decisions.
#![deny(missing_docs)]

mod decision;
pub mod demo_workflow;
mod events;

use std::sync::Arc;

use countersign_chain::SigningKeyPair;
use countersign_review::{Clock, SystemClock};
use countersign_wire::api::{
    ApiError, AssignSubmission, DecisionOutcome, DecisionRecord, DecisionSubmission, ErrorBody,
    EscalateSubmission, History, Me, Metrics, NoteSubmission, QueueSnapshot, Receipt,
    RequestRecord, SubmitResponse,
};
use countersign_wire::{Jwk, TrustStore};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

pub use decision::{DecisionCheckError, verify_decision};
pub use events::EventStream;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The gateway could not be reached or the connection broke.
    #[error("cannot reach the gateway: {0}")]
    Unreachable(String),
    /// The gateway answered with a typed error.
    #[error("gateway refused ({status}): {} ({})", error.message, error.code)]
    Api {
        /// HTTP status.
        status: u16,
        /// The error body.
        error: ApiError,
    },
    /// The gateway answered something this client does not understand.
    #[error("unexpected answer from the gateway: {0}")]
    Protocol(String),
}

impl ClientError {
    /// Whether retrying later may help (the gateway was unreachable).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ClientError::Unreachable(_))
    }
}

/// A reviewer's identity and key, for console calls.
pub struct ConsoleIdentity {
    /// Reviewer identity.
    pub identity: String,
    /// Their private key (never sent anywhere).
    pub key: SigningKeyPair,
    /// The gateway's audience.
    pub audience: String,
    /// Time source for token issue times.
    pub clock: Arc<dyn Clock>,
}

impl ConsoleIdentity {
    /// An identity using the system clock.
    pub fn new(identity: &str, key: SigningKeyPair, audience: &str) -> Self {
        ConsoleIdentity {
            identity: identity.into(),
            key,
            audience: audience.into(),
            clock: Arc::new(SystemClock),
        }
    }

    /// A fresh single-use token for one call.
    pub fn token(&self) -> String {
        countersign_review::mint_console_token(
            &self.key,
            &self.identity,
            &self.audience,
            self.clock.now(),
            &uuid::Uuid::new_v4().to_string(),
        )
    }
}

/// A connection to one gateway.
#[derive(Clone, Debug)]
pub struct GatewayClient {
    base: String,
    http: reqwest::Client,
}

/// Submission outcome: accepted (pending or escalated) or refused with its report.
#[derive(Clone, Debug)]
pub enum Submitted {
    /// Stored and routed.
    Accepted(SubmitResponse),
    /// Refused at intake.
    Refused(ApiError),
}

impl GatewayClient {
    /// A client for the gateway at `base_url` (e.g. `http://127.0.0.1:8787`).
    pub fn new(base_url: &str) -> Self {
        GatewayClient {
            base: base_url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn answer<T: DeserializeOwned>(
        response: reqwest::Result<reqwest::Response>,
    ) -> Result<T, ClientError> {
        let response = response.map_err(|e| ClientError::Unreachable(e.to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| ClientError::Protocol(format!("{status}: {e}")));
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => Err(ClientError::Api {
                status: status.as_u16(),
                error: body.error,
            }),
            Err(_) => Err(ClientError::Protocol(format!(
                "{status}: {}",
                String::from_utf8_lossy(&bytes)
            ))),
        }
    }

    /// Submits a DelegationRequest (the exact bytes are what the gateway digests).
    pub async fn submit(
        &self,
        workflow_token: &str,
        body: &[u8],
    ) -> Result<Submitted, ClientError> {
        let response = self
            .http
            .post(self.url("/v1/requests"))
            .bearer_auth(workflow_token)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await;
        match Self::answer::<SubmitResponse>(response).await {
            Ok(accepted) => Ok(Submitted::Accepted(accepted)),
            Err(ClientError::Api { status, error })
                if status == StatusCode::UNPROCESSABLE_ENTITY.as_u16()
                    && error.report.is_some() =>
            {
                Ok(Submitted::Refused(error))
            }
            Err(e) => Err(e),
        }
    }

    /// Waits up to `wait_seconds` for a request's outcome.
    pub async fn wait_for_decision(
        &self,
        workflow_token: &str,
        request_id: &str,
        wait_seconds: u64,
    ) -> Result<DecisionOutcome, ClientError> {
        let response = self
            .http
            .get(self.url(&format!("/v1/requests/{request_id}/decision")))
            .query(&[("wait", wait_seconds)])
            .bearer_auth(workflow_token)
            .send()
            .await;
        Self::answer(response).await
    }

    /// Withdraws a request the workflow no longer wants approved.
    pub async fn withdraw(
        &self,
        workflow_token: &str,
        request_id: &str,
    ) -> Result<DecisionOutcome, ClientError> {
        let response = self
            .http
            .post(self.url(&format!("/v1/requests/{request_id}/withdraw")))
            .bearer_auth(workflow_token)
            .send()
            .await;
        Self::answer(response).await
    }

    /// Reports what the workflow did.
    pub async fn post_receipt(
        &self,
        workflow_token: &str,
        request_id: &str,
        receipt: &Receipt,
    ) -> Result<(), ClientError> {
        self.tell(workflow_token, request_id, "receipt", receipt)
            .await
    }

    /// Sends the reviewer a note while the request waits (sending the same `message_id`
    /// again is one note). The note is shown as the workflow's unverified word and changes
    /// nothing a decision signs.
    pub async fn post_note(
        &self,
        workflow_token: &str,
        request_id: &str,
        note: &NoteSubmission,
    ) -> Result<(), ClientError> {
        self.tell(workflow_token, request_id, "notes", note).await
    }

    /// Posts `body` as the workflow to one of its request's routes; any 2xx is done.
    async fn tell(
        &self,
        workflow_token: &str,
        request_id: &str,
        route: &str,
        body: &impl serde::Serialize,
    ) -> Result<(), ClientError> {
        let response = self
            .http
            .post(self.url(&format!("/v1/requests/{request_id}/{route}")))
            .bearer_auth(workflow_token)
            .json(body)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(Self::refusal(response).await)
    }

    /// The keys decisions are signed with (the enrolled reviewers'): what a decision is
    /// verified against.
    pub async fn jwks(&self) -> Result<Vec<Jwk>, ClientError> {
        self.key_set("/.well-known/jwks.json").await
    }

    /// The gateway's own key, which signs webhooks and A2A pushes (never a decision).
    pub async fn webhook_keys(&self) -> Result<Vec<Jwk>, ClientError> {
        self.key_set("/.well-known/countersign-webhook-keys.json")
            .await
    }

    async fn key_set(&self, path: &str) -> Result<Vec<Jwk>, ClientError> {
        #[derive(serde::Deserialize)]
        struct Keys {
            keys: Vec<Jwk>,
        }
        let keys: Keys = Self::answer(self.http.get(self.url(path)).send().await).await?;
        Ok(keys.keys)
    }

    /// The open queue and the event id to subscribe from.
    pub async fn queue(&self, console: &ConsoleIdentity) -> Result<QueueSnapshot, ClientError> {
        self.get(console, "/v1/queue", &[]).await
    }

    /// Up to `limit` recently closed requests, newest first.
    pub async fn history(
        &self,
        console: &ConsoleIdentity,
        limit: u32,
    ) -> Result<Vec<RequestRecord>, ClientError> {
        let limit = limit.to_string();
        self.get::<History>(console, "/v1/history", &[("limit", &limit)])
            .await
            .map(|h| h.requests)
    }

    /// The parties and keys the gateway trusts.
    pub async fn trust(&self, console: &ConsoleIdentity) -> Result<TrustStore, ClientError> {
        self.get(console, "/v1/trust", &[]).await
    }

    /// One request with its report and decision.
    pub async fn request(
        &self,
        console: &ConsoleIdentity,
        request_id: &str,
    ) -> Result<RequestRecord, ClientError> {
        self.get(console, &format!("/v1/requests/{request_id}"), &[])
            .await
    }

    /// A console GET: a fresh token, the query, and the typed answer.
    async fn get<T: DeserializeOwned>(
        &self,
        console: &ConsoleIdentity,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        Self::answer(
            self.http
                .get(self.url(path))
                .query(query)
                .bearer_auth(console.token())
                .send()
                .await,
        )
        .await
    }

    /// Posts `body` to one of a request's action routes (`/v1/requests/{id}/{action}`).
    async fn act_on<T: DeserializeOwned>(
        &self,
        console: &ConsoleIdentity,
        request_id: &str,
        action: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, ClientError> {
        Self::answer(
            self.http
                .post(self.url(&format!("/v1/requests/{request_id}/{action}")))
                .bearer_auth(console.token())
                .json(body)
                .send()
                .await,
        )
        .await
    }

    /// The error an unsuccessful answer carries (its body is the gateway's error envelope).
    async fn refusal(response: reqwest::Response) -> ClientError {
        Self::answer::<serde_json::Value>(Ok(response))
            .await
            .err()
            .unwrap_or(ClientError::Protocol("error without body".into()))
    }

    /// Posts a signed decision (answered 201 when it settles the request, 202 when it is
    /// counted toward a quorum).
    pub async fn decide(
        &self,
        console: &ConsoleIdentity,
        request_id: &str,
        decision_jws: &str,
    ) -> Result<DecisionRecord, ClientError> {
        let body = DecisionSubmission {
            decision_jws: decision_jws.to_owned(),
        };
        self.act_on(console, request_id, "decisions", &body).await
    }

    /// Who this console is at the gateway (roles, tiers).
    pub async fn me(&self, console: &ConsoleIdentity) -> Result<Me, ClientError> {
        self.get(console, "/v1/me", &[]).await
    }

    /// The enrolled reviewers (supervisors only): whom a request can be assigned to.
    pub async fn reviewers(&self, console: &ConsoleIdentity) -> Result<Vec<Me>, ClientError> {
        self.get(console, "/v1/reviewers", &[]).await
    }

    /// The review measures for requests received in `[from, to)` (RFC 3339; defaults to the
    /// last 30 days).
    pub async fn metrics(
        &self,
        console: &ConsoleIdentity,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Metrics, ClientError> {
        let mut query = Vec::new();
        query.extend(from.map(|f| ("from", f)));
        query.extend(to.map(|t| ("to", t)));
        self.get(console, "/v1/metrics", &query).await
    }

    /// Downloads an export (`/v1/export/records?…` or `/v1/export/bundle?…`), telling
    /// `progress` the bytes received so far.
    pub async fn export(
        &self,
        console: &ConsoleIdentity,
        path_and_query: &str,
        mut progress: impl FnMut(u64),
    ) -> Result<Vec<u8>, ClientError> {
        use futures_util::StreamExt as _;
        let response = self
            .http
            .get(self.url(path_and_query))
            .bearer_auth(console.token())
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(Self::refusal(response).await);
        }
        let mut body = Vec::new();
        let mut chunks = response.bytes_stream();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| ClientError::Unreachable(e.to_string()))?;
            body.extend_from_slice(&chunk);
            progress(body.len() as u64);
        }
        Ok(body)
    }

    /// Asks for a supervisor, with a note.
    pub async fn escalate(
        &self,
        console: &ConsoleIdentity,
        request_id: &str,
        note: &str,
    ) -> Result<RequestRecord, ClientError> {
        let body = EscalateSubmission {
            note: note.to_owned(),
        };
        self.act_on(console, request_id, "escalate", &body).await
    }

    /// A supervisor hands a request to a reviewer.
    pub async fn assign(
        &self,
        console: &ConsoleIdentity,
        request_id: &str,
        reviewer: &str,
        note: &str,
    ) -> Result<RequestRecord, ClientError> {
        let body = AssignSubmission {
            reviewer: reviewer.to_owned(),
            note: note.to_owned(),
        };
        self.act_on(console, request_id, "assign", &body).await
    }

    /// Records that the request was shown to this console's reviewer.
    pub async fn shown(
        &self,
        console: &ConsoleIdentity,
        request_id: &str,
    ) -> Result<(), ClientError> {
        let response = self
            .http
            .post(self.url(&format!("/v1/requests/{request_id}/shown")))
            .bearer_auth(console.token())
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        if response.status().is_success() {
            return Ok(()); // no body
        }
        Err(Self::refusal(response).await)
    }

    /// Follows live events after `after` (an event id; 0 for all).
    pub async fn events(
        &self,
        console: &ConsoleIdentity,
        after: i64,
    ) -> Result<EventStream, ClientError> {
        let response = self
            .http
            .get(self.url("/v1/events"))
            .bearer_auth(console.token())
            .header("last-event-id", after.to_string())
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(Self::refusal(response).await);
        }
        Ok(EventStream::new(response))
    }
}
