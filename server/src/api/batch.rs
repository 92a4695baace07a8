//! `/api/batch/analyze` (critical batch), `/api/batch/su-fit` and `/api/batch/predict`
//! (Su et al.'s law), `/api/hyper/fit` (optimal LR and batch laws): over stored runs,
//! inline runs or tables; JSON, or CSV with `?format=csv` (analyze, predict, hyper).
//! `/api/batch/table` and `/api/hyper/table` read an uploaded file (the request body) into
//! the rows those requests take, so the web app sends tables the way the CLI reads them.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shared::api::ErrorResponse;
use shared::api::batch::{
    AnalyzeRequest, AnalyzeResponse, HyperRequest, HyperResponse, HyperRow, StepsRow, SuFitRequest,
    SuFitResponse, SuPredictRequest, SuPredictResponse,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{blocking, body};
use super::{ApiError, AppState};
use crate::batch;
use crate::fit::FitError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(analyze))
        .routes(routes!(su_fit))
        .routes(routes!(predict))
        .routes(routes!(hyper))
        .routes(routes!(steps_table))
        .routes(routes!(hyper_table))
}

#[derive(Deserialize)]
struct FileQuery {
    /// The file's name, for error messages.
    name: Option<String>,
}

fn read_table(query: &FileQuery, bytes: &[u8]) -> Result<crate::ingest::table::Table, ApiError> {
    let name = query.name.as_deref().unwrap_or("upload");
    Ok(crate::ingest::table::read_table(
        name,
        bytes,
        &crate::ingest::Limits::default(),
    )?)
}

#[utoipa::path(
    post,
    path = "/batch/table",
    operation_id = "batch_table",
    tag = "batch",
    params(("name" = Option<String>, Query, description = "The file's name, for error messages")),
    request_body(content = Vec<u8>, description = "A steps-to-target table (CSV, TSV, JSON or Parquet), as a file", content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "The table's rows, as `/batch/analyze` takes them", body = Vec<StepsRow>),
        (status = 422, description = "Unreadable table or no steps-to-target column", body = ErrorResponse),
    )
)]
/// A reduced sweep (steps to a target per model and batch) -> `StepsRow`s.
async fn steps_table(
    Query(query): Query<FileQuery>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let table = read_table(&query, &bytes)?;
    let columns = batch::table::Columns::default();
    if !batch::table::is_steps_table(&table, &columns) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_column",
            format!(
                "{}: no steps-to-target column (steps_to_goal, steps_to_target or steps_to_loss); the columns are {:?}",
                table.file, table.columns
            ),
        ));
    }
    Ok(Json(batch::table::rows(&table, &columns)?).into_response())
}

#[utoipa::path(
    post,
    path = "/hyper/table",
    operation_id = "hyper_table",
    tag = "batch",
    params(("name" = Option<String>, Query, description = "The file's name, for error messages")),
    request_body(content = Vec<u8>, description = "A learning-rate x batch sweep table, as a file", content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "The table's rows, as `/hyper/fit` takes them", body = Vec<HyperRow>),
        (status = 422, description = "Unreadable table or missing columns", body = ErrorResponse),
    )
)]
/// A learning-rate x batch sweep (lr, batch, loss, N and D or C per run) -> `HyperRow`s.
async fn hyper_table(
    Query(query): Query<FileQuery>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let table = read_table(&query, &bytes)?;
    Ok(Json(batch::table::hyper_rows(&table, None)?).into_response())
}

#[derive(Deserialize)]
struct FormatQuery {
    format: Option<String>,
}

fn invalid(e: FitError) -> ApiError {
    match e {
        FitError::Input(m) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_batch_request", m)
        }
        FitError::Failed(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "fit_failed", m),
        FitError::Cancelled => ApiError::new(StatusCode::CONFLICT, "cancelled", e.to_string()),
    }
}

/// `json` (default) or `csv`; anything else is a 400.
fn wants_csv(query: &FormatQuery) -> Result<bool, ApiError> {
    match query.format.as_deref() {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "unknown format '{other}'; use json or csv"
        ))),
    }
}

/// Runs a batch computation off the async threads.
async fn compute<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, FitError> + Send + 'static,
) -> Result<T, ApiError> {
    blocking(f).await?.map_err(invalid)
}

/// Stored runs by id -> sweep runs (each needs a batch size).
async fn stored_runs(
    state: &AppState,
    ids: Vec<i64>,
) -> Result<Vec<shared::api::batch::SweepRun>, ApiError> {
    let mut out = Vec::new();
    for id in ids {
        let run = state.store.get_run(id).await?.ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_batch_request",
                format!("no run with id {id}"),
            )
        })?;
        out.push(
            batch::input::sweep_run(&run.summary.name, &run.points, &run.summary.attrs)
                .map_err(invalid)?,
        );
    }
    Ok(out)
}

