//! Issue 19, the HTTP layer: one JSON error form for every rejection, sizes refused from
//! the headers, uploads admitted within a memory budget, refusals that store nothing, ids
//! that never change meaning.

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{TestApp, both_transports, multipart, send};
use serde_json::{Value, json};
use server::api::{self, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn error_of(status: StatusCode, headers: &axum::http::HeaderMap, body: &[u8]) -> (String, String) {
    assert_eq!(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "{status}: {}",
        String::from_utf8_lossy(body)
    );
    let v: Value = serde_json::from_slice(body).unwrap();
    (
        v["error"]["code"].as_str().unwrap().to_string(),
        v["error"]["message"].as_str().unwrap().to_string(),
    )
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn post_json(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap()
}

#[tokio::test]
async fn every_framework_rejection_is_the_json_error() {
    both_transports(every_framework_rejection_case).await;
}

async fn every_framework_rejection_case() {
    let app = TestApp::new(Config::default());
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        // A malformed id (was 400 text/plain "Cannot parse `abc` to a `i64`").
        (get("/api/runs/abc"), StatusCode::BAD_REQUEST, "bad_request"),
        (get("/api/fits/1.5"), StatusCode::BAD_REQUEST, "bad_request"),
        (
            get("/api/runs?limit=many"),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            Request::put("/api/runs").body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        // A JSON route without its content type.
        (
            Request::post("/api/fits")
                .body(Body::from(r#"{"law": "momentum", "runs": [1]}"#))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post_json("/api/fits/1/predict", "{"),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (get("/api/nothing-here"), StatusCode::NOT_FOUND, "not_found"),
    ];
    for (request, status, code) in cases {
        let what = format!("{} {}", request.method(), request.uri());
        let (got, headers, body) = send(&app.router, request).await;
        assert_eq!(got, status, "{what}: {}", String::from_utf8_lossy(&body));
        assert_eq!(error_of(got, &headers, &body).0, code, "{what}");
    }
}

/// An over-long JSON body is 413, not 400, whether it declares its length or not.
#[tokio::test]
async fn an_over_long_json_body_is_413() {
    both_transports(an_over_long_json_body_case).await;
}

async fn an_over_long_json_body_case() {
    let app = TestApp::new(Config::default());
    let every: Vec<u64> = vec![1; 1_500_000];
    let big = serde_json::to_vec(
        &json!({ "schedule": "constant:peak=1e-3,total=100", "padding": every }),
    )
    .unwrap();
    assert!(big.len() > 2 * 1024 * 1024);
    // Declared: refused from the header.
    let (status, headers, body) =
        send(&app.router, post_json("/api/fits/1/predict", big.clone())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_of(status, &headers, &body).0, "body_too_large");
    // Streamed without a length: cut off while it is read.
    let stream = futures_util::stream::iter(
        big.chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let (status, headers, body) = send(
        &app.router,
        post_json("/api/fits/1/predict", Body::from_stream(stream)),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(error_of(status, &headers, &body).0, "body_too_large");
}

/// Serves the app on a loopback port; the address and the server task.
async fn serve(router: axum::Router) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = api::serve(listener, router).await;
    });
    (address, task)
}

/// Sends raw request bytes and reads the head of the answer (up to `wait`).
async fn raw_exchange(
    address: std::net::SocketAddr,
    head: &str,
    body_prefix: &[u8],
    wait: Duration,
) -> String {
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(body_prefix).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(wait, socket.read(&mut answer))
        .await
        .expect("no answer in time")
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).to_string()
}

/// `Content-Length: 2147483648` is refused from the header: the answer comes before any
/// of the body is sent (it used to read about 260 MB first).
#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_the_body() {
    let app = TestApp::new(Config::default());
    let (address, server) = serve(app.router.clone()).await;
    let head = "POST /api/runs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 2147483648\r\n\r\n";
    let started = Instant::now();
    let answer = raw_exchange(address, head, b"", Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("upload_too_large"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    server.abort();
}

/// Uploads share one memory budget: while one maximum-size upload is being received, a
/// second waits, and after `upload_wait` is answered 503 `busy` with `Retry-After`;
/// small requests of other kinds are not held up.
#[tokio::test]
async fn uploads_beyond_the_budget_wait_then_get_503() {
    let config = Config {
        max_upload_bytes: 1024 * 1024,
        upload_wait: Duration::from_millis(300),
        ..Config::default()
    };
    let app = TestApp::new(config);
    let (address, server) = serve(app.router.clone()).await;
    // The first upload declares the whole budget and sends a part of its body, then stalls.
    let mut first = tokio::net::TcpStream::connect(address).await.unwrap();
    first
        .write_all(
            b"POST /api/runs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 1048576\r\n\r\n--b\r\n",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let client = reqwest::Client::new();
    let url = format!("http://{address}/api/runs");
    let started = Instant::now();
    let second = client
        .post(&url)
        .header("content-type", "application/json")
        .body(r#"{"name": "small", "points": {"loss": {"steps": [1, 2], "values": [3.0, 2.9]}}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        second
            .headers()
            .get(header::RETRY_AFTER)
            .unwrap()
            .to_str()
            .unwrap(),
        "5"
    );
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"]["code"], "busy");
    // Other requests do not wait for the budget.
    let health = client
        .get(format!("http://{address}/api/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    // Once the first upload is gone, the budget is free again.
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let third = client
        .post(&url)
        .header("content-type", "application/json")
        .body(r#"{"name": "small", "points": {"loss": {"steps": [1, 2], "values": [3.0, 2.9]}}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), StatusCode::CREATED);
    server.abort();
}

/// A refused upload leaves nothing in the store (it used to keep every refused body).
#[tokio::test]
async fn a_refusal_stores_nothing() {
    let app = TestApp::new(Config {
        max_upload_bytes: 64 * 1024,
        ..Config::default()
    });
    let refused: Vec<Request<Body>> = vec![
        multipart(
            "/api/runs",
            &[("bad.csv", b"step,loss\n1,abc\n".to_vec())],
            None,
        ),
        multipart("/api/runs", &[("empty.csv", b"   \n".to_vec())], None),
        multipart("/api/runs", &[("big.csv", vec![b'1'; 100 * 1024])], None),
        post_json("/api/runs", r#"{"name": "x", "points": {}}"#),
    ];
    for request in refused {
        let (status, _, body) = send(&app.router, request).await;
        assert!(
            status.is_client_error(),
            "{status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    assert_eq!(app.store.count_uploads().await.unwrap(), (0, 0));
}

async fn upload_one(app: &TestApp, name: &str) -> i64 {
    let body = json!({"name": name, "points": {"loss": {"steps": [100, 200, 300], "values": [4.0, 3.5, 3.2]}, "lr": {"steps": [100, 200, 300], "values": [1e-3, 1e-3, 1e-3]}}});
    let (status, _, body) = send(&app.router, post_json("/api/runs", body.to_string())).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    v["runs"][0]["id"].as_i64().unwrap()
}

/// Delete run N, upload again: the new run is not N, and N stays gone. The same for fits.
#[tokio::test]
async fn ids_are_never_reused() {
    let app = TestApp::new(Config::default());
    let first = upload_one(&app, "a").await;
    let delete = |uri: String| Request::delete(uri).body(Body::empty()).unwrap();
    let (status, _, _) = send(&app.router, delete(format!("/api/runs/{first}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let second = upload_one(&app, "b").await;
    assert!(second > first, "run id {first} was given again");
    let (status, _, _) = send(&app.router, get(&format!("/api/runs/{first}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let fit = |runs: Vec<i64>| {
        post_json(
            "/api/fits",
            json!({"law": "momentum", "runs": runs, "options": {"bootstrap": 0}}).to_string(),
        )
    };
    let (status, _, body) = send(&app.router, fit(vec![second])).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let fit_a = serde_json::from_slice::<Value>(&body).unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, _, _) = send(&app.router, delete(format!("/api/fits/{fit_a}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, _, body) = send(&app.router, fit(vec![second])).await;
    let fit_b = serde_json::from_slice::<Value>(&body).unwrap()["id"]
        .as_i64()
        .unwrap();
    assert!(fit_b > fit_a, "fit id {fit_a} was given again");
    let (status, _, _) = send(&app.router, get(&format!("/api/fits/{fit_a}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A text file that is one enormous line is refused at its first `max_line_bytes`, while
/// it streams in (it used to be received whole and copied, 1.78 GB for 200 MB).
#[tokio::test]
async fn a_one_line_upload_is_refused_as_it_streams() {
    let app = TestApp::new(Config::default());
    let mut line = b"step,loss,".to_vec();
    line.resize(3 * 1024 * 1024, b'x');
    let (status, headers, body) = send(
        &app.router,
        multipart("/api/runs", &[("one.csv", line)], None),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (code, message) = error_of(status, &headers, &body);
    assert_eq!(code, "file_too_large");
    assert!(
        message.contains("one.csv, line 1") && message.contains("max_line_bytes"),
        "{message}"
    );
    // A JSON document may be one long line: it is not refused for that.
    let mut doc = br#"{"log_history": [{"step": 1, "loss": 3.0, "note": ""#.to_vec();
    doc.resize(2 * 1024 * 1024, b'x');
    doc.extend_from_slice(br#""}, {"step": 2, "loss": 2.9}]}"#);
    let (status, _, body) = send(
        &app.router,
        multipart("/api/runs", &[("trainer_state.json", doc)], None),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
}
