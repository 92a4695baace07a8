//! A real `curvecast serve` process: runs uploaded over HTTP survive a restart.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use shared::api::RunSummary;

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db: &Path) -> Server {
    start_with(db, &[])
}

fn list(server: &Server) -> Vec<RunSummary> {
    reqwest::blocking::get(format!("{}/api/runs", server.url))
        .unwrap()
        .json()
        .unwrap()
}

#[test]
fn runs_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let server = start(&db);
    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(b"step,loss\n10,4.0\n20,3.5\n".to_vec())
            .file_name("kept.csv"),
    );
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/api/runs", server.url))
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    let before = list(&server);
    assert_eq!(before.len(), 1);
    drop(server);

    let server = start(&db);
    assert_eq!(list(&server), before);
}

/// Starts `curvecast serve` with extra flags; ready once its port accepts connections
/// (so also when every request needs a token).
fn start_with(db: &Path, extra: &[&str]) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_curvecast"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--dist",
            "/nonexistent",
        ])
        .args(extra)
        .arg("--db")
        .arg(db)
        .env_remove("CURVECAST_TOKEN")
        .spawn()
        .unwrap();
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the server did not start within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// A CSV of one run with `rows` points, distinct per `seed`.
fn run_csv(seed: usize, rows: usize) -> Vec<u8> {
    let mut text = String::from("step,lr,loss\n");
    for i in 1..=rows {
        let loss = 2.0 + 3.0 / (1.0 + i as f64 / 100.0) + seed as f64 * 1e-6;
        text.push_str(&format!("{i},3e-4,{loss}\n"));
    }
    text.into_bytes()
}

fn upload_csv(
    client: &reqwest::blocking::Client,
    url: &str,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Result<reqwest::blocking::Response> {
    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    client
        .post(format!("{url}/api/runs"))
        .multipart(form)
        .send()
}

#[test]
fn kill_9_during_uploads_and_a_fit_loses_no_acknowledged_upload() {
    const ROWS: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut server = start_with(&db, &[]);
    let client = reqwest::blocking::Client::new();
    // A long fit in flight: a big bootstrap on two real curves.
    let data = |f: &str| {
        std::fs::read(format!(
            "{}/../../shared/data/multipowerlaw/csv_25/{f}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let mut ids = Vec::new();
    for f in ["cosine_24000.csv", "constant_24000.csv"] {
        let response = upload_csv(&client, &server.url, f, data(f)).unwrap();
        assert_eq!(response.status(), 201);
        let body: serde_json::Value = response.json().unwrap();
        ids.push(body["runs"][0]["id"].as_i64().unwrap());
    }
    let fit: serde_json::Value = client
        .post(format!("{}/api/fits", server.url))
        .json(&serde_json::json!({"law": "momentum", "runs": ids, "options": {"bootstrap": 5000}}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let fit_id = fit["id"].as_i64().unwrap();

    // Four clients upload as fast as they can; each acknowledged (201) file is noted.
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (url, acknowledged) = (server.url.clone(), acknowledged.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                for k in 0.. {
                    let name = format!("crash_{t}_{k}.csv");
                    match upload_csv(&client, &url, &name, run_csv(t * 1000 + k, ROWS)) {
                        Ok(r) if r.status() == 201 => acknowledged.lock().unwrap().push(name),
                        Ok(r) => panic!("upload {name}: {}", r.status()),
                        Err(_) => return, // the server is gone
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(2500));
    let status: serde_json::Value = client
        .get(format!("{}/api/fits/{fit_id}", server.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        matches!(status["status"].as_str(), Some("queued" | "running")),
        "the fit ended before the kill: {status}"
    );
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for t in threads {
        t.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 4,
        "only {} uploads before the kill",
        acknowledged.len()
    );

    let server = start_with(&db, &[]);
    let runs = list(&server);
    for name in &acknowledged {
        assert!(
            runs.iter().any(|r| &r.file_name == name),
            "acknowledged upload {name} lost"
        );
    }
    // No half-written run: every stored run has all its points, in every series.
    for run in runs.iter().filter(|r| r.file_name.starts_with("crash_")) {
        let detail: shared::api::RunDetail =
            reqwest::blocking::get(format!("{}/api/runs/{}", server.url, run.id))
                .unwrap()
                .json()
                .unwrap();
        assert_eq!(run.n_points as usize, ROWS, "{}", run.file_name);
        for (series, points) in &detail.points {
            assert_eq!(
                (points.steps.len(), points.values.len()),
                (ROWS, ROWS),
                "{} {series}",
                run.file_name
            );
        }
    }
    let fit: serde_json::Value =
        reqwest::blocking::get(format!("{}/api/fits/{fit_id}", server.url))
            .unwrap()
            .json()
            .unwrap();
    assert_eq!(fit["status"], "failed", "{fit}");
    assert!(
        fit["error"].as_str().unwrap().contains("interrupted"),
        "{fit}"
    );
}

#[test]
fn a_token_is_required_off_loopback_and_then_on_every_api_request() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_curvecast"))
        .args([
            "serve",
            "--addr",
            "0.0.0.0:0",
            "--dist",
            "/nonexistent",
            "--db",
        ])
        .arg(dir.path().join("t.db"))
        .env_remove("CURVECAST_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("without an access token"),
        "{stderr}"
    );
    // Off loopback a guessable token is refused too (issue 19).
    let output = Command::new(env!("CARGO_BIN_EXE_curvecast"))
        .args(["serve", "--addr", "0.0.0.0:0", "--dist", "/nonexistent"])
        .args(["--token", "x", "--db"])
        .arg(dir.path().join("t.db"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("a token of 1 characters"),
        "{stderr}"
    );

    let server = start_with(&dir.path().join("t.db"), &["--token", "tok-123"]);
    let client = reqwest::blocking::Client::new();
    let health = format!("{}/api/health", server.url);
    assert_eq!(client.get(&health).send().unwrap().status(), 401);
    assert_eq!(
        client
            .get(&health)
            .bearer_auth("tok-12")
            .send()
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        client
            .get(&health)
            .bearer_auth("tok-123")
            .send()
            .unwrap()
            .status(),
        200
    );
    // HTTP auth schemes are case-insensitive.
    assert_eq!(
        client
            .get(&health)
            .header("authorization", "bearer tok-123")
            .send()
            .unwrap()
            .status(),
        200
    );
}

/// `curvecast serve` started from an empty folder serves the web app built into the binary
/// (issue 16): the page, its wasm with the right type, and the app's own routes.
#[test]
fn serve_from_an_empty_folder_serves_the_web_app() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_curvecast"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env_remove("CURVECAST_TOKEN")
        .env_remove("CURVECAST_DB")
        .env_remove("DATABASE_URL")
        .spawn()
        .unwrap();
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let get = |path: &str| reqwest::blocking::get(format!("{}{path}", server.url)).unwrap();
    let page = get("/");
    assert_eq!(
        page.status(),
        200,
        "no web app: the binary carries one when built with CURVECAST_EMBED_DIST (as `cargo xtask test` builds it)"
    );
    assert!(page.text().unwrap().contains("app.js"));
    let wasm = get("/pkg/app_bg.wasm");
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert!(wasm.bytes().unwrap().starts_with(b"\0asm"));
    assert!(get("/fits/7").text().unwrap().contains("app.js"));
    assert_eq!(get("/api/health").status(), 200);
    // The database was created in the folder it was started from.
    assert!(dir.path().join("curvecast.db").exists());
}
