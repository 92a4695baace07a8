//! `/api/fits`: create a fit (a job: 202 + its URL), poll it, list, cancel, delete, and
//! forecast from it (`/predict`, exported as JSON, CSV or Parquet).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shared::api::{
    BestScheduleRequest, ErrorResponse, Estimate, FitDetail, FitProgress, FitRequest, FitStatus,
    FitSummary, ForecastWarning, PlanRequest, PlanResponse, PredictRequest, Progress,
    RankedSchedule,
};
use shared::schedule::{MAX_STEPS, Schedule};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{blocking, body};
use super::{ApiError, AppState};
use crate::export::{self, Format};
use crate::fit::compare;
use crate::fit::laws::LawName;
use crate::fit::predict::{SavedFit, predict_curve, warnings};
use crate::jobs;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_fit, delete))
        .routes(routes!(cancel))
        .routes(routes!(events))
        .routes(routes!(predict))
        .routes(routes!(plan))
        .routes(routes!(best_schedule))
}

fn invalid(e: crate::fit::FitError) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_fit_request",
        e.to_string(),
    )
}

#[utoipa::path(
    post,
    path = "/fits",
    operation_id = "create_fit",
    tag = "fits",
    request_body = FitRequest,
    responses(
        (status = 202, description = "Queued; poll the `Location` header's URL", body = FitSummary,
            headers(("Location" = String, description = "`/api/fits/{id}`"))),
        (status = 400, description = "Malformed JSON or an unknown field", body = ErrorResponse),
        (status = 422, description = "Unknown law, unknown or repeated run, a run without LR for a schedule law, bad options (bootstrap over 10,000, unknown parameters in `fixed` or `bounds`, a schedule that does not parse)", body = ErrorResponse),
    )
)]
async fn create(
    State(state): State<AppState>,
    request: Result<Json<FitRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let mut request = body(request)?;
    jobs::validate(&request).map_err(invalid)?;
    let schedule_law = request.law == compare::COMPARE
        || LawName::parse(&request.law)
            .map_err(invalid)?
            .is_schedule_law();
    for id in request.runs.iter().chain(&request.holdout) {
        let run = state.store.get_run(*id).await?;
        let refuse = |message: String| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_fit_request",
                message,
            )
        };
        let run = run.ok_or_else(|| refuse(format!("no run with id {id}")))?;
        let key = id.to_string();
        // A schedule stored with the run is copied into the request, so the fit
        // records what it used even if the run's schedule changes later.
        if schedule_law
            && !run.points.contains_key("lr")
            && !request.options.schedules.contains_key(&key)
            && let Some(schedule) = &run.summary.schedule
        {
            request
                .options
                .schedules
                .insert(key.clone(), schedule.clone());
        }
        if schedule_law
            && !run.points.contains_key("lr")
            && !request.options.schedules.contains_key(&key)
        {
            return Err(refuse(format!(
                "run {id} ('{}') has no learning rate: {} needs a logged lr column, a schedule set with PATCH /api/runs/{id} or `options.schedules[\"{id}\"]`",
                run.summary.name, request.law
            )));
        }
    }
    let id = state.store.add_fit(request.clone()).await?;
    state.jobs.spawn(state.store.clone(), id, request);
    let summary = state
        .store
        .get_fit(id)
        .await?
        .map(|f| f.summary)
        .ok_or_else(|| ApiError::not_found("the fit vanished"))?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/api/fits/{id}"))],
        Json(summary),
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/fits",
    operation_id = "list_fits",
    tag = "fits",
    responses(
        (status = 200, description = "Every fit", body = Vec<FitSummary>),
    )
)]
async fn list(State(state): State<AppState>) -> Result<Json<Vec<FitSummary>>, ApiError> {
    Ok(Json(state.store.list_fits().await?))
}

