//! The web app's files from the table embedded in the `curvecast` binary (see
//! `server/build.rs`): a file by its path, else `index.html` for the app's own routes
//! (`/fits/7`, `/forecast`...), which the app resolves in the browser.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// `(path under the app's root, bytes)` of every file of the app.
pub type EmbeddedApp = &'static [(&'static str, &'static [u8])];

pub fn serve(app: EmbeddedApp, uri: &Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let found = app.iter().find(|(p, _)| *p == path).or_else(|| {
        // A route of the app, not a file: the app's page answers it.
        (!path.contains('.'))
            .then(|| app.iter().find(|(p, _)| *p == "index.html"))
            .flatten()
    });
    match found {
        Some((name, bytes)) => {
            let mut response = bytes.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(name)),
            );
            response
        }
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: EmbeddedApp = &[
        ("index.html", b"<html>app</html>"),
        ("pkg/app_bg.wasm", b"\0asm"),
    ];

    fn get(path: &str) -> Response {
        serve(APP, &path.parse().unwrap())
    }

    #[test]
    fn files_routes_and_misses() {
        let wasm = get("/pkg/app_bg.wasm");
        assert_eq!(wasm.headers()[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(
            get("/").headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(get("/fits/7").status(), StatusCode::OK);
        assert_eq!(get("/missing.js").status(), StatusCode::NOT_FOUND);
    }
}
