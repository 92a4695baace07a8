//! `/api/batch/*`: the batch-size workflow over stored runs, inline runs or a reduced
//! table; answers JSON, or CSV with `?format=csv`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use shared::api::batch::AnalyzeRequest;

use super::{ApiError, AppState};
use crate::batch;
use crate::fit::FitError;

pub fn router() -> Router<AppState> {
    Router::new().route("/batch/analyze", post(analyze))
}

#[derive(Deserialize)]
struct FormatQuery {
    format: Option<String>,
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(v)| v)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.body_text()))
}

fn invalid(e: FitError) -> ApiError {
    match e {
        FitError::Input(m) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_batch_request", m)
        }
        FitError::Failed(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "fit_failed", m),
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

/// Runs a CPU-bound computation off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, FitError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(invalid)
}

async fn analyze(
    State(state): State<AppState>,
    Query(query): Query<FormatQuery>,
    request: Result<Json<AnalyzeRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let csv = wants_csv(&query)?;
    let mut request = body(request)?;
    for id in std::mem::take(&mut request.run_ids) {
        let run = state.store.get_run(id).await?.ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_batch_request",
                format!("no run with id {id}"),
            )
        })?;
        let sweep = batch::input::sweep_run(&run.summary.name, &run.points, &run.summary.attrs)
            .map_err(invalid)?;
        request.runs.push(sweep);
    }
    let analysis =
        blocking(move || batch::analyze(&request.runs, &request.table, &request.options)).await?;
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