async fn load(state: &AppState, id: i64) -> Result<FitDetail, ApiError> {
    state
        .store
        .get_fit(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no fit with id {id}")))
}

#[utoipa::path(
    get,
    path = "/fits/{id}",
    operation_id = "get_fit",
    tag = "fits",
    params(("id" = i64, Path, description = "Fit id")),
    responses(
        (status = 200, description = "The fit: request, parameters, report", body = FitDetail),
        (status = 404, description = "No such fit", body = ErrorResponse),
    )
)]
async fn get_fit(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<FitDetail>, ApiError> {
    let mut fit = load(&state, id).await?;
    fit.report_text = fit.report.as_ref().map(jobs::report_text);
    if fit.summary.status == FitStatus::Running {
        fit.progress = state.jobs.progress(id);
    }
    Ok(Json(fit))
}

#[utoipa::path(
    delete,
    path = "/fits/{id}",
    operation_id = "delete_fit",
    tag = "fits",
    params(("id" = i64, Path, description = "Fit id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such fit", body = ErrorResponse),
    )
)]
async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let deleted = state.store.delete_fit(id).await?;
    state.jobs.cancel(id);
    state.done_fits.forget(id);
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no fit with id {id}")))
    }
}

#[utoipa::path(
    post,
    path = "/fits/{id}/cancel",
    operation_id = "cancel_fit",
    tag = "fits",
    params(("id" = i64, Path, description = "Fit id")),
    responses(
        (status = 200, description = "The fit, now cancelled (or already ended)", body = FitSummary),
        (status = 404, description = "No such fit", body = ErrorResponse),
    )
)]
async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<FitSummary>, ApiError> {
    state
        .store
        .cancel_fit(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no fit with id {id}")))?;
    state.jobs.cancel(id);
    Ok(Json(load(&state, id).await?.summary))
}

#[derive(Deserialize)]
struct FormatQuery {
    format: Option<String>,
}

#[utoipa::path(
    post,
    path = "/fits/{id}/predict",
    operation_id = "predict",
    tag = "fits",
    params(
        ("id" = i64, Path, description = "Fit id (a done schedule-law fit)"),
        ("format" = Option<String>, Query, description = "`json` (default), `csv` or `parquet`; else the `Accept` header decides"),
    ),
    request_body = PredictRequest,
    responses(
        (status = 200, description = "Predicted points `run,step,loss,lower,upper` (the same columns in every format). Where the schedule leaves what the fit saw (a peak LR outside the fitted runs' by more than 1%, more than 3 times the longest fitted run, a schedule family no fitted run had) the `X-Curvecast-Warnings` header says so",
            headers(("X-Curvecast-Warnings" = String, description = "A JSON array of `ForecastWarning` (`{\"code\", \"message\"}`; codes `peak_lr_outside_fit`, `horizon_beyond_fit`, `family_not_fitted`, `coverage_unknown`), `[]` when the forecast stays within the fit; sent with every format")),
            content(
                (Vec<shared::api::PredictionRow> = "application/json"),
                (String = "text/csv"),
                (Vec<u8> = "application/vnd.apache.parquet"),
            )),
        (status = 400, description = "Malformed JSON, unknown format, or not exactly one of `schedule` and `lrs`", body = ErrorResponse),
        (status = 404, description = "No such fit", body = ErrorResponse),
        (status = 409, description = "The fit is not done", body = ErrorResponse),
        (status = 422, description = "An invalid schedule (`total` or `lrs` over 10,000,000 steps), `every` outside 1..=10,000,000, too many points, or a law that does not predict from a schedule", body = ErrorResponse),
    )
)]
async fn predict(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<FormatQuery>,
    headers: HeaderMap,
    request: Result<Json<PredictRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(request)?;
    // Checked before anything is loaded or computed: `every` and the length of `lrs` are
    // sizes (a schedule's `total` is bounded by its parser, `Schedule::validate`).
    let every = request.every.unwrap_or(100);
    if !(1..=MAX_STEPS as usize).contains(&every) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_predict_request",
            format!("`every` is {every}: give 1 to {MAX_STEPS} steps between predicted points"),
        ));
    }
    let format = match query.format.as_deref() {
        Some(text) => Format::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!("unknown format '{text}': use csv, json or parquet"))
        })?,
        None => headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .and_then(Format::parse)
            .unwrap_or(Format::Json),
    };
    let saved = saved(&state, id).await?;
    let law = saved.law;
    if !law.is_schedule_law() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported",
            format!("{} predicts from (N, D), not from a schedule", law.as_str()),
        ));
    }
    let (label, lrs) = match (&request.schedule, request.lrs) {
        (Some(spec), None) => {
            let schedule: Schedule =
                spec.parse().map_err(|e: shared::schedule::ScheduleError| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_schedule",
                        e.to_string(),
                    )
                })?;
            (spec.clone(), schedule.to_array())
        }
        (None, Some(lrs))
            if !lrs.is_empty()
                && lrs.iter().all(|v| v.is_finite() && *v >= 0.0)
                && lrs.len() as u64 <= MAX_STEPS =>
        {
            ("lrs".to_string(), lrs)
        }
        (None, Some(_)) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_schedule",
                format!(
                    "`lrs` must be a non-empty array of at most {MAX_STEPS} finite learning rates >= 0"
                ),
            ));
        }
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of `schedule` (text form) or `lrs`",
            ));
        }
    };
    let steps: Vec<usize> = (every..lrs.len()).step_by(every).collect();
    let warned = warnings_header(&warnings(&saved, &lrs, lrs.len()));
    if steps.len() > 1_000_000 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_points",
            "more than 1,000,000 predicted points: raise `every`",
        ));
    }
    let points = blocking(move || predict_curve(&saved, &lrs, &steps))
        .await?
        .map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_schedule",
                e.to_string(),
            )
        })?;
    let bytes = export::predictions(&label, &points, format)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "export_failed", e))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (HeaderName::from_static(WARNINGS_HEADER), warned),
        ],
        Bytes::from(bytes),
    )
        .into_response())
}

