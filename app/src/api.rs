//! The only HTTP client of the app: every URL of the API is built here, and every
//! error answer becomes a readable message.

use gloo_net::http::{Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::api::{
    ErrorResponse, FitDetail, FitRequest, FitSummary, IngestReport, Mapping, RunDetail, RunSummary,
    UploadResponse, batch,
};
use wasm_bindgen::JsValue;
use web_sys::{File, FormData};

/// A failed call, as a sentence to show next to what caused it.
pub type ApiResult<T> = Result<T, String>;

pub async fn list_runs() -> ApiResult<Vec<RunSummary>> {
    decode(Request::get("/api/runs").send().await).await
}

pub async fn get_run(id: i64) -> ApiResult<RunDetail> {
    decode(Request::get(&format!("/api/runs/{id}")).send().await).await
}

/// The runs `ids` that could be read, and the error of each that could not ("run 3: ...").
pub async fn get_runs(ids: Vec<i64>) -> (Vec<RunDetail>, Vec<String>) {
    let (mut runs, mut errors) = (Vec::new(), Vec::new());
    for id in ids {
        match get_run(id).await {
            Ok(run) => runs.push(run),
            Err(e) => errors.push(format!("run {id}: {e}")),
        }
    }
    (runs, errors)
}

/// The files and the user's mapping (when not empty) as one multipart form.
fn form(files: &[File], mapping: &Mapping) -> ApiResult<FormData> {
    let form = FormData::new().map_err(|_| "the browser cannot build a form".to_string())?;
    for file in files {
        form.append_with_blob_and_filename("file", file, &file.name())
            .map_err(|_| format!("cannot attach {}", file.name()))?;
    }
    if !mapping.is_empty() {
        let json = serde_json::to_string(mapping).map_err(|e| e.to_string())?;
        form.append_with_str("mapping", &json)
            .map_err(|_| "cannot attach the column mapping".to_string())?;
    }
    Ok(form)
}

/// What the server would read from the files with this mapping, without storing.
pub async fn preview(files: &[File], mapping: &Mapping) -> ApiResult<IngestReport> {
    let request = Request::post("/api/runs/preview")
        .body(form(files, mapping)?)
        .map_err(|e| e.to_string())?;
    decode(request.send().await).await
}

/// Imports files (one multipart request) with the user's mapping.
pub async fn upload(files: &[File], mapping: &Mapping) -> ApiResult<UploadResponse> {
    let request = Request::post("/api/runs")
        .body(form(files, mapping)?)
        .map_err(|e| e.to_string())?;
    decode(request.send().await).await
}

pub async fn rename_run(id: i64, name: &str) -> ApiResult<RunSummary> {
    // Only the name: a serialised `RunPatch` would send `"schedule": null` (= clear it).
    let patch = serde_json::json!({ "name": name });
    let request = Request::patch(&format!("/api/runs/{id}"))
        .json(&patch)
        .map_err(|e| format!("cannot encode the request: {e}"))?;
    decode(request.send().await).await
}

/// Deletes a run (refused while a fit uses it).
pub async fn delete_run(id: i64) -> ApiResult<()> {
    let response = Request::delete(&format!("/api/runs/{id}")).send().await;
    match response {
        Ok(r) if r.ok() => Ok(()),
        other => decode::<serde_json::Value>(other).await.map(|_| ()),
    }
}

pub async fn list_fits() -> ApiResult<Vec<FitSummary>> {
    decode(Request::get("/api/fits").send().await).await
}

pub async fn get_fit(id: i64) -> ApiResult<FitDetail> {
    decode(Request::get(&format!("/api/fits/{id}")).send().await).await
}

/// Cancels a queued or running fit; answers its summary (status `cancelled`).
pub async fn cancel_fit(id: i64) -> ApiResult<FitSummary> {
    decode(
        Request::post(&format!("/api/fits/{id}/cancel"))
            .send()
            .await,
    )
    .await
}

/// Starts a fit (a job); poll it with [`get_fit`].
pub async fn create_fit(request: &FitRequest) -> ApiResult<FitSummary> {
    post_json("/api/fits", request).await
}

/// A reduced batch sweep (steps to a target per model and batch) read by the server.
pub async fn batch_table(file: &File) -> ApiResult<Vec<batch::StepsRow>> {
    post_file("/api/batch/table", file).await
}

/// A learning-rate x batch sweep (one row per run) read by the server.
pub async fn hyper_table(file: &File) -> ApiResult<Vec<batch::HyperRow>> {
    post_file("/api/hyper/table", file).await
}

/// McCandlish and Zhang critical batches, and `B_crit(L)`, of a batch sweep.
pub async fn analyze_batch(request: &batch::AnalyzeRequest) -> ApiResult<batch::AnalyzeResponse> {
    post_json("/api/batch/analyze", request).await
}

/// Optimal learning rate and batch laws of a learning-rate x batch sweep.
pub async fn fit_hyper(request: &batch::HyperRequest) -> ApiResult<batch::HyperResponse> {
    post_json("/api/hyper/fit", request).await
}

/// Sends a file as the request body (its name in the query, for error messages).
async fn post_file<T: DeserializeOwned>(url: &str, file: &File) -> ApiResult<T> {
    let request = Request::post(url)
        .query([("name", file.name())])
        .body(JsValue::from(file.clone()))
        .map_err(|e| e.to_string())?;
    decode(request.send().await).await
}

async fn post_json<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> ApiResult<T> {
    let request = Request::post(url)
        .json(body)
        .map_err(|e| format!("cannot encode the request: {e}"))?;
    decode(request.send().await).await
}

async fn decode<T: DeserializeOwned>(response: Result<Response, gloo_net::Error>) -> ApiResult<T> {
    let response = response.map_err(|e| format!("the server could not be reached: {e}"))?;
    if response.ok() {
        return response
            .json::<T>()
            .await
            .map_err(|e| format!("unexpected answer from the server: {e}"));
    }
    let status = response.status();
    match response.json::<ErrorResponse>().await {
        Ok(body) => Err(body.error.message),
        Err(_) => Err(format!("the server answered {status}")),
    }
}
