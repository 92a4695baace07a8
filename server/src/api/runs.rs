//! `/api/runs`: upload loss logs, list runs, get a run's points.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use shared::api::{RunDetail, RunSummary, UploadResponse};

use super::{ApiError, AppState};
use crate::ingest;

pub fn router() -> Router<AppState> {
    Router::new().route("/runs", get(list).post(upload)).route("/runs/{id}", get(get_run))
}

async fn list(State(state): State<AppState>) -> Result<Json<Vec<RunSummary>>, ApiError> {
    Ok(Json(state.store.list_runs().await?))
}

async fn get_run(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<RunDetail>, ApiError> {
    state.store.get_run(id).await?.map(Json).ok_or_else(|| ApiError::not_found(format!("no run with id {id}")))
}

/// Multipart upload of one or more files (any field name). All files are read before
/// anything is stored, so that a bad file in a batch stores none of the batch's runs.
async fn upload(
    State(state): State<AppState>,
    mut multipart: Multipart,
) -> Result<(StatusCode, Json<UploadResponse>), ApiError> {
    let limit = state.config.max_upload_bytes;
    let multipart_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(limit)
        } else {
            ApiError::bad_request(format!("the multipart body could not be read: {}", e.body_text()))
        }
    };
    let mut files = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.file_name().or(field.name()).unwrap_or("upload").to_string();
        let bytes = field.bytes().await.map_err(multipart_error)?;
        files.push((name, bytes.to_vec()));
    }
    if files.is_empty() {
        return Err(ApiError::bad_request("no file in the upload: send multipart/form-data with a `file` field"));
    }

    let limits = state.config.limits.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        files
            .into_iter()
            .map(|(name, bytes)| {
                let result = ingest::ingest(&name, &bytes, &limits);
                (name, bytes, result)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "ingest_failed", format!("the reader failed: {e}")))?;

    if let Some(pos) = parsed.iter().position(|(_, _, r)| r.is_err()) {
        let mut parsed = parsed;
        let (name, bytes, result) = parsed.swap_remove(pos);
        let err = result.expect_err("position found an error");
        state.store.add_rejected_upload(name, bytes, err.to_string()).await?;
        return Err(err.into());
    }
    let mut response = UploadResponse { runs: Vec::new(), warnings: Vec::new() };
    for (name, bytes, result) in parsed {
        let file = result.expect("errors handled above");
        response.warnings.extend(file.warnings.iter().map(|w| format!("{name}: {w}")));
        response.runs.extend(state.store.add_upload(name, file.format, bytes, file.runs).await?);
    }
    Ok((StatusCode::CREATED, Json(response)))
}