/// The header of a forecast's warnings: the prediction's body is the same long-format
/// table in JSON, CSV and Parquet, so the warnings travel beside it, in every format.
pub const WARNINGS_HEADER: &str = "x-curvecast-warnings";

/// `warnings` as a one-line JSON array (ASCII: a header value must be).
fn warnings_header(warnings: &[ForecastWarning]) -> HeaderValue {
    let json = serde_json::to_string(warnings).unwrap_or_else(|_| "[]".into());
    let ascii: String = json
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect();
    HeaderValue::from_str(&ascii).unwrap_or_else(|_| HeaderValue::from_static("[]"))
}

/// Done fits by id, parsed once (their reports hold every bootstrap parameter vector).
#[derive(Clone, Default)]
pub struct DoneFits(Arc<Mutex<HashMap<i64, Arc<SavedFit>>>>);

impl DoneFits {
    fn get(&self, id: i64) -> Option<Arc<SavedFit>> {
        self.lock().get(&id).cloned()
    }

    fn keep(&self, id: i64, fit: Arc<SavedFit>) {
        let mut fits = self.lock();
        if fits.len() >= 256 {
            fits.clear(); // a crude bound: re-reading a fit is cheap enough
        }
        fits.insert(id, fit);
    }

    fn forget(&self, id: i64) {
        self.lock().remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<SavedFit>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A done fit as a [`SavedFit`], or 409 (not done) / 404.
async fn saved(state: &AppState, id: i64) -> Result<Arc<SavedFit>, ApiError> {
    if let Some(fit) = state.done_fits.get(id) {
        return Ok(fit);
    }
    let fit = load(state, id).await?;
    let (Some(params), Some(report), FitStatus::Done) =
        (fit.params, fit.report, fit.summary.status)
    else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "fit_not_done",
            format!("fit {id} is {:?}, not done", fit.summary.status),
        ));
    };
    if fit.request.law == compare::COMPARE {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported",
            format!(
                "fit {id} is a law comparison, with no parameters to forecast from: fit the law it ranks first"
            ),
        ));
    }
    let law = LawName::parse(&fit.request.law).map_err(invalid)?;
    let settings = serde_json::from_value(report.settings.clone()).unwrap_or_default();
    let fit = Arc::new(SavedFit {
        law,
        settings,
        params,
        report,
    });
    state.done_fits.keep(id, fit.clone());
    Ok(fit)
}

