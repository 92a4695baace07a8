//! `/api/runs`: upload loss logs (multipart files with an optional column mapping, or a
//! JSON body of points), preview what an upload would find, list runs with filters, get a
//! run's points, rename it, give it a schedule or read it again from its kept upload with a
//! new column mapping, delete it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shared::api::{
    ErrorResponse, IngestReport, Mapping, RunDetail, RunPatch, RunSummary, RunUpload,
    UploadResponse,
};
use shared::schedule::Schedule;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, AppState};
use crate::ingest::{self, IngestError, LineGuard, ParsedFile, ParsedRun, report};
use crate::isolated;
use crate::store::{RunDeletion, RunFilter, RunReplacement};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, upload))
        .routes(routes!(preview))
        .routes(routes!(get_run, patch, delete))
}

/// `GET /api/runs?q=&format=&has_lr=&after=&limit=` (serialised again for the next page).
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    has_lr: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<usize>,
}

/// The largest page of `GET /api/runs?limit=`.
const MAX_PAGE: usize = 10_000;

#[utoipa::path(
    get,
    path = "/runs",
    operation_id = "list_runs",
    tag = "runs",
    params(
        ("q" = Option<String>, Query, description = "Runs whose name contains this"),
        ("format" = Option<String>, Query, description = "Runs of this detected format, e.g. `csv`"),
        ("has_lr" = Option<bool>, Query, description = "Runs with (true) or without (false) a learning rate"),
        ("after" = Option<i64>, Query, description = "Runs with an id above this (the last id of the previous page)"),
        ("limit" = Option<usize>, Query, description = "At most this many runs (1 to 10,000); without it, all"),
    ),
    responses(
        (status = 200, description = "The runs in id order, without their points", body = Vec<RunSummary>,
            headers(("link" = String, description = "`<URL>; rel=\"next\"`: the next page, when `limit` cut the list"))),
        (status = 400, description = "An unknown or malformed query parameter, or a `limit` out of range", body = ErrorResponse),
    )
)]
async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()).with_details(
            serde_json::json!({ "allowed": ["q", "format", "has_lr", "after", "limit"] }),
        )
    })?;
    if let Some(limit) = query.limit
        && !(1..=MAX_PAGE).contains(&limit)
    {
        return Err(ApiError::bad_request(format!(
            "limit {limit}: a page holds 1 to {MAX_PAGE} runs"
        )));
    }
    let filter = RunFilter {
        name_contains: query.q.clone().filter(|q| !q.is_empty()),
        format: query.format.clone().filter(|f| !f.is_empty()),
        has_lr: query.has_lr,
        after: query.after,
        // One more than asked, to know whether there is a next page.
        limit: query.limit.map(|l| l + 1),
    };
    let mut runs = state.store.list_runs(filter).await?;
    let next = match query.limit {
        Some(limit) if runs.len() > limit => {
            runs.truncate(limit);
            let next = ListQuery {
                after: runs.last().map(|r| r.id),
                ..query
            };
            serde_urlencoded::to_string(&next).ok()
        }
        _ => None,
    };
    let mut response = Json(runs).into_response();
    if let Some(next) = next
        && let Ok(link) = format!("</api/runs?{next}>; rel=\"next\"").parse()
    {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

#[utoipa::path(
    patch,
    path = "/runs/{id}",
    operation_id = "patch_run",
    tag = "runs",
    params(("id" = i64, Path, description = "Run id")),
    request_body = RunPatch,
    responses(
        (status = 200, description = "The changed run", body = RunSummary),
        (status = 400, description = "Malformed JSON or an unknown field", body = ErrorResponse),
        (status = 404, description = "No such run", body = ErrorResponse),
        (status = 409, description = "A `mapping` for a run that fits use (`details.fits`)", body = ErrorResponse),
        (status = 422, description = "An empty name, an invalid schedule, or a mapping the upload cannot be read with (`details`: file, line, column)", body = ErrorResponse),
    )
)]
/// Renames a run, sets (checked) or clears (`null`) its schedule, and/or re-reads it from
/// its kept upload with a new column `mapping`; all or nothing.
async fn patch(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    body: Result<Json<RunPatch>, JsonRejection>,
) -> Result<Json<RunSummary>, ApiError> {
    let patch = super::error::body(body)?;
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
    if let Some(mapping) = patch.mapping {
        let data = reread(&state, id, mapping).await?;
        return match state
            .store
            .replace_run_data(id, data, patch.name, patch.schedule)
            .await?
        {
            RunReplacement::Replaced(summary) => Ok(Json(summary)),
            RunReplacement::Missing => Err(ApiError::not_found(format!("no run with id {id}"))),
            RunReplacement::InUse(fits) => Err(in_use(id, fits, "re-read")),
        };
    }
    state
        .store
        .update_run(id, patch.name, patch.schedule)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no run with id {id}")))
}

#[utoipa::path(
    delete,
    path = "/runs/{id}",
    operation_id = "delete_run",
    tag = "runs",
    params(("id" = i64, Path, description = "Run id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such run", body = ErrorResponse),
        (status = 409, description = "Fits use the run (`details.fits`): delete them first", body = ErrorResponse),
    )
)]
/// Deletes a run unless a fit uses it (409 naming the fits: delete them first), so that
/// every stored fit can still be reproduced from its runs.
async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    match state.store.delete_run(id).await? {
        RunDeletion::Deleted => Ok(StatusCode::NO_CONTENT),
        RunDeletion::Missing => Err(ApiError::not_found(format!("no run with id {id}"))),
        RunDeletion::InUse(fits) => Err(in_use(id, fits, "delete")),
    }
}