#[utoipa::path(
    post,
    path = "/batch/su-fit",
    operation_id = "batch_su_fit",
    tag = "batch",
    request_body = SuFitRequest,
    responses(
        (status = 200, description = "The answer", body = SuFitResponse),
        (status = 400, description = "Malformed JSON", body = ErrorResponse),
        (status = 422, description = "Invalid input (e.g. unknown run id, too few points) or a failed fit", body = ErrorResponse),
    )
)]
async fn su_fit(
    State(state): State<AppState>,
    request: Result<Json<SuFitRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let mut request = body(request)?;
    let stored = stored_runs(&state, std::mem::take(&mut request.run_ids)).await?;
    request.runs.extend(stored);
    let fitted = compute(move || batch::su::fit_su(&request.runs, &request.options)).await?;
    Ok(Json(fitted).into_response())
}

#[utoipa::path(
    post,
    path = "/batch/predict",
    operation_id = "batch_predict",
    tag = "batch",
    params(
        ("format" = Option<String>, Query, description = "`json` (default) or `csv`"),
    ),
    request_body = SuPredictRequest,
    responses(
        (status = 200, description = "The answer", content((SuPredictResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Malformed JSON or unknown format", body = ErrorResponse),
        (status = 422, description = "Invalid input (e.g. unknown run id, too few points) or a failed fit", body = ErrorResponse),
    )
)]
async fn predict(
    Query(query): Query<FormatQuery>,
    request: Result<Json<SuPredictRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let csv = wants_csv(&query)?;
    let request = body(request)?;
    let answer = batch::su::predict(&request).map_err(invalid)?;
    if csv {
        let mut text = String::from("step,tokens,loss\n");
        for p in &answer.curve {
            text.push_str(&format!("{},{},{}\n", p.step, p.tokens, p.loss));
        }
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response());
    }
    Ok(Json(answer).into_response())
}

#[utoipa::path(
    post,
    path = "/hyper/fit",
    operation_id = "hyper_fit",
    tag = "batch",
    params(
        ("format" = Option<String>, Query, description = "`json` (default) or `csv`"),
    ),
    request_body = HyperRequest,
    responses(
        (status = 200, description = "The answer", content((HyperResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Malformed JSON or unknown format", body = ErrorResponse),
        (status = 422, description = "Invalid input (e.g. unknown run id, too few points) or a failed fit", body = ErrorResponse),
    )
)]
async fn hyper(
    State(state): State<AppState>,
    Query(query): Query<FormatQuery>,
    request: Result<Json<HyperRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let csv = wants_csv(&query)?;
    let mut request = body(request)?;
    let k = request.final_points.unwrap_or(1);
    let from_runs = !request.run_ids.is_empty();
    for id in std::mem::take(&mut request.run_ids) {
        let run = state
            .store
            .get_run(id)
            .await?
            .ok_or_else(|| invalid(FitError::Input(format!("no run with id {id}"))))?;
        let row = batch::input::hyper_row(&run.summary.name, &run.points, &run.summary.attrs, k);
        request.rows.push(row.map_err(invalid)?);
    }
    let mut answer =
        compute(move || batch::hyper::fit_hyper(&request.rows, &request.options)).await?;
    if from_runs {
        answer.method.insert(0, batch::input::hyper_row_method(k));
    }
    if csv {
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            batch::report::hyper_csv(&answer),
        )
            .into_response());
    }
    Ok(Json(answer).into_response())
}

#[utoipa::path(
    post,
    path = "/batch/analyze",
    operation_id = "batch_analyze",
    tag = "batch",
    params(
        ("format" = Option<String>, Query, description = "`json` (default) or `csv`"),
    ),
    request_body = AnalyzeRequest,
    responses(
        (status = 200, description = "The answer", content((AnalyzeResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Malformed JSON or unknown format", body = ErrorResponse),
        (status = 422, description = "Invalid input (e.g. unknown run id, too few points) or a failed fit", body = ErrorResponse),
    )
)]
async fn analyze(
    State(state): State<AppState>,
    Query(query): Query<FormatQuery>,
    request: Result<Json<AnalyzeRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let csv = wants_csv(&query)?;
    let mut request = body(request)?;
    let stored = stored_runs(&state, std::mem::take(&mut request.run_ids)).await?;
    request.runs.extend(stored);
    let analysis =
        compute(move || batch::analyze(&request.runs, &request.table, &request.options)).await?;
    if csv {
        Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            batch::report::to_csv(&analysis),
        )
            .into_response())
    } else {
        Ok(Json(analysis).into_response())
    }
}
