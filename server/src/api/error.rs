//! [`ApiError`]: every error answer of the API, with its status and JSON body.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shared::api::{ErrorBody, ErrorResponse};

use crate::ingest::{IngestError, IngestErrorKind};
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: serde_json::Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: serde_json::Value::Null,
        }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "upload_too_large",
            format!("the upload is larger than the limit of {limit_bytes} bytes"),
        )
        .with_details(json!({ "limit": "max_upload_bytes", "max_bytes": limit_bytes }))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, "{}", self.message);
        }
        let body = ErrorResponse {
            error: ErrorBody {
                code: self.code.into(),
                message: self.message,
                details: self.details,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        let (status, code) = match e.kind {
            IngestErrorKind::Empty => (StatusCode::UNPROCESSABLE_ENTITY, "empty_file"),
            IngestErrorKind::Malformed => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_file"),
            IngestErrorKind::Missing => (StatusCode::UNPROCESSABLE_ENTITY, "missing_column"),
            IngestErrorKind::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "file_too_large"),
        };
        let details = json!({ "file": e.file, "line": e.line, "column": e.column });
        Self::new(status, code, e.to_string()).with_details(details)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // Details stay in the log; the client learns only that the store failed.
        tracing::error!("store: {e}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "store_error",
            "the store could not complete the request",
        )
    }
}

/// A JSON body, or an error that says what is wrong with it: 413 `body_too_large`,
/// 415 `unsupported_media_type`, else (syntax, a missing or unknown field) 400
/// `invalid_json`.
pub fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(v)| v).map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            e.body_text(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            e.body_text(),
        ),
        _ => ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.body_text()),
    })
}

/// Runs CPU work off the async threads; a panic becomes a 500.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "compute_failed",
            e.to_string(),
        )
    })
}
