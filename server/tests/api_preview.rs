//! `POST /api/runs/preview` and the `mapping` field of uploads, over the real router in
//! process and over TCP.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use server::api::Config;
use shared::api::{ErrorResponse, IngestReport, RunSummary, UploadResponse};

/// A CSV whose loss column has a name no reader guesses.
const ODD_CSV: &[u8] = b"it,objective,lr\n1,4.0,0.001\n2,3.5,0.001\n3,3.2,0.001\n4,3.0,0.001\n";

mod common;

fn form(files: &[(&str, &[u8])], mapping: Option<&str>) -> Request<Body> {
    common::multipart("/api/runs/preview", files, mapping)
}

fn form_to(uri: &str, files: &[(&str, &[u8])], mapping: Option<&str>) -> Request<Body> {
    common::multipart(uri, files, mapping)
}

async fn call(router: &axum::Router, request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let (status, _, body) = common::send(router, request).await;
    (status, body)
}

fn app() -> (axum::Router, common::TestApp) {
    let app = common::TestApp::new(Config::default());
    (app.router.clone(), app)
}

async fn run_count(router: &axum::Router) -> usize {
    let (status, body) = call(
        router,
        Request::get("/api/runs").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice::<Vec<RunSummary>>(&body)
        .unwrap()
        .len()
}

#[tokio::test]
async fn preview_reports_roles_and_stores_nothing() {
    common::both_transports(preview_reports_roles_and_stores_nothing_case).await;
}

async fn preview_reports_roles_and_stores_nothing_case() {
    let (router, _dir) = app();
    let csv = b"step,loss,lr\n1,4.0,0.001\n2,3.5,0.001\n3,3.2,0.001\n";
    let (status, body) = call(&router, form(&[("run.csv", csv)], None)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let report: IngestReport = serde_json::from_slice(&body).unwrap();
    let file = &report.files[0];
    assert_eq!(file.format.as_deref(), Some("csv"));
    let roles: Vec<(&str, &str)> = file
        .columns
        .iter()
        .map(|c| (c.column.as_str(), c.role.as_str()))
        .collect();
    assert_eq!(roles, [("step", "step"), ("loss", "loss"), ("lr", "lr")]);
    assert_eq!(file.runs[0].name, "run");
    let loss = file.runs[0]
        .series
        .iter()
        .find(|s| s.name == "loss")
        .unwrap();
    assert_eq!(
        (loss.points, loss.first_step, loss.last_step),
        (3, Some(1.0), Some(3.0))
    );
    assert_eq!(run_count(&router).await, 0, "a preview stores nothing");
}

#[tokio::test]
async fn a_mapping_fixes_what_detection_missed_in_preview_and_upload() {
    common::both_transports(a_mapping_fixes_what_detection_missed_in_preview_and_upload_case).await;
}

async fn a_mapping_fixes_what_detection_missed_in_preview_and_upload_case() {
    let (router, _dir) = app();
    // Without a mapping the file has no loss column: the preview says so, as a report.
    let (status, body) = call(&router, form(&[("odd.csv", ODD_CSV)], None)).await;
    assert_eq!(status, StatusCode::OK);
    let report: IngestReport = serde_json::from_slice(&body).unwrap();
    let error = report.files[0]
        .error
        .as_ref()
        .expect("no loss column found");
    assert!(error.message.contains("loss"), "{}", error.message);

    let mapping = r#"{"step_col": "it", "loss_col": ["objective"]}"#;
    let (status, body) = call(&router, form(&[("odd.csv", ODD_CSV)], Some(mapping))).await;
    assert_eq!(status, StatusCode::OK);
    let report: IngestReport = serde_json::from_slice(&body).unwrap();
    let file = &report.files[0];
    assert!(file.error.is_none(), "{:?}", file.error);
    assert!(
        file.columns
            .iter()
            .any(|c| c.column == "objective" && c.role == "loss"),
        "{:?}",
        file.columns
    );

    let (status, body) = call(
        &router,
        form_to("/api/runs", &[("odd.csv", ODD_CSV)], Some(mapping)),
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
    assert_eq!(created.runs[0].n_points, 4);
}

#[tokio::test]
async fn bad_mappings_are_clear_errors() {
    common::both_transports(bad_mappings_are_clear_errors_case).await;
}

async fn bad_mappings_are_clear_errors_case() {
    let (router, _dir) = app();
    let (status, body) = call(&router, form(&[("odd.csv", ODD_CSV)], Some("{not json"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let error: ErrorResponse = serde_json::from_slice(&body).unwrap();
    assert!(
        error.error.message.contains("`mapping`"),
        "{}",
        error.error.message
    );

    let (status, body) = call(
        &router,
        form(
            &[("odd.csv", ODD_CSV)],
            Some(r#"{"loss_column": ["objective"]}"#),
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "unknown mapping fields are refused"
    );
    let error: ErrorResponse = serde_json::from_slice(&body).unwrap();
    assert!(
        error.error.message.contains("loss_column"),
        "{}",
        error.error.message
    );

    // A mapping naming a column the file lacks: the upload is refused, naming it.
    let (status, body) = call(
        &router,
        form_to(
            "/api/runs",
            &[("odd.csv", ODD_CSV)],
            Some(r#"{"loss_col": ["nope"]}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let error: ErrorResponse = serde_json::from_slice(&body).unwrap();
    assert!(
        error.error.message.contains("nope"),
        "{}",
        error.error.message
    );
    assert_eq!(run_count(&router).await, 0);
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/formats/").to_string() + name)
        .unwrap()
}

/// polars-parquet aborts its process on this damaged page (a 2^61-byte allocation); the
/// server reads Parquet in a child process, so the upload is a 422 and the server lives on.
#[tokio::test]
async fn a_parquet_file_that_aborts_its_reader_is_a_422_not_a_crash() {
    common::both_transports(a_parquet_file_that_aborts_its_reader_is_a_422_not_a_crash_case).await;
}

async fn a_parquet_file_that_aborts_its_reader_is_a_422_not_a_crash_case() {
    let (router, _dir) = app();
    let good = fixture("long.parquet");
    let mut damaged = good.clone();
    damaged[56] = b'1';

    let (status, body) = call(
        &router,
        form_to("/api/runs", &[("bad.parquet", &damaged)], None),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let error: ErrorResponse = serde_json::from_slice(&body).unwrap();
    assert!(
        error.error.message.contains("bad.parquet"),
        "{}",
        error.error.message
    );
    assert!(
        error.error.message.contains("damaged"),
        "{}",
        error.error.message
    );

    let (status, body) = call(&router, form(&[("bad.parquet", &damaged)], None)).await;
    assert_eq!(status, StatusCode::OK);
    let report: IngestReport = serde_json::from_slice(&body).unwrap();
    assert!(report.files[0].error.is_some());

    // The good file, read by the same child process route, gives what the reader gives.
    let expected = server::ingest::ingest("long.parquet", &good, &Default::default()).unwrap();
    let (status, body) = call(
        &router,
        form_to("/api/runs", &[("long.parquet", &good)], None),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let created: UploadResponse = serde_json::from_slice(&body).unwrap();
    let names: Vec<&str> = created.runs.iter().map(|r| r.name.as_str()).collect();
    let expected_names: Vec<&str> = expected.runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, expected_names);
    let id = created.runs[0].id;
    let (_, body) = call(
        &router,
        Request::get(format!("/api/runs/{id}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let detail: shared::api::RunDetail = serde_json::from_slice(&body).unwrap();
    assert_eq!(detail.points["loss"], expected.runs[0].series["loss"]);
}
