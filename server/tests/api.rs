//! The API over the real router, in process and over TCP: uploads, listing, errors.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use server::api::Config;
use shared::api::{ErrorResponse, RunDetail, RunSummary, UploadResponse};

mod common;
use common::TestApp;

fn test_app(config: Config) -> TestApp {
    TestApp::new(config)
}

async fn call(app: &TestApp, request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let (status, _, body) = common::send(&app.router, request).await;
    (status, body)
}

async fn upload(app: &TestApp, files: &[(&str, &[u8])]) -> (StatusCode, Vec<u8>) {
    call(app, common::multipart("/api/runs", files, None)).await
}

async fn get(app: &TestApp, uri: &str) -> (StatusCode, Vec<u8>) {
    call(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

fn error_of(body: &[u8]) -> ErrorResponse {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not an error body ({e}): {}", String::from_utf8_lossy(body)))
}

#[tokio::test]
async fn good_csv_creates_a_run_with_its_points() {
    common::both_transports(good_csv_creates_a_run_with_its_points_case).await;
}

async fn good_csv_creates_a_run_with_its_points_case() {
    let app = test_app(Config::default());
    let (status, body) = upload(
        &app,
        &[(
            "warmup-cosine.csv",
            b"step,lr,loss\n0,0.0,10.5\n100,3e-4,6.25\n200,2e-4,4.0\n",
        )],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let created: UploadResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(created.runs.len(), 1);
    assert_eq!(created.runs[0].name, "warmup-cosine");
    assert_eq!(created.runs[0].n_points, 3);

    let (status, body) = get(&app, "/api/runs").await;
    assert_eq!(status, StatusCode::OK);
    let runs: Vec<RunSummary> = serde_json::from_slice(&body).unwrap();
    assert_eq!(runs, created.runs);

    let (status, body) = get(&app, &format!("/api/runs/{}", runs[0].id)).await;
    assert_eq!(status, StatusCode::OK);
    let run: RunDetail = serde_json::from_slice(&body).unwrap();
    assert_eq!(run.points["loss"].steps, vec![0.0, 100.0, 200.0]);
    assert_eq!(run.points["loss"].values, vec![10.5, 6.25, 4.0]);
    assert_eq!(run.points["lr"].values, vec![0.0, 3e-4, 2e-4]);
}

#[tokio::test]
async fn non_numeric_loss_cell_is_a_422_naming_line_and_column() {
    common::both_transports(non_numeric_loss_cell_is_a_422_naming_line_and_column_case).await;
}

async fn non_numeric_loss_cell_is_a_422_naming_line_and_column_case() {
    let app = test_app(Config::default());
    let (status, body) = upload(&app, &[("bad.csv", b"step,loss\n1,3.5\n2,3.4\n3,oops\n")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let err = error_of(&body).error;
    assert_eq!(err.code, "invalid_file");
    assert_eq!(err.details["line"], 4);
    assert_eq!(err.details["column"], "loss");
    assert!(
        err.message.contains("line 4") && err.message.contains("'oops'"),
        "{}",
        err.message
    );
    // Nothing half-made is visible.
    let (_, body) = get(&app, "/api/runs").await;
    assert_eq!(
        serde_json::from_slice::<Vec<RunSummary>>(&body).unwrap(),
        vec![]
    );
}

#[tokio::test]
async fn empty_file_is_a_422() {
    common::both_transports(empty_file_is_a_422_case).await;
}

async fn empty_file_is_a_422_case() {
    let app = test_app(Config::default());
    let (status, body) = upload(&app, &[("empty.csv", b"")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_of(&body).error.code, "empty_file");
}

#[tokio::test]
async fn upload_above_the_size_limit_is_a_413() {
    common::both_transports(upload_above_the_size_limit_is_a_413_case).await;
}

async fn upload_above_the_size_limit_is_a_413_case() {
    let app = test_app(Config {
        max_upload_bytes: 1024,
        ..Config::default()
    });
    let mut csv = b"step,loss\n".to_vec();
    for step in 0..500 {
        csv.extend_from_slice(format!("{step},3.0\n").as_bytes());
    }
    let (status, body) = upload(&app, &[("big.csv", &csv)]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let err = error_of(&body).error;
    assert_eq!(err.code, "upload_too_large");
    assert_eq!(err.details["max_bytes"], 1024);
}

#[tokio::test]
async fn missing_run_and_unknown_route_are_404_json() {
    common::both_transports(missing_run_and_unknown_route_are_404_json_case).await;
}

async fn missing_run_and_unknown_route_are_404_json_case() {
    let app = test_app(Config::default());
    let (status, body) = get(&app, "/api/runs/42").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&body).error.code, "not_found");
    let (status, body) = get(&app, "/api/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&body).error.code, "not_found");
}

#[tokio::test]
async fn health_answers() {
    common::both_transports(health_answers_case).await;
}

async fn health_answers_case() {
    let app = test_app(Config::default());
    let (status, body) = get(&app, "/api/health").await;
    assert_eq!(status, StatusCode::OK);
    let health: shared::api::Health = serde_json::from_slice(&body).unwrap();
    assert_eq!((health.status.as_str(), health.runs), ("ok", 0));
}
