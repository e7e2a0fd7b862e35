//! The REST API's extractors: whatever a client sends that cannot be read is refused in the
//! API's own envelope with a stable code, never with axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use countersign_chain::ijson::{self, IJsonError};
use countersign_wire::api::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::Failure;

/// The exact bytes of an `application/json` body within the size limit.
pub(crate) struct RawJson(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawJson {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Failure> {
        let json = is_json(req.headers());
        let body = Bytes::from_request(req, state).await;
        if !json {
            return Err(Failure::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as Content-Type: application/json",
            ));
        }
        body.map(RawJson).map_err(unreadable)
    }
}

/// Whether the media type is `application/json` (parameters such as `charset` aside).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// A body that could not be read: too large, or cut off.
pub(crate) fn unreadable(rejection: BytesRejection) -> Failure {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return Failure::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than {} bytes", crate::MAX_BODY_BYTES),
        );
    }
    Failure::new(
        ErrorCode::InvalidBody,
        format!("cannot read the body: {rejection}"),
    )
}

/// A JSON body read as `T`; it must be I-JSON (no member named twice).
pub(crate) struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Failure> {
        let RawJson(bytes) = RawJson::from_request(req, state).await?;
        ijson::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| match e {
                IJsonError::Syntax(e) => {
                    Failure::new(ErrorCode::InvalidBody, format!("invalid body: {e}"))
                }
                duplicate => Failure::new(ErrorCode::InvalidBody, format!("body: {duplicate}")),
            })
    }
}

/// Path parameters; a segment that cannot be decoded is `invalid_parameter`.
pub(crate) struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Failure> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(params)| PathParams(params))
            .map_err(|e| Failure::new(ErrorCode::InvalidParameter, e.body_text()))
    }
}

/// Query parameters; one that cannot be read (`?wait=abc`, `?wait=-1`) is
/// `invalid_parameter`.
pub(crate) struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Failure> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(params)| QueryParams(params))
            .map_err(|e| Failure::new(ErrorCode::InvalidParameter, e.body_text()))
    }
}
