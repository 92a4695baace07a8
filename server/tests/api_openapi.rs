//! `GET /api/openapi.json`: an OpenAPI 3.x document that covers the router exactly
//! (probed: every documented operation is served, every other method of a documented
//! path is a 405), whose `$ref`s all resolve, and which names every endpoint the README
//! and the guides (`docs/**/*.md`) show.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use server::api::Config;

mod common;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn document(app: &common::TestApp) -> Value {
    let request = Request::get("/api/openapi.json")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = common::send(&app.router, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    serde_json::from_slice(&body).expect("the document is JSON")
}

/// (method, path template) of every documented operation.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert((method.to_string(), path.clone()));
            }
        }
    }
    out
}

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_with_no_dangling_refs() {
    common::both_transports(the_document_is_openapi_3_with_no_dangling_refs_case).await;
}

async fn the_document_is_openapi_3_with_no_dangling_refs_case() {
    let app = common::TestApp::new(Config::default());
    let doc = document(&app).await;
    let version = doc["openapi"].as_str().expect("an `openapi` version");
    assert!(version.starts_with("3."), "OpenAPI {version}");
    assert_eq!(doc["info"]["title"], "curvecast");
    // The error shape every 4xx refers to, and the wire types, are components.
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "ErrorResponse",
        "ErrorBody",
        "FitRequest",
        "Mapping",
        "BatchEstimate",
    ] {
        assert!(schemas.contains_key(name), "component {name} missing");
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50, "only {} $refs", all.len());
    for r in &all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("$ref {r} is not a local schema"));
        assert!(schemas.contains_key(name), "dangling $ref {r}");
    }
    // Operation ids are unique (clients generate function names from them).
    let mut ids = BTreeSet::new();
    for (method, path) in operations(&doc) {
        let op = &doc["paths"][&path][&method];
        let id = op["operationId"].as_str().unwrap_or_default().to_string();
        assert!(ids.insert(id.clone()), "operationId '{id}' twice");
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path}: no success response"
        );
        // Every path parameter is described.
        let params: Vec<&str> = op["parameters"]
            .as_array()
            .map(|p| p.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        for segment in path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(['{', '}']);
            assert!(
                params.contains(&name),
                "{method} {path}: `{name}` undocumented"
            );
        }
    }
    // The specific shapes the issue asks for.
    let create = &doc["paths"]["/api/fits"]["post"]["responses"];
    assert!(create.get("202").is_some(), "fit creation answers 202");
    let predict = &doc["paths"]["/api/fits/{id}/predict"]["post"]["responses"]["200"]["content"];
    for format in [
        "application/json",
        "text/csv",
        "application/vnd.apache.parquet",
    ] {
        assert!(predict.get(format).is_some(), "predict exports {format}");
    }
    let upload = &doc["paths"]["/api/runs"]["post"]["requestBody"]["content"];
    assert!(upload.get("multipart/form-data").is_some());
    assert!(upload.get("application/json").is_some());
}

/// Every documented operation reaches a handler (not the "no such API route" fallback,
/// not a 405), and every other method on a documented path is a 405: the router serves
/// exactly what the document says.
#[tokio::test]
async fn the_document_covers_every_route_the_router_serves() {
    common::both_transports(the_document_covers_every_route_the_router_serves_case).await;
}

async fn the_document_covers_every_route_the_router_serves_case() {
    let app = common::TestApp::new(Config::default());
    let doc = document(&app).await;
    let documented = operations(&doc);
    assert!(documented.len() >= 20, "{} operations", documented.len());
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        let uri = path.replace("{id}", "987654");
        for method in METHODS {
            let request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let (status, _, body) = common::send(&app.router, request).await;
            let text = String::from_utf8_lossy(&body);
            if documented.contains(&(method.to_string(), path.clone())) {
                assert!(
                    status != StatusCode::METHOD_NOT_ALLOWED && !text.contains("no such API route"),
                    "{method} {uri} is documented but not served: {status} {text}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {uri} is served but not documented: {text}"
                );
            }
        }
    }
    // A path outside the document is the fallback.
    let request = Request::get("/api/nothing-here")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = common::send(&app.router, request).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8_lossy(&body).contains("no such API route"));
}