fn unsupported(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unsupported", message)
}

#[utoipa::path(
    post,
    path = "/fits/{id}/plan",
    operation_id = "plan",
    tag = "fits",
    params(("id" = i64, Path, description = "Fit id")),
    request_body = PlanRequest,
    responses(
        (status = 200, description = "Compute-optimal sizes and losses of proposed sizes", body = PlanResponse),
        (status = 400, description = "Malformed JSON", body = ErrorResponse),
        (status = 404, description = "No such fit", body = ErrorResponse),
        (status = 409, description = "The fit is not done", body = ErrorResponse),
        (status = 422, description = "Not a chinchilla or kaplan-nd fit, or invalid budgets or sizes", body = ErrorResponse),
    )
)]
/// `POST /api/fits/{id}/plan`: compute-optimal N and D for budgets, loss of proposed (N, D).
async fn plan(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    request: Result<Json<PlanRequest>, JsonRejection>,
) -> Result<Json<PlanResponse>, ApiError> {
    let request = body(request)?;
    let fit = saved(&state, id).await?;
    if !matches!(fit.law, LawName::Chinchilla | LawName::KaplanNd) {
        return Err(unsupported(format!(
            "fit {id} is {}: plans need a chinchilla or kaplan-nd fit",
            fit.law.as_str()
        )));
    }
    blocking(move || crate::fit::plan::plan(fit.law, &fit.params, &fit.report, &request))
        .await?
        .map(Json)
        .map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_plan",
                e.to_string(),
            )
        })
}

/// Most candidates of one `best-schedule` request; the longest horizon is `MAX_STEPS`.
const MAX_CANDIDATES: usize = 50;
const MAX_HORIZON: usize = MAX_STEPS as usize;

#[utoipa::path(
    post,
    path = "/fits/{id}/best-schedule",
    operation_id = "best_schedule",
    tag = "fits",
    params(("id" = i64, Path, description = "Fit id")),
    request_body = BestScheduleRequest,
    responses(
        (status = 200, description = "Candidates, lowest predicted final loss first; each with its `warnings` where it leaves what the fit saw (peak LR, length, schedule family)", body = Vec<RankedSchedule>),
        (status = 400, description = "Malformed JSON", body = ErrorResponse),
        (status = 404, description = "No such fit", body = ErrorResponse),
        (status = 409, description = "The fit is not done", body = ErrorResponse),
        (status = 422, description = "Not a schedule-law fit, or an invalid candidate or horizon", body = ErrorResponse),
    )
)]
/// `POST /api/fits/{id}/best-schedule`: candidates ranked by predicted final loss.
async fn best_schedule(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    request: Result<Json<BestScheduleRequest>, JsonRejection>,
) -> Result<Json<Vec<RankedSchedule>>, ApiError> {
    let request = body(request)?;
    let invalid_request = |message: String| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_schedule",
            message,
        )
    };
    // The sizes of the work are checked before the fit is loaded.
    if request.candidates.is_empty() || request.candidates.len() > MAX_CANDIDATES {
        return Err(invalid_request(format!(
            "give 1 to {MAX_CANDIDATES} candidate schedules ({} given)",
            request.candidates.len()
        )));
    }
    if let Some(h) = request.horizon
        && !(1..=MAX_HORIZON).contains(&h)
    {
        return Err(invalid_request(format!(
            "horizon {h} is not in 1..={MAX_HORIZON} (shared::schedule::MAX_STEPS)"
        )));
    }
    let fit = saved(&state, id).await?;
    if !fit.law.is_schedule_law() {
        return Err(unsupported(format!(
            "fit {id} is {}, which does not predict from a schedule",
            fit.law.as_str()
        )));
    }
    let mut parsed = Vec::new();
    for (i, spec) in request.candidates.iter().enumerate() {
        let schedule: Schedule = spec
            .parse()
            .map_err(|e| invalid_request(format!("candidates[{i}] '{spec}': {e}")))?;
        let step = request.horizon.unwrap_or(schedule.total() as usize);
        if step == 0 || step > MAX_HORIZON {
            return Err(invalid_request(format!(
                "candidates[{i}]: horizon {step} is not in 1..={MAX_HORIZON}"
            )));
        }
        parsed.push((spec.clone(), schedule, step));
    }
    let mut ranked = blocking(move || {
        parsed
            .into_iter()
            .map(|(spec, schedule, step)| {
                let lrs = schedule.to_array_len(step + 1);
                let point = predict_curve(&fit, &lrs, &[step])
                    .map_err(|e| format!("'{spec}': {e}"))?
                    .remove(0);
                // The LRs the forecast runs through, without the end value held past
                // the schedule's own total (that would read as a new family).
                let own = &lrs[..lrs.len().min(schedule.total() as usize)];
                Ok(RankedSchedule {
                    rank: 0,
                    schedule: spec,
                    step,
                    loss: Estimate {
                        value: point.loss,
                        lower: point.lower,
                        upper: point.upper,
                    },
                    warnings: warnings(&fit, own, step),
                })
            })
            .collect::<Result<Vec<_>, String>>()
    })
    .await?
    .map_err(invalid_request)?;
    ranked.sort_by(|a, b| a.loss.value.total_cmp(&b.loss.value));
    for (i, r) in ranked.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    Ok(Json(ranked))
}