/// 409: the run cannot be deleted or re-read while fits use it.
fn in_use(id: i64, fits: Vec<i64>, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "run_in_use",
        format!("run {id} is used by fits {fits:?}: delete those fits first, then {what} it"),
    )
    .with_details(serde_json::json!({ "fits": fits }))
}

/// Reads run `id`'s kept upload again with `mapping`: the one run it then holds, or, when
/// it holds several, the one with this run's name (the upload's other runs are unchanged).
async fn reread(state: &AppState, id: i64, mapping: Mapping) -> Result<ParsedRun, ApiError> {
    let (name, upload) = state
        .store
        .run_upload(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no run with id {id}")))?;
    let unprocessable =
        |code, message: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message);
    if upload.format == "json-points" {
        return Err(unprocessable(
            "not_a_file",
            format!("run {id} was sent as JSON points: a column mapping applies to uploaded files"),
        ));
    }
    let limits = state.config.limits.clone();
    let file = upload.file_name.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        isolated::ingest(&upload.file_name, &upload.bytes, &mapping, &limits)
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ingest_failed",
            format!("the reader failed: {e}"),
        )
    })??;
    let mut runs = parsed.runs;
    if runs.len() == 1 {
        return Ok(runs.remove(0));
    }
    match runs.iter().position(|r| r.name == name) {
        Some(i) => Ok(runs.swap_remove(i)),
        None => {
            let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
            Err(unprocessable(
                "ambiguous_mapping",
                format!(
                    "with this mapping '{file}' holds {} runs ({}), none named '{name}' like run {id}",
                    names.len(),
                    names.join(", ")
                ),
            )
            .with_details(serde_json::json!({ "file": file, "runs": names })))
        }
    }
}

#[utoipa::path(
    post,
    path = "/runs",
    operation_id = "upload_runs",
    tag = "runs",
    request_body(
        description = "Log files as multipart/form-data (with an optional `mapping` field), or one run as JSON points",
        content(
            (super::openapi::UploadForm = "multipart/form-data"),
            (RunUpload = "application/json"),
        )
    ),
    responses(
        (status = 201, description = "The runs created", body = UploadResponse),
        (status = 400, description = "Malformed JSON, multipart body or mapping", body = ErrorResponse),
        (status = 413, description = "The upload is over the size limit", body = ErrorResponse),
        (status = 422, description = "A file could not be read (`details`: file, line, column); nothing is stored", body = ErrorResponse),
    )
)]
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
        .add_upload(file, "json-points".into(), bytes, vec![run])
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(UploadResponse {
            runs,
            warnings: Vec::new(),
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/runs/{id}",
    operation_id = "get_run",
    tag = "runs",
    params(("id" = i64, Path, description = "Run id")),
    responses(
        (status = 200, description = "The run with all its series", body = RunDetail),
        (status = 404, description = "No such run", body = ErrorResponse),
    )
)]
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
    files: Vec<(String, Bytes)>,
    mapping: Mapping,
}

async fn read_form(
    mut multipart: Multipart,
    limit: usize,
    limits: &ingest::Limits,
) -> Result<UploadForm, ApiError> {
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
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
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
        // Chunk by chunk, so that a text file's over-long line is refused as it arrives.
        let mut bytes = Vec::new();
        let mut lines = LineGuard::new(limits.max_line_bytes);
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if let Some(line) = lines.feed(&chunk) {
                return Err(IngestError::too_large(
                    &name,
                    "max_line_bytes",
                    format!("a line longer than {} bytes", limits.max_line_bytes),
                )
                .with_line(line)
                .into());
            }
            bytes.extend_from_slice(&chunk);
        }
        form.files.push((name, Bytes::from(bytes)));
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
) -> Result<Vec<(String, Bytes, Result<ParsedFile, IngestError>)>, ApiError> {
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

#[utoipa::path(
    post,
    path = "/runs/preview",
    operation_id = "preview_runs",
    tag = "runs",
    request_body(content = super::openapi::UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "What each file holds; unreadable files carry their error", body = IngestReport),
        (status = 400, description = "A malformed multipart body or mapping", body = ErrorResponse),
        (status = 413, description = "The upload is over the size limit", body = ErrorResponse),
    )
)]
/// `POST /api/runs/preview`: what the upload of these files (with this mapping) would
/// find, per file, without storing anything. Unreadable files are reported, not refused.
async fn preview(
    State(state): State<AppState>,
    multipart: Multipart,
) -> Result<Json<IngestReport>, ApiError> {
    let form = read_form(
        multipart,
        state.config.max_upload_bytes,
        &state.config.limits,
    )
    .await?;
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
    let form = read_form(
        multipart,
        state.config.max_upload_bytes,
        &state.config.limits,
    )
    .await?;
    let parsed = read_files(&state, form).await?;

    // A refusal stores nothing: the user still has the file, and a server that kept
    // every refused body could be filled by refusals.
    if let Some(pos) = parsed.iter().position(|(_, _, r)| r.is_err()) {
        let mut parsed = parsed;
        let (_, _, result) = parsed.swap_remove(pos);
        return Err(result.expect_err("position found an error").into());
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
