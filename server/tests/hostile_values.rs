//! Hostile or impossible numbers from users (issue 19): steps beyond the limit, negative
//! or fractional steps, losses <= 0 or absurd, negative learning rates. Ingestion refuses
//! them where they enter (CSV and JSON points alike, naming the row and column), the
//! preview shows the same, non-finite losses are left out with a warning naming the
//! rows, runs stored with such numbers before the checks existed fail their fit cleanly
//! (the server keeps answering), and request sizes (`every`, `horizon`, a schedule's
//! `total`, bootstrap count, run ids, parameter names) are refused when the request
//! arrives.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use server::api::{self, Config};
use server::ingest::ParsedRun;
use server::store::Store;
use shared::api::{FitDetail, FitStatus, IngestReport, Series, UploadResponse};

mod common;

/// The application over a fresh database, with the store kept to write runs directly.
struct App {
    router: axum::Router,
    store: Store,
    _dir: tempfile::TempDir,
}

fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("test.db")).unwrap();
    App {
        router: api::app(store.clone(), Config::default()),
        store,
        _dir: dir,
    }
}

async fn call(app: &App, request: Request<Body>) -> (StatusCode, Value) {
    let (status, _, body) = common::send(&app.router, request).await;
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, value)
}

async fn post_json(app: &App, uri: &str, body: &Value) -> (StatusCode, Value) {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    call(app, request).await
}