/// The method of the nearest marker before an `/api/` URL in a README line: curl's `-X`
/// and `-F`, a prose `POST /api/...`, or Python's `requests.post(`.
fn method_before(before: &str) -> Option<&'static str> {
    const MARKERS: [(&str, &str); 13] = [
        ("-X POST", "post"),
        ("-X PATCH", "patch"),
        ("-X DELETE", "delete"),
        ("-F ", "post"),
        ("curl ", "get"),
        ("POST ", "post"),
        ("PATCH ", "patch"),
        ("DELETE ", "delete"),
        ("GET ", "get"),
        ("requests.get(", "get"),
        ("requests.post(", "post"),
        ("requests.patch(", "patch"),
        ("requests.delete(", "delete"),
    ];
    MARKERS
        .iter()
        .filter_map(|(marker, method)| before.rfind(marker).map(|at| (at + marker.len(), *method)))
        .max_by_key(|(end, _)| *end)
        .map(|(_, method)| method)
}

/// `README.md` and every `.md` under `docs/`, as (path, text), read when the test runs.
fn pages() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, name: &str, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let (path, name) = (
                entry.path(),
                format!("{name}/{}", entry.file_name().display()),
            );
            if path.is_dir() {
                walk(&path, &name, out);
            } else if name.ends_with(".md") {
                out.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut pages = vec![("README.md".to_string(), readme)];
    walk(&root.join("docs"), "docs", &mut pages);
    pages
}

/// Every `METHOD /api/...` the README and the guides show (curl lines, prose, Python) is
/// documented.
#[tokio::test]
async fn every_endpoint_in_the_readme_and_the_guides_is_documented() {
    common::both_transports(every_endpoint_in_the_readme_and_the_guides_is_documented_case).await;
}

async fn every_endpoint_in_the_readme_and_the_guides_is_documented_case() {
    let app = common::TestApp::new(Config::default());
    let documented = operations(&document(&app).await);
    let pages = pages();
    let mut shown = BTreeMap::new();
    for (page, text) in &pages {
        shown_endpoints(page, text, &mut shown);
    }
    assert!(
        shown.len() >= 15,
        "found only {} endpoints in the README and the guides",
        shown.len()
    );
    for ((method, path), line) in &shown {
        assert!(
            documented
                .iter()
                .any(|(m, template)| m == method && fills(template, path)),
            "{line} shows {method} {path}, not in the document"
        );
    }
}

/// Whether `path` is `template` with its `{...}` segments filled in (`/api/runs/7` and a
/// deliberately malformed `/api/runs/abc` both reach `/api/runs/{id}`).
fn fills(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
}

/// Adds the `METHOD /api/...` of one page to `shown`, each with `page:line: text`.
fn shown_endpoints(page: &str, text: &str, shown: &mut BTreeMap<(String, String), String>) {
    // A curl command continued on the next line keeps its method.
    let mut carried: Option<&str> = None;
    for (n, line) in text.lines().enumerate() {
        for (i, _) in line.match_indices("/api/") {
            let path: String = line[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "/-_.{}".contains(*c))
                .collect();
            let path = path.trim_end_matches(['/', '.']).to_string();
            if path == "/api" {
                continue; // `/api/*` in prose
            }
            let Some(method) = method_before(&line[..i]).or(carried) else {
                continue; // a path named in prose without a method
            };
            shown.insert(
                (method.to_string(), path),
                format!("{page}:{}: {line}", n + 1),
            );
        }
        carried = if line.trim_end().ends_with('\\') {
            method_before(line).or(carried)
        } else {
            None
        };
    }
}
