//! `/api/runs`: upload loss logs (with an optional column mapping), preview what an
//! upload would find, list runs, get a run's points.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use shared::api::{IngestReport, Mapping, RunDetail, RunSummary, UploadResponse};

use super::{ApiError, AppState};
use crate::ingest::{IngestError, ParsedFile, report};
use crate::isolated;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/runs", get(list).post(upload))
        .route("/runs/preview", post(preview))
        .route("/runs/{id}", get(get_run))
}

async fn list(State(state): State<AppState>) -> Result<Json<Vec<RunSummary>>, ApiError> {
    Ok(Json(state.store.list_runs().await?))
}

async fn get_run(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<RunDetail>, ApiError> {
    state
        .store
        .get_run(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no run with id {id}")))
}

/// The files of a multipart body, and the optional `mapping` field (JSON of
/// [`Mapping`]) that overrides the detected column roles for all of them.
struct UploadForm {
    files: Vec<(String, Vec<u8>)>,
    mapping: Mapping,
}

async fn read_form(mut multipart: Multipart, limit: usize) -> Result<UploadForm, ApiError> {
    let multipart_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(limit)
        } else {
            ApiError::bad_request(format!(
                "the multipart body could not be read: {}",
                e.body_text()
            ))
        }
    };
    let mut form = UploadForm {
        files: Vec::new(),
        mapping: Mapping::default(),
    };
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() == Some("mapping") && field.file_name().is_none() {
            let text = field.text().await.map_err(multipart_error)?;
            form.mapping = serde_json::from_str(&text).map_err(|e| {
                ApiError::bad_request(format!("the `mapping` field is not a valid mapping: {e}"))
            })?;
            continue;
        }
        let name = field
            .file_name()
            .or(field.name())
            .unwrap_or("upload")
            .to_string();
        let bytes = field.bytes().await.map_err(multipart_error)?;
        form.files.push((name, bytes.to_vec()));
    }
    if form.files.is_empty() {
        return Err(ApiError::bad_request(
            "no file in the upload: send multipart/form-data with a `file` field",
        ));
    }
    Ok(form)
}

/// Reads every file of the form on a blocking thread (parsing is CPU work).
async fn read_files(
    state: &AppState,
    form: UploadForm,
) -> Result<Vec<(String, Vec<u8>, Result<ParsedFile, IngestError>)>, ApiError> {
    let limits = state.config.limits.clone();
    tokio::task::spawn_blocking(move || {
        form.files
            .into_iter()
            .map(|(name, bytes)| {
                let result = isolated::ingest(&name, &bytes, &form.mapping, &limits);
                (name, bytes, result)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ingest_failed",
            format!("the reader failed: {e}"),
        )
    })
}

/// `POST /api/runs/preview`: what the upload of these files (with this mapping) would
/// find, per file, without storing anything. Unreadable files are reported, not refused.
async fn preview(
    State(state): State<AppState>,
    multipart: Multipart,
) -> Result<Json<IngestReport>, ApiError> {
    let form = read_form(multipart, state.config.max_upload_bytes).await?;
    let files = read_files(&state, form).await?;
    Ok(Json(IngestReport {
        files: files
            .iter()
            .map(|(name, _, result)| report::file_report(name, result))
            .collect(),
    }))
}

/// Multipart upload of one or more files (any field name) and an optional `mapping`.
/// All files are read before anything is stored, so that a bad file in a batch stores
/// none of the batch's runs.
async fn upload(
    State(state): State<AppState>,
    multipart: Multipart,
) -> Result<(StatusCode, Json<UploadResponse>), ApiError> {
    let form = read_form(multipart, state.config.max_upload_bytes).await?;
    let parsed = read_files(&state, form).await?;

    if let Some(pos) = parsed.iter().position(|(_, _, r)| r.is_err()) {
        let mut parsed = parsed;
        let (name, bytes, result) = parsed.swap_remove(pos);
        let err = result.expect_err("position found an error");
        state
            .store
            .add_rejected_upload(name, bytes, err.to_string())
            .await?;
        return Err(err.into());
    }
    let mut response = UploadResponse {
        runs: Vec::new(),
        warnings: Vec::new(),
    };
    for (name, bytes, result) in parsed {
        let file = result.expect("errors handled above");
        response
            .warnings
            .extend(file.warnings.iter().map(|w| format!("{name}: {w}")));
        response.runs.extend(
            state
                .store
                .add_upload(name, file.format, bytes, file.runs)
                .await?,
        );
    }
    Ok((StatusCode::CREATED, Json(response)))
}
