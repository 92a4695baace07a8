//! The router-level API tests' harness: an app over a fresh SQLite file, one request
//! through the real router (`oneshot`, no socket), and multipart upload bodies.

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
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn new(config: Config) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("test.db")).unwrap();
        Self {
            router: api::app(store, config),
            _dir: dir,
        }
    }
}

/// Sends one request; the status, headers and whole body of the answer.
pub async fn send(
    router: &axum::Router,
    request: Request<Body>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let response = router.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body.to_vec())
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