#[utoipa::path(
    get,
    path = "/fits/{id}/events",
    operation_id = "fit_events",
    tag = "fits",
    params(("id" = i64, Path, description = "Fit id")),
    responses(
        (status = 200, description = "Server-Sent Events named after each new status (`queued`, `running`, `done`, `failed`, `cancelled`, `deleted`) and `progress` events while the fit runs (its `progress`: stage, done, total), data a `FitProgress`; ends with the fit",
            content_type = "text/event-stream", body = FitProgress),
        (status = 404, description = "No such fit", body = ErrorResponse),
    )
)]
/// `GET /api/fits/{id}/events`: Server-Sent Events, one per change of the fit's status
/// (checked every 250 ms), named after it (`queued`, `running`, `done`, `failed`,
/// `cancelled`; `deleted` if the fit goes away), and `progress` events while it runs
/// (stage, done, total); the stream ends with the fit.
async fn events(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<
    axum::response::sse::Sse<
        impl futures_util::stream::Stream<
            Item = Result<axum::response::sse::Event, std::convert::Infallible>,
        >,
    >,
    ApiError,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    state
        .store
        .get_fit_summary(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no fit with id {id}")))?;
    // State: what was last sent (status, progress) and whether the stream is over.
    let stream = futures_util::stream::unfold(
        (state, None::<FitStatus>, None::<Progress>, false),
        move |(state, last, last_progress, ended)| async move {
            if ended {
                return None;
            }
            loop {
                let summary = match state.store.get_fit_summary(id).await {
                    Ok(summary) => summary,
                    Err(e) => {
                        tracing::error!("events of fit {id}: {e}");
                        return None;
                    }
                };
                let Some(summary) = summary else {
                    let event = Event::default()
                        .event("deleted")
                        .data(format!("{{\"id\":{id}}}"));
                    return Some((Ok(event), (state, last, last_progress, true)));
                };
                let progress = match summary.status {
                    FitStatus::Running => state.jobs.progress(id),
                    _ => None,
                };
                let status_changed = last != Some(summary.status);
                if status_changed || (progress.is_some() && progress != last_progress) {
                    let ended = !matches!(summary.status, FitStatus::Queued | FitStatus::Running);
                    let name = if status_changed {
                        serde_json::to_value(summary.status)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default()
                    } else {
                        "progress".to_string()
                    };
                    let data = FitProgress {
                        id,
                        status: summary.status,
                        error: summary.error,
                        progress: progress.clone(),
                    };
                    let event = Event::default()
                        .event(name)
                        .json_data(&data)
                        .unwrap_or_default();
                    let next = (state, Some(summary.status), progress, ended);
                    return Some((Ok(event), next));
                }
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
