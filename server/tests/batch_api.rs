//! `/api/batch/analyze` over the real router: stored runs uploaded as a sweep CSV, an
//! inline table, CSV output and the error answers.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use server::api::Config;
use server::batch::synthetic;
use shared::api::batch::AnalyzeResponse;
use shared::api::{ErrorResponse, UploadResponse};

mod common;

async fn call(router: &axum::Router, request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let (status, _, body) = common::send(router, request).await;
    (status, body)
}

fn post_json(uri: &str, body: serde_json::Value) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn stored_sweep_inline_table_csv_and_errors() {
    let app = common::TestApp::new(Config::default());
    let router = app.router.clone();

    // Upload a synthetic sweep (one model, 8 batch sizes) as a long CSV.
    let runs = synthetic::sweep(&synthetic::SweepSpec {
        n_params: vec![6e7],
        ..Default::default()
    });
    let csv = synthetic::to_csv(&runs);
    let (status, bytes) = call(
        &router,
        common::multipart("/api/runs", &[("sweep.csv", csv.as_bytes())], None),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let uploaded: UploadResponse = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(uploaded.runs.len(), 8);
    assert!(
        uploaded
            .runs
            .iter()
            .all(|r| r.attrs.contains_key("batch_size"))
    );
    let ids: Vec<i64> = uploaded.runs.iter().map(|r| r.id).collect();

    let (status, bytes) = call(
        &router,
        post_json(
            "/api/batch/analyze",
            serde_json::json!({"run_ids": ids, "options": {"smoothing_window": 5, "n_targets": 4}}),
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let r: AnalyzeResponse = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(r.models.len(), 1);
    assert_eq!(r.models[0].targets.len(), 4);
    assert_eq!(r.models[0].n_params, Some(6e7));
    assert!(r.models[0].b_crit_law.is_some());

    // An inline reduced table, answered as CSV.
    let table: Vec<serde_json::Value> = [
        (64.0, 4000.0),
        (128.0, 2300.0),
        (256.0, 1500.0),
        (512.0, 1100.0),
    ]
    .iter()
    .map(|(b, s)| serde_json::json!({"model": "m", "batch": b, "steps": s}))
    .collect();
    let (status, bytes) = call(
        &router,
        post_json(
            "/api/batch/analyze?format=csv",
            serde_json::json!({"table": table}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.lines().nth(1).unwrap().starts_with("m,,,4,"), "{text}");

    // Errors: shape {"error": {code, message}}, naming what is wrong.
    for (uri, body, status, code, words) in [
        (
            "/api/batch/analyze",
            serde_json::json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_batch_request",
            "no data",
        ),
        (
            "/api/batch/analyze",
            serde_json::json!({"run_ids": [99999]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_batch_request",
            "99999",
        ),
        (
            "/api/batch/analyze",
            serde_json::json!({"table": [{"model": "m", "batch": -1, "steps": 3}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_batch_request",
            "batch -1",
        ),
        (
            "/api/batch/analyze?format=xml",
            serde_json::json!({}),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "xml",
        ),
        (
            "/api/batch/analyze",
            serde_json::json!({"table": 3}),
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "table",
        ),
    ] {
        let (got, bytes) = call(&router, post_json(uri, body.clone())).await;
        assert_eq!(got, status, "{body}: {}", String::from_utf8_lossy(&bytes));
        let e: ErrorResponse = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(e.error.code, code, "{body}");
        assert!(
            e.error.message.contains(words),
            "{body}: {}",
            e.error.message
        );
    }
}
