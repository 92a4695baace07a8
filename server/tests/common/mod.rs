//! The API tests' harness: an app over a fresh SQLite file, one request through the real
//! router, either in process (`oneshot`, no socket) or over a real listening server
//! (`axum::serve` on 127.0.0.1 + an HTTP client), and multipart upload bodies.
//! [`both_transports`] runs a test body once each way.

#![allow(dead_code)] // each test file uses a part of it

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use server::api::{self, Config};
use server::store::Store;
use tower::ServiceExt;

/// The whole application over a database in a temporary folder (removed on drop).
pub struct TestApp {
    pub router: axum::Router,
    /// The app's store, for checks the API does not show (e.g. what a refusal kept).
    pub store: Store,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn new(config: Config) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("test.db")).unwrap();
        Self {
            router: api::app(store.clone(), config),
            store,
            _dir: dir,
        }
    }
}

/// How [`send`] reaches the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `tower::ServiceExt::oneshot`: the router in process, no socket.
    Oneshot,
    /// HTTP/1.1 over TCP to `server::api::serve` on 127.0.0.1.
    Tcp,
}

tokio::task_local! {
    static TRANSPORT: Transport;
}

/// The transport of the running test body (`Oneshot` outside [`both_transports`]).
pub fn transport() -> Transport {
    TRANSPORT.try_with(|t| *t).unwrap_or(Transport::Oneshot)
}

/// Runs a test body (which builds its own [`TestApp`]) through `oneshot`, then again over
/// a real listening server.
pub async fn both_transports<F, Fut>(body: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for transport in [Transport::Oneshot, Transport::Tcp] {
        eprintln!("-- over {transport:?}");
        TRANSPORT.scope(transport, body()).await;
    }
}

/// Sends one request; the status, headers and whole body of the answer.
pub async fn send(
    router: &axum::Router,
    request: Request<Body>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    if transport() == Transport::Tcp {
        return send_tcp(router, request).await;
    }
    let response = router.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body.to_vec())
}

/// The request over a socket to the real server loop (`server::api::serve`, as
/// `curvecast serve` runs it). Each request gets a fresh listener: a router's clones share
/// its state (store, jobs), so they all serve the same app.
async fn send_tcp(
    router: &axum::Router,
    request: Request<Body>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(api::serve(listener, router.clone()));
    let (parts, body) = request.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let response = reqwest::Client::new()
        .request(parts.method, format!("http://{address}{}", parts.uri))
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{} over TCP: {e}", parts.uri));
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.bytes().await.unwrap().to_vec();
    server.abort();
    (status, headers, body)
}

/// Uploads `files` (`POST /api/runs`, asserting 201); the ids of the runs created.
pub async fn upload<B: AsRef<[u8]>>(app: &TestApp, files: &[(&str, B)]) -> Vec<i64> {
    let (status, _, body) = send(&app.router, multipart("/api/runs", files, None)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice::<shared::api::UploadResponse>(&body)
        .unwrap()
        .runs
        .iter()
        .map(|r| r.id)
        .collect()
}

const BOUNDARY: &str = "curvecast-test-boundary";

/// A multipart POST to `uri` of `files` (field `file`), with the optional `mapping` field.
pub fn multipart<B: AsRef<[u8]>>(
    uri: &str,
    files: &[(&str, B)],
    mapping: Option<&str>,
) -> Request<Body> {
    let mut body = Vec::new();
    if let Some(mapping) = mapping {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"mapping\"\r\n\r\n{mapping}\r\n")
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
        body.extend_from_slice(bytes.as_ref());
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
