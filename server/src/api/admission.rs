//! What a request may make the server hold, bounded before its body is read.
//!
//! - Each request's body has a limit (uploads: `--max-upload-mib`; every other route a
//!   JSON body of at most [`JSON_BODY_LIMIT`]). A `Content-Length` over it is answered 413
//!   from the header, without reading a byte; a body without one is cut off at the limit
//!   while it streams (axum's `DefaultBodyLimit`).
//! - Uploads share one memory budget ([`UploadBudget`], as large as the upload limit):
//!   an upload takes its declared size from the budget (the limit when it declares none)
//!   before its body is read, and gives it back when it is answered. So at most one
//!   maximum-size upload is read and parsed at a time, or many small ones together; the
//!   others wait, with their bodies still in the network buffers, for up to
//!   [`UploadBudget::wait`], then get 503 `busy` with `Retry-After`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::Semaphore;

use super::{ApiError, AppState};

/// The body limit of every route that is not an upload (axum's default, made explicit).
pub const JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Longest time spent reading (and dropping) the body of an upload refused as busy.
const DISCARD_TIME: Duration = Duration::from_secs(10);

/// Seconds a client refused for load is told to wait before trying again.
const RETRY_AFTER_SECONDS: u64 = 5;

/// The memory budget that uploads share, counted in KiB (a semaphore's permits).
#[derive(Clone)]
pub struct UploadBudget {
    permits: Arc<Semaphore>,
    total_kib: u32,
    /// How long an upload may wait for its share before it is refused with 503.
    pub wait: Duration,
}

impl UploadBudget {
    pub fn new(bytes: usize, wait: Duration) -> Self {
        let total_kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .max(1);
        Self {
            permits: Arc::new(Semaphore::new(total_kib as usize)),
            total_kib,
            wait,
        }
    }
}

/// Whether a request is an upload (a file body, bounded by the upload limit).
fn is_upload(method: &Method, path: &str) -> bool {
    method == Method::POST && (path.ends_with("/runs") || path.ends_with("/runs/preview"))
}

/// 413 from the `Content-Length` header alone; uploads then wait for their share of the
/// [`UploadBudget`] (503 `busy` after [`UploadBudget::wait`]) and hold it until answered.
pub async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let upload = is_upload(request.method(), request.uri().path());
    let limit = if upload {
        state.config.max_upload_bytes
    } else {
        JSON_BODY_LIMIT
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared
        && length > limit as u64
    {
        return too_large(length, limit, upload).into_response();
    }
    if !upload {
        return next.run(request).await;
    }
    let budget = &state.upload_budget;
    let bytes = declared.map_or(limit, |n| n as usize).min(limit);
    let kib = u32::try_from(bytes.div_ceil(1024))
        .unwrap_or(u32::MAX)
        .clamp(1, budget.total_kib);
    let permit =
        match tokio::time::timeout(budget.wait, budget.permits.clone().acquire_many_owned(kib))
            .await
        {
            Ok(Ok(permit)) => permit,
            _ => {
                discard_body(request, limit).await;
                return busy(budget.wait);
            }
        };
    let response = next.run(request).await;
    drop(permit);
    response
}

/// Reads a refused upload's body to its end without keeping it (bounded in bytes and
/// time), so that a client that sends its whole body before reading the answer (no
/// `Expect: 100-continue`) sees the 503 instead of a broken connection.
async fn discard_body(request: Request, limit: usize) {
    use futures_util::StreamExt;
    let mut body = request.into_body().into_data_stream();
    let drain = async {
        let mut read = 0;
        while let Some(Ok(chunk)) = body.next().await {
            read += chunk.len();
            if read > limit {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DISCARD_TIME, drain).await;
}

fn too_large(length: u64, limit: usize, upload: bool) -> ApiError {
    let (code, what) = if upload {
        ("upload_too_large", "max_upload_bytes")
    } else {
        ("body_too_large", "json_body_bytes")
    };
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        code,
        format!("the request declares {length} bytes, more than the limit of {limit} bytes"),
    )
    .with_details(json!({ "limit": what, "max_bytes": limit, "content_length": length }))
}

fn busy(waited: Duration) -> Response {
    let mut response = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        format!(
            "the server is reading other uploads and could not take this one within {} s: try again in {RETRY_AFTER_SECONDS} s",
            waited.as_secs_f64()
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_are_the_file_routes() {
        assert!(is_upload(&Method::POST, "/api/runs"));
        assert!(is_upload(&Method::POST, "/runs/preview"));
        assert!(!is_upload(&Method::GET, "/api/runs"));
        assert!(!is_upload(&Method::POST, "/api/fits"));
        assert!(!is_upload(&Method::PATCH, "/api/runs/3"));
    }

    #[test]
    fn a_budget_is_at_least_one_kib() {
        assert_eq!(UploadBudget::new(0, Duration::ZERO).total_kib, 1);
        assert_eq!(UploadBudget::new(1025, Duration::ZERO).total_kib, 2);
    }
}