async fn get(app: &App, uri: &str) -> (StatusCode, Value) {
    call(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn upload_csv(app: &App, name: &str, text: &str) -> (StatusCode, Value) {
    call(app, common::multipart("/api/runs", &[(name, text)], None)).await
}

async fn preview_csv(app: &App, name: &str, text: &str) -> IngestReport {
    let request = common::multipart("/api/runs/preview", &[(name, text)], None);
    let (status, body) = call(app, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

/// An answer in a failure message, cut short (a forecast is thousands of points).
fn short(body: &Value) -> String {
    body.to_string().chars().take(300).collect()
}

fn message(body: &Value) -> &str {
    body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error: {body}"))
}

/// The issue's reproduction: a step of 10^12 in an otherwise ordinary log.
const HUGE_STEP_CSV: &str =
    "step,loss,lr\n1,3.0,3e-4\n100,2.9,3e-4\n1000,2.8,3e-4\n1000000000000,2.7,3e-4\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_step_beyond_the_limit_is_refused_naming_the_line() {
    let app = app();
    let (status, body) = upload_csv(&app, "run.csv", HUGE_STEP_CSV).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_file");
    assert_eq!(
        message(&body),
        "run.csv, line 5, column 'step': step 1000000000000 is above the limit of 10000000 steps (Limits::max_step)"
    );
    assert_eq!(body["error"]["details"]["line"], 5);
    assert_eq!(body["error"]["details"]["column"], "step");
    // Nothing was stored.
    let (_, runs) = get(&app, "/api/runs").await;
    assert_eq!(runs, json!([]));
    // The preview reads through the same path and shows the same error.
    let report = preview_csv(&app, "run.csv", HUGE_STEP_CSV).await;
    let error = report.files[0].error.as_ref().expect("an error");
    assert_eq!(error.kind, "malformed");
    assert_eq!(error.line, Some(5));
    assert_eq!(error.message, message(&body));
}

#[tokio::test(flavor = "multi_thread")]
async fn impossible_values_are_refused_from_csv_and_json_points() {
    let app = app();
    // (the bad row of `step,loss,lr` as line 3, the same as JSON points with the bad
    // point at index 1, the column, the place in the JSON, the reason)
    let cases = [
        ("2,-5,3e-4", "loss", "values", "loss -5 is not > 0"),
        (
            "2,1e308,3e-4",
            "loss",
            "values",
            "loss 1e308 is above 1000000 (Limits::max_loss)",
        ),
        ("2,2.9,-1", "lr", "values", "learning rate -1 is negative"),
        (
            "2,2.9,1e4",
            "lr",
            "values",
            "learning rate 10000 is above 100 (Limits::max_lr)",
        ),
        ("-8,2.9,3e-4", "step", "steps", "step -8 is negative"),
        (
            "2.5,2.9,3e-4",
            "step",
            "steps",
            "step 2.5 is not a whole number",
        ),
        (
            "1e20,2.9,3e-4",
            "step",
            "steps",
            "step 1e20 is above the limit of 10000000 steps",
        ),
    ];
    for (row, column, place, why) in cases {
        let csv = format!("step,loss,lr\n1,3.0,3e-4\n{row}\n3,2.8,3e-4\n");
        let (status, body) = upload_csv(&app, "bad.csv", &csv).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{row}: {body}");
        let text = message(&body);
        assert!(
            text.starts_with(&format!("bad.csv, line 3, column '{column}': {why}")),
            "{row}: {text}"
        );

        // The same point sent as JSON: index 1 of the series (for a bad step, both
        // series carry it and the loss series is checked first).
        let cells: Vec<f64> = row.split(',').map(|c| c.parse().unwrap()).collect();
        let (step, loss, lr) = (cells[0], cells[1], cells[2]);
        let steps = [1.0, step, 3.0 + step.abs()];
        let points = json!({
            "name": "bad",
            "points": {
                "loss": {"steps": steps, "values": [3.0, loss, 2.8]},
                "lr": {"steps": steps, "values": [3e-4, lr, 3e-4]},
            }
        });
        let (status, body) = post_json(&app, "/api/runs", &points).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{row}: {body}");
        let series = if column == "step" { "loss" } else { column };
        let text = message(&body);
        assert!(
            text.starts_with(&format!(
                "bad.json, points.{series}.{place}[1], column '{series}': {why}"
            )),
            "{row}: {text}"
        );
    }
    let (_, runs) = get(&app, "/api/runs").await;
    assert_eq!(runs, json!([]), "nothing was stored");

    // Integral floats are whole steps; a learning rate of 0 and large other series
    // (tokens) are fine.
    let csv = "step,loss,lr,tokens\n0.0,3.0,0,0\n100.0,2.9,3e-4,4e11\n";
    let (status, body) = upload_csv(&app, "fine.csv", csv).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Every reader feeds the same assembler, so every format refuses the same points and
/// names the place its own way (line, record, row, `log_history[i]`).
#[test]
fn every_format_applies_the_rules() {
    use polars::prelude::*;
    use server::ingest::{IngestErrorKind, Limits, ingest, tfevents::EventWriter};

    let mut events = EventWriter::new(1.7e9);
    events.add_scalar("train/loss", 1, 3.0, 1.7e9);
    events.add_scalar("train/loss", -8, 2.9, 1.7e9);
    let mut df = DataFrame::new(
        3,
        vec![
            Column::new("step".into(), [1i64, 2, 3]),
            Column::new("loss".into(), [3.0, -5.0, 2.8]),
        ],
    )
    .unwrap();
    let mut parquet = Vec::new();
    ParquetWriter::new(&mut parquet).finish(&mut df).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("run.tsv", b"step\tloss\tlr\n1\t3.0\t3e-4\n2\t2.9\t-1\n".to_vec(),
            "run.tsv, line 3, column 'lr': learning rate -1 is negative"),
        ("run.jsonl", b"{\"step\": 1, \"loss\": 3.0}\n{\"step\": 2.5, \"loss\": 2.9}\n".to_vec(),
            "run.jsonl, line 2, column 'step': step 2.5 is not a whole number"),
        ("run.json", br#"[{"step": 1, "loss": 3.0}, {"step": 2, "loss": 1e308}]"#.to_vec(),
            "loss 1e308 is above 1000000 (Limits::max_loss)"),
        ("trainer_state.json", br#"{"log_history": [{"step": 1, "loss": 3.0, "learning_rate": 3e-4}, {"step": 2, "loss": 0.0, "learning_rate": 3e-4}]}"#.to_vec(),
            "log_history[1], column 'loss': loss 0 is not > 0"),
        ("train.log", b"iter 0: loss 3.1000, time 45.12ms, mfu 12.34%\niter 1000000000000: loss 3.0000, time 45.12ms, mfu 12.34%\n".to_vec(),
            "train.log, line 2, column 'step': step 1000000000000 is above the limit of 10000000 steps"),
        ("events.out.tfevents.1.host", events.into_bytes(), "column 'step': step -8 is negative"),
        ("run.parquet", parquet, "row 2, column 'loss': loss -5 is not > 0"),
    ];
    for (name, bytes, why) in cases {
        let error = ingest(name, &bytes, &Limits::default()).expect_err(name);
        assert_eq!(error.kind, IngestErrorKind::Malformed, "{name}: {error}");
        assert!(error.to_string().contains(why), "{name}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn non_finite_losses_are_left_out_with_a_warning_naming_the_rows() {
    let app = app();
    let csv = "step,loss,lr\n1,3.0,3e-4\n2,nan,3e-4\n3,2.9,3e-4\n4,inf,3e-4\n5,NaN,3e-4\n6,2.8,3e-4\n7,nan,3e-4\n";
    let expected = "run 'diverged', loss: 4 non-finite value(s) (NaN or inf) left out, at line 3, line 5, line 6, ...";
    let (status, body) = upload_csv(&app, "diverged.csv", csv).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let response: UploadResponse = serde_json::from_value(body).unwrap();
    assert_eq!(response.runs[0].n_points, 3, "the 3 finite losses");
    assert_eq!(response.warnings, [format!("diverged.csv: {expected}")]);
    let report = preview_csv(&app, "diverged.csv", csv).await;
    assert_eq!(report.files[0].warnings, [expected]);
}

/// A run written to the store as an older version (without the checks) may have kept it.
fn stored_run(name: &str, steps: &[f64], losses: &[f64]) -> ParsedRun {
    let series = |values: Vec<f64>| Series {
        steps: steps.to_vec(),
        values,
    };
    ParsedRun {
        name: name.into(),
        series: BTreeMap::from([
            ("loss".to_string(), series(losses.to_vec())),
            ("lr".to_string(), series(vec![3e-4; steps.len()])),
        ]),
        ..ParsedRun::default()
    }
}

async fn wait_ended(app: &App, id: i64) -> FitDetail {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, body) = get(app, &format!("/api/fits/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let fit: FitDetail = serde_json::from_value(body).unwrap();
        if !matches!(fit.summary.status, FitStatus::Queued | FitStatus::Running) {
            return fit;
        }
        assert!(Instant::now() < deadline, "fit {id} did not end in 120 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fits_of_stored_runs_with_bad_steps_fail_cleanly() {
    let app = app();
    let losses = [3.0, 2.9, 2.8, 2.7];
    let cases = [
        (
            "huge",
            [1.0, 100.0, 1000.0, 1e12],
            losses,
            "step 1000000000000 is above the limit of 10000000 steps",
        ),
        (
            "overflowing",
            [1.0, 100.0, 1000.0, 1e20],
            losses,
            "step 1e20 is above the limit",
        ),
        (
            "negative",
            [-8.0, 100.0, 1000.0, 2000.0],
            losses,
            "step -8 is negative",
        ),
        (
            "fractional",
            [1.0, 2.5, 1000.0, 2000.0],
            losses,
            "step 2.5 is not a whole number",
        ),
        (
            "negative-loss",
            [1.0, 100.0, 1000.0, 2000.0],
            [3.0, -5.0, 2.8, 2.7],
            "the loss at step 100 is -5",
        ),
    ];
    for (name, steps, losses, why) in cases {
        let runs = app
            .store
            .add_upload(
                format!("{name}.csv"),
                "csv".into(),
                Vec::new(),
                vec![stored_run(name, &steps, &losses)],
            )
            .await
            .unwrap();
        // The power law reads steps as x values, not as sizes: only the loss matters there.
        let laws: &[&str] = if name == "negative-loss" {
            &["momentum", "multipower", "power"]
        } else {
            &["momentum", "multipower"]
        };
        for law in laws {
            let request = json!({"law": law, "runs": [runs[0].id]});
            let (status, body) = post_json(&app, "/api/fits", &request).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{name}, {law}: {body}");
            let fit = wait_ended(&app, body["id"].as_i64().unwrap()).await;
            assert_eq!(fit.summary.status, FitStatus::Failed, "{name}, {law}");
            let error = fit.summary.error.unwrap_or_default();
            assert!(
                error.contains(&format!("run '{name}'")) && error.contains(why),
                "{name}, {law}: {error}"
            );
        }
    }
    // The server kept answering throughout.
    let (status, _) = get(&app, "/api/health").await;
    assert_eq!(status, StatusCode::OK);
}

/// A done momentum fit of two published runs, for the forecast routes.
async fn done_fit(app: &App) -> i64 {
    let mut ids = Vec::new();
    for file in ["cosine_24000.csv", "constant_24000.csv"] {
        let path = format!(
            "{}/../../shared/data/multipowerlaw/csv_25/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(path).unwrap();
        let (status, body) =
            call(app, common::multipart("/api/runs", &[(file, bytes)], None)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["runs"][0]["id"].as_i64().unwrap());
    }
    let (status, body) =
        post_json(app, "/api/fits", &json!({"law": "momentum", "runs": ids})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let fit = wait_ended(app, body["id"].as_i64().unwrap()).await;
    assert_eq!(
        fit.summary.status,
        FitStatus::Done,
        "{:?}",
        fit.summary.error
    );
    fit.summary.id
}

#[tokio::test(flavor = "multi_thread")]
async fn request_sizes_are_refused_when_the_request_arrives() {
    let app = app();
    let id = done_fit(&app).await;
    let predict = format!("/api/fits/{id}/predict");
    let best = format!("/api/fits/{id}/best-schedule");
    let huge = "cosine:peak=3e-4,total=1000000000000";
    for (uri, body, code, why) in [
        (
            &predict,
            json!({"schedule": "constant:peak=3e-4,total=1000", "every": 0}),
            "invalid_predict_request",
            "`every` is 0",
        ),
        (
            &predict,
            json!({"schedule": "constant:peak=3e-4,total=1000", "every": 100_000_000}),
            "invalid_predict_request",
            "give 1 to 10000000 steps",
        ),
        (
            &predict,
            json!({"schedule": huge}),
            "invalid_schedule",
            "field `total`: 1000000000000 exceeds the limit of 10000000 steps",
        ),
        (
            &best,
            json!({"candidates": ["constant:peak=3e-4,total=1000"], "horizon": 1_000_000_000_000u64}),
            "invalid_schedule",
            "horizon 1000000000000 is not in 1..=10000000",
        ),
        (
            &best,
            json!({"candidates": ["constant:peak=3e-4,total=1000"], "horizon": 0}),
            "invalid_schedule",
            "horizon 0 is not in",
        ),
        (
            &best,
            json!({"candidates": [huge]}),
            "invalid_schedule",
            "exceeds the limit of 10000000 steps",
        ),
    ] {
        let (status, response) = post_json(&app, uri, &body).await;
        let shown = short(&response);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {shown}");
        assert_eq!(response["error"]["code"], code, "{body}: {shown}");
        assert!(message(&response).contains(why), "{body}: {response}");
    }
    // `every` is checked before the fit is even looked up.
    let (status, _) = post_json(
        &app,
        "/api/fits/999/predict",
        &json!({"schedule": "constant:peak=1,total=10", "every": 0}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A fit request is checked whole before it is queued.
    let (_, runs) = get(&app, "/api/runs").await;
    let run = runs[0]["id"].as_i64().unwrap();
    let other = runs[1]["id"].as_i64().unwrap();
    for (options, runs, holdout, why) in [
        (
            json!({}),
            json!([run, run]),
            json!([]),
            format!("run {run} is given twice"),
        ),
        (
            json!({}),
            json!([run]),
            json!([other, other]),
            format!("run {other} is given twice"),
        ),
        (
            json!({"bootstrap": 10_001}),
            json!([run]),
            json!([]),
            "10001 bootstrap resamples is more than the limit of 10000".to_string(),
        ),
        (
            json!({"fixed": {"L_0": 2.0}}),
            json!([run]),
            json!([]),
            "fixed: momentum has no parameter 'L_0'; its parameters are L0, A, alpha, C"
                .to_string(),
        ),
        (
            json!({"bounds": {"gamma": [0.0, 1.0]}}),
            json!([run]),
            json!([]),
            "bounds: momentum has no parameter 'gamma'".to_string(),
        ),
        (
            json!({"bounds": {"A": [2.0, 1.0]}}),
            json!([run]),
            json!([]),
            "bounds: 'A' = [2, 1] is not an interval".to_string(),
        ),
        (
            json!({"schedules": {run.to_string(): huge}}),
            json!([run]),
            json!([]),
            format!("schedule of run {run}: field `total`: 1000000000000 exceeds the limit"),
        ),
        (
            json!({"schedules": {"12345": "constant:peak=1,total=10"}}),
            json!([run]),
            json!([]),
            "a schedule is given for run 12345, which is not in the fit".to_string(),
        ),
    ] {
        let request =
            json!({"law": "momentum", "runs": runs, "holdout": holdout, "options": options});
        let (status, response) = post_json(&app, "/api/fits", &request).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{request}: {response}"
        );
        assert_eq!(response["error"]["code"], "invalid_fit_request");
        assert!(message(&response).contains(&why), "{request}: {response}");
    }
    let (_, fits) = get(&app, "/api/fits").await;
    assert_eq!(
        fits.as_array().unwrap().len(),
        1,
        "only the first fit was queued"
    );
}
