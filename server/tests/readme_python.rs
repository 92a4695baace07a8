//! The API guide's Python example (`docs/api.md`, section "From Python"), run as is with
//! `python3` (and `requests`; `cargo xtask test` installs it) against a real listening server.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use server::api::{self, Config};

mod common;

/// The first ```python block after the section's title, without any list indent.
fn snippet(guide: &str) -> String {
    let title = guide
        .find("\n## From Python\n")
        .expect("docs/api.md has the section \"From Python\"");
    let rest = &guide[title..];
    let start = rest.find("```python\n").expect("a python block") + "```python\n".len();
    let end = start + rest[start..].find("```").expect("the block ends");
    let lines: Vec<&str> = rest[start..end].lines().collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_guides_python_example_runs_against_a_live_server() {
    let code = snippet(include_str!("../../docs/api.md"));
    assert!(
        code.contains("import") && code.contains("/predict"),
        "{code}"
    );
    let app = common::TestApp::new(Config::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(api::serve(listener, app.router.clone()));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.py"), &code).unwrap();
    let data = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/multipowerlaw/csv_25"
    );
    let run = tokio::process::Command::new("python3")
        .arg("example.py")
        .current_dir(dir.path())
        .env("CURVECAST_API", format!("http://{address}/api"))
        .env("CURVECAST_DATA", data)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("the example did not end in 600 s")
        .expect("python3 runs (cargo xtask test installs python3-requests)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // It printed the server's own forecast: the same number the API gives for that fit.
    let line = stdout
        .lines()
        .find(|l| l.contains("predicted loss at step"))
        .unwrap_or_else(|| panic!("no prediction printed: {stdout}"));
    let (head, loss) = line.rsplit_once(": ").unwrap();
    let printed: f64 = loss.parse().unwrap();
    let fit: i64 = head["fit ".len()..head.find(':').unwrap()].parse().unwrap();
    assert!(head.ends_with("step 23000"), "{line}");
    let request = Request::post(format!("/api/fits/{fit}/predict"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"schedule": "wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt", "every": 23000}"#,
        ))
        .unwrap();
    let (status, _, body) = common::send(&app.router, request).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let points: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let expected = points[0]["loss"].as_f64().unwrap();
    assert!(
        (printed - expected).abs() <= 5e-5,
        "printed {printed}, the API says {expected}"
    );
    // The WSD forecast of a cosine + constant fit is flagged, from the response header.
    assert!(
        stdout.contains(
            "warning (family_not_fitted): schedule family wsd-sqrt was never fitted (fitted: constant, cosine)"
        ),
        "{stdout}"
    );
    // A language-model loss at the end of the schedule, not garbage.
    assert!((2.0..4.0).contains(&printed), "{printed}");
    // And it wrote the CSV export.
    let csv = std::fs::read_to_string(dir.path().join("forecast.csv")).unwrap();
    assert!(csv.starts_with("run,step,loss,lower,upper"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + 23);
    server.abort();
}
