//! `POST /api/runs/preview` and the `mapping` field of uploads, over the real router.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use server::api::{self, Config};
use server::store::Store;
use shared::api::{ErrorResponse, IngestReport, RunSummary, UploadResponse};
use tower::ServiceExt;

const BOUNDARY: &str = "curvecast-preview-boundary";

/// A CSV whose loss column has a name no reader guesses.
const ODD_CSV: &[u8] = b"it,objective,lr\n1,4.0,0.001\n2,3.5,0.001\n3,3.2,0.001\n4,3.0,0.001\n";

fn form(files: &[(&str, &[u8])], mapping: Option<&str>) -> Request<Body> {
    form_to("/api/runs/preview", files, mapping)
}

fn form_to(uri: &str, files: &[(&str, &[u8])], mapping: Option<&str>) -> Request<Body> {
    let mut body = Vec::new();
    if let Some(mapping) = mapping {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"mapping\"\r\n\r\n{mapping}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    Request::post(uri)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .unwrap()
}

async fn call(router: &axum::Router, request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec())
}

fn app() -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("test.db")).unwrap();
    (api::app(store, Config::default()), dir)
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
