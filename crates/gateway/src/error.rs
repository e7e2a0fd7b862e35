//! The one error envelope every handler answers with: `{"error": {"code", "message"}}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use countersign_wire::VerificationReport;
use countersign_wire::api::{ApiError, ErrorBody, ErrorCode, RequestState};

/// A client-visible failure: status, stable code, message.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    // Boxed: reports can be large and every handler returns `Result<_, Failure>`.
    error: Box<ApiError>,
}

impl Failure {
    /// Its stable code.
    pub fn code(&self) -> ErrorCode {
        self.error.code
    }

    /// Its message for the client.
    pub fn message(&self) -> &str {
        &self.error.message
    }

    /// What the client is told: code, message, and the report or state if any.
    pub fn body(&self) -> &ApiError {
        &self.error
    }

    /// A failure with the status that belongs to `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Failure {
            status: status_of(code),
            error: Box::new(ApiError {
                code,
                message: message.into(),
                report: None,
                state: None,
            }),
        }
    }

    /// Attaches the verification report (for `chain_refused`).
    pub fn with_report(mut self, report: VerificationReport) -> Self {
        self.error.report = Some(report);
        self
    }

    /// Attaches the request's state (for `not_pending`).
    pub fn with_state(mut self, state: RequestState) -> Self {
        self.error.state = Some(state);
        self
    }

    /// An internal failure: logged with its cause, answered with nothing but "internal".
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Failure::new(
            ErrorCode::Internal,
            "the gateway could not complete the request; see its logs",
        )
    }
}

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden | ErrorCode::SelfApproval | ErrorCode::ApprovalBlocked => {
            StatusCode::FORBIDDEN
        }
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::InvalidBody | ErrorCode::InvalidParameter | ErrorCode::DecisionInvalid => {
            StatusCode::BAD_REQUEST
        }
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::ChainRefused
        | ErrorCode::DecisionNotAcceptable
        | ErrorCode::DecisionMismatch
        | ErrorCode::ReasonRequired => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::RequestIdConflict
        | ErrorCode::DecisionReplayed
        | ErrorCode::NotPending
        | ErrorCode::AlreadyApproved => StatusCode::CONFLICT,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(ErrorBody { error: *self.error })).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, bearer_challenge());
        }
        response
    }
}

/// The challenge every 401 carries (RFC 9110 §11.6.1): both workflows and consoles present
/// bearer credentials.
pub fn bearer_challenge() -> HeaderValue {
    HeaderValue::from_static("Bearer realm=\"countersign\"")
}

impl From<countersign_store::StoreError> for Failure {
    fn from(e: countersign_store::StoreError) -> Self {
        Failure::internal(e)
    }
}

impl From<countersign_review::Rejection> for Failure {
    fn from(r: countersign_review::Rejection) -> Self {
        Failure::new(r.code, r.message)
    }
}

/// Result of a handler.
pub type Result<T, E = Failure> = std::result::Result<T, E>;
