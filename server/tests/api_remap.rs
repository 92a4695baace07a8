//! `PATCH /api/runs/{id}` with a `mapping`: the run is read again from its kept upload
//! and its series replaced, all or nothing; in process and over TCP.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use server::api::Config;

mod common;
use common::TestApp;

/// `loss` is what detection picks; `smoothed` is what the user means.
const TWO_LOSSES: &[u8] =
    b"step,loss,smoothed,lr\n1,4.0,4.5,0.001\n2,3.5,3.75,0.001\n3,3.2,3.25,0.001\n4,3.0,3.125,0.001\n";
/// Two runs in one long-format file.
const TWO_RUNS: &[u8] = b"run,step,loss,alt,lr\na,1,4.0,5.0,0.001\na,2,3.0,4.0,0.001\nb,1,6.0,7.0,0.001\nb,2,5.0,6.0,0.001\n";

async fn call(app: &TestApp, method: &str, uri: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(if body.is_null() {
            Body::empty()
        } else {
            Body::from(body.to_string())
        })
        .unwrap();
    let (status, _, bytes) = common::send(&app.router, request).await;
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

async fn upload(app: &TestApp, name: &str, bytes: &[u8]) -> Vec<i64> {
    let request = common::multipart("/api/runs", &[(name, bytes)], None);
    let (status, _, body) = common::send(&app.router, request).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let body: Value = serde_json::from_slice(&body).unwrap();
    body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

async fn run(app: &TestApp, id: i64) -> Value {
    let (status, body) = call(app, "GET", &format!("/api/runs/{id}"), Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    body
}

#[tokio::test]
async fn a_mapping_rereads_the_run_from_its_upload() {
    common::both_transports(rereads_case).await;
}

async fn rereads_case() {
    let app = TestApp::new(Config::default());
    let id = upload(&app, "two.csv", TWO_LOSSES).await[0];
    let before = run(&app, id).await;
    assert_eq!(
        before["points"]["loss"]["values"],
        json!([4.0, 3.5, 3.2, 3.0])
    );
    let uri = format!("/api/runs/{id}");

    // A rename and the mapping together.
    let (status, body) = call(
        &app,
        "PATCH",
        &uri,
        json!({"name": "smoothed run", "mapping": {"loss_col": ["smoothed"]}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "smoothed run");
    assert_eq!(body["n_points"], 4);
    let after = run(&app, id).await;
    assert_eq!(
        after["points"]["loss"]["values"],
        json!([4.5, 3.75, 3.25, 3.125])
    );
    assert_eq!(after["points"]["lr"], before["points"]["lr"]);
    assert!(
        after["sources"]["loss"]
            .as_str()
            .unwrap()
            .contains("smoothed"),
        "{after}"
    );

    // A mapping the file cannot be read with changes nothing, not even the name.
    let (status, body) = call(
        &app,
        "PATCH",
        &uri,
        json!({"name": "renamed", "mapping": {"loss_col": ["nowhere"]}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "missing_column", "{body}");
    assert_eq!(body["error"]["details"]["file"], "two.csv", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nowhere"),
        "{body}"
    );
    assert_eq!(run(&app, id).await, after);

    // Unknown mapping fields and runs are refused.
    let (status, body) = call(&app, "PATCH", &uri, json!({"mapping": {"los_col": ["x"]}})).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_json"))
    );
    let (status, body) = call(&app, "PATCH", "/api/runs/9999", json!({"mapping": {}})).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("not_found"))
    );

    // While a fit uses the run it stays as it is (a stored fit must stay reproducible).
    let (status, body) = call(
        &app,
        "POST",
        "/api/fits",
        json!({"law": "momentum", "runs": [id]}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body) = call(&app, "PATCH", &uri, json!({"mapping": {}})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "run_in_use");
    assert_eq!(
        body["error"]["details"]["fits"],
        json!([body_fit(&app).await])
    );
    assert_eq!(run(&app, id).await, after);
}

/// The id of the only fit.
async fn body_fit(app: &TestApp) -> i64 {
    let (_, fits) = call(app, "GET", "/api/fits", Value::Null).await;
    fits[0]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn in_a_file_of_several_runs_only_the_patched_run_changes() {
    common::both_transports(several_case).await;
}

async fn several_case() {
    let app = TestApp::new(Config::default());
    let ids = upload(&app, "two_runs.csv", TWO_RUNS).await;
    let (a, b) = (ids[0], ids[1]);
    assert_eq!(run(&app, a).await["name"], "a");
    let b_before = run(&app, b).await;

    let (status, body) = call(
        &app,
        "PATCH",
        &format!("/api/runs/{a}"),
        json!({"mapping": {"loss_col": ["alt"]}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        run(&app, a).await["points"]["loss"]["values"],
        json!([5.0, 4.0])
    );
    assert_eq!(
        run(&app, b).await,
        b_before,
        "the other run of the file is unchanged"
    );

    // Renamed, the run can no longer be told apart among the file's runs.
    let (status, _) = call(
        &app,
        "PATCH",
        &format!("/api/runs/{a}"),
        json!({"name": "first"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(
        &app,
        "PATCH",
        &format!("/api/runs/{a}"),
        json!({"mapping": {"loss_col": ["loss"]}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "ambiguous_mapping");
    assert_eq!(body["error"]["details"]["runs"], json!(["a", "b"]));
    assert_eq!(
        run(&app, a).await["points"]["loss"]["values"],
        json!([5.0, 4.0])
    );
}
