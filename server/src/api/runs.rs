//! `/api/runs`: upload loss logs (multipart files with an optional column mapping, or a
//! JSON body of points), preview what an upload would find, list runs with filters, get a
//! run's points, rename it or give it a schedule, delete it.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shared::api::{
    IngestReport, Mapping, RunDetail, RunPatch, RunSummary, RunUpload, UploadResponse,
};
use shared::schedule::Schedule;

use super::{ApiError, AppState};
use crate::ingest::{self, IngestError, ParsedFile, report};
use crate::store::{RunDeletion, RunFilter};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/runs", get(list).post(upload))
        .route("/runs/preview", post(preview))
        .route("/runs/{id}", get(get_run).patch(patch).delete(delete))
}

/// `GET /api/runs?q=&format=&has_lr=`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    q: Option<String>,
    format: Option<String>,
    has_lr: Option<bool>,
}

async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<RunSummary>>, ApiError> {
    let Query(query) = query.map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text())
            .with_details(serde_json::json!({ "allowed": ["q", "format", "has_lr"] }))
    })?;
    let filter = RunFilter {
        name_contains: query.q.filter(|q| !q.is_empty()),
        format: query.format.filter(|f| !f.is_empty()),
        has_lr: query.has_lr,
    };
    Ok(Json(state.store.list_runs(filter).await?))
}

/// Renames a run and/or sets (checked) or clears (`null`) its schedule.
async fn patch(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    body: Result<Json<RunPatch>, JsonRejection>,
) -> Result<Json<RunSummary>, ApiError> {
    let Json(patch) =
        body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.body_text()))?;
    let unprocessable =
        |code, message: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message);
    if let Some(name) = &patch.name
        && name.trim().is_empty()
    {
        return Err(unprocessable(
            "invalid_name",
            "a run's name cannot be empty".into(),
        ));
    }
    if let Some(Some(spec)) = &patch.schedule {
        spec.parse::<Schedule>()
            .map_err(|e| unprocessable("invalid_schedule", format!("schedule '{spec}': {e}")))?;
    }
    state
        .store
        .update_run(id, patch.name, patch.schedule)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no run with id {id}")))
}

/// Deletes a run unless a fit uses it (409 naming the fits: delete them first), so that
/// every stored fit can still be reproduced from its runs.
async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    match state.store.delete_run(id).await? {
        RunDeletion::Deleted => Ok(StatusCode::NO_CONTENT),
        RunDeletion::Missing => Err(ApiError::not_found(format!("no run with id {id}"))),
        RunDeletion::InUse(fits) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "run_in_use",
            format!("run {id} is used by fits {fits:?}: delete those fits first"),
        )
        .with_details(serde_json::json!({ "fits": fits }))),
    }
}

/// `POST /api/runs`: a JSON body of points (`Content-Type: application/json`) or
/// multipart files.
async fn upload(
    State(state): State<AppState>,
    request: Request,
) -> Result<(StatusCode, Json<UploadResponse>), ApiError> {
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        return upload_points(state, request).await;
    }
    let multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|e| {
            ApiError::bad_request(format!(
                "{}: send multipart/form-data files or a JSON body of points",
                e.body_text()
            ))
        })?;
    upload_files(State(state), multipart).await
}

/// One run as JSON points; the body is kept as the raw upload.
async fn upload_points(
    state: AppState,
    request: Request,
) -> Result<(StatusCode, Json<UploadResponse>), ApiError> {
    let limit = state.config.max_upload_bytes;
    let bytes = Bytes::from_request(request, &state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(limit)
        } else {
            ApiError::bad_request(e.body_text())
        }
    })?;
    let upload: RunUpload = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string())
            .with_details(serde_json::json!({ "line": e.line(), "column": e.column() }))
    })?;
    let file = format!("{}.json", upload.name);
    let run = ingest::from_points(&file, upload, &state.config.limits)?;
    let runs = state
        .store
        .add_upload(file, "json-points".into(), bytes.to_vec(), vec![run])
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(UploadResponse {
            runs,
            warnings: Vec::new(),
        }),
    ))
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
                let result = ingest::ingest_with(&name, &bytes, &form.mapping, &limits);
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
async fn upload_files(
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
