//! Harness of the end-to-end tests: a real curvecast server (in process, on a free
//! loopback port, with a fresh SQLite file and the built web app) and a real headless
//! Debian Chromium driven through chromedriver.
#![allow(dead_code)] // each test file uses a part of the harness

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use server::api::{self, Config};
use server::store::Store;
use thirtyfour::prelude::*;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The published multi-power-law runs of `../shared/data/multipowerlaw/csv_100` by name.
pub fn csv_100(names: &[&str]) -> Vec<PathBuf> {
    let dir = workspace_root().join("../shared/data/multipowerlaw/csv_100");
    names.iter().map(|n| dir.join(format!("{n}.csv"))).collect()
}

/// A server on a free port, serving `dist/`; stops with the test's runtime.
pub struct TestServer {
    pub url: String,
    _dir: tempfile::TempDir,
}

pub async fn start_server() -> TestServer {
    let dist = workspace_root().join("dist");
    assert!(
        dist.join("index.html").exists(),
        "no web app in {}: run `cargo xtask dist` first",
        dist.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("e2e.db")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = api::app(
        store,
        Config {
            dist: Some(dist),
            ..Config::default()
        },
    );
    tokio::spawn(async move { api::serve(listener, app).await.unwrap() });
    TestServer { url, _dir: dir }
}

/// chromedriver plus one headless Chromium session; both are killed on drop, even
/// when the test fails.
pub struct Browser {
    pub driver: WebDriver,
    /// Where the browser saves downloads (exports).
    pub downloads: PathBuf,
    chromedriver: Child,
    profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
        // Chromium outlives a killed chromedriver (it is not its child any more); its
        // processes are the ones started with this session's profile.
        let _ = Command::new("pkill")
            .args(["-KILL", "-f"])
            .arg(self.profile.path())
            .status();
    }
}

pub async fn start_browser() -> Browser {
    start_browser_with(&[]).await
}

/// A session with extra Chromium flags (a `--window-size=` replaces the default 1280x800).
pub async fn start_browser_with(extra: &[&str]) -> Browser {
    start_browser_opts(extra, None).await
}

/// A session whose page is `width` CSS px wide (chromedriver's device emulation; a
/// Chromium window cannot be narrower than 500 px).
pub async fn start_browser_narrow(width: u32) -> Browser {
    start_browser_opts(&[], Some(width)).await
}

async fn start_browser_opts(extra: &[&str], width: Option<u32>) -> Browser {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let chromedriver = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver missing: `cargo xtask test` installs Debian's chromium-driver");
    let profile = tempfile::tempdir().unwrap();
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary("/usr/bin/chromium").unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
    ] {
        caps.add_arg(arg).unwrap();
    }
    if !extra.iter().any(|a| a.starts_with("--window-size=")) {
        caps.add_arg("--window-size=1280,800").unwrap();
    }
    for arg in extra {
        caps.add_arg(arg).unwrap();
    }
    caps.add_arg(&format!("--user-data-dir={}", profile.path().display()))
        .unwrap();
    let downloads = profile.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    caps.add_experimental_option(
        "prefs",
        serde_json::json!({
            "download.default_directory": downloads.display().to_string(),
            "download.prompt_for_download": false,
        }),
    )
    .unwrap();
    if let Some(width) = width {
        caps.add_experimental_option(
            "mobileEmulation",
            serde_json::json!({ "deviceMetrics": { "width": width, "height": 800, "pixelRatio": 1.0, "mobile": false } }),
        )
        .unwrap();
    }
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let driver = loop {
        match WebDriver::new(&url, caps.clone()).await {
            Ok(driver) => break driver,
            Err(e) if Instant::now() > deadline => panic!("cannot start a Chromium session: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    Browser {
        driver,
        downloads,
        chromedriver,
        profile,
    }
}

impl Browser {
    /// Polls a JavaScript expression until it returns something other than null/false.
    pub async fn wait_for(&self, what: &str, script: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let value = self
                .driver
                .execute(script, vec![])
                .await
                .unwrap()
                .json()
                .clone();
            if !(value.is_null() || value == serde_json::Value::Bool(false)) {
                return value;
            }
            if Instant::now() > deadline {
                self.screenshot(&format!("timeout-{}", what.replace(' ', "-")))
                    .await;
                panic!("timed out waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Calls the API from the page (same origin) and returns the JSON answer.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        self.driver
            .execute(
                "const init = { method: arguments[1], headers: { 'content-type': 'application/json' } };
                 if (arguments[2] !== null) init.body = JSON.stringify(arguments[2]);
                 return fetch(arguments[0], init).then(r => r.json());",
                vec![serde_json::json!(path), serde_json::json!(method), body.unwrap_or(serde_json::Value::Null)],
            )
            .await
            .unwrap()
            .json()
            .clone()
    }

    /// Run ids by name, from the API.
    pub async fn run_ids(&self) -> std::collections::HashMap<String, i64> {
        let runs = self.api("GET", "/api/runs", None).await;
        runs.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap().to_string(),
                    r["id"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    /// Starts a fit through the API and waits (up to 5 minutes) until it is done.
    pub async fn fit_done(&self, request: serde_json::Value) -> serde_json::Value {
        let created = self.api("POST", "/api/fits", Some(request)).await;
        let id = created["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("fit refused: {created}"));
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let fit = self.api("GET", &format!("/api/fits/{id}"), None).await;
            match fit["status"].as_str() {
                Some("done") => return fit,
                Some("queued" | "running") if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                _ => panic!("fit {id} did not finish: {fit}"),
            }
        }
    }

    /// Waits for a finished download named `name` and returns its text.
    pub async fn downloaded(&self, name: &str) -> String {
        let path = self.downloads.join(name);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(&path)
                && !text.is_empty()
            {
                return text;
            }
            if Instant::now() > deadline {
                panic!("no download {name} in {}", self.downloads.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Picks `files` with the upload button of the Runs page and waits for the import.
    pub async fn upload(&self, base: &str, files: &[PathBuf]) {
        self.driver.goto(format!("{base}/runs")).await.unwrap();
        self.wait_for(
            "the upload button",
            "return document.getElementById('file-input') !== null",
        )
        .await;
        // chromedriver wants canonical paths (no `..`).
        let list: Vec<String> = files
            .iter()
            .map(|p| std::fs::canonicalize(p).unwrap().display().to_string())
            .collect();
        let input = self.driver.find(By::Id("file-input")).await.unwrap();
        input.send_keys(list.join("\n")).await.unwrap();
        self.import().await;
        self.wait_for(
            "the import",
            "const n = document.getElementById('upload-notes'); const e = document.getElementById('upload-error');
             if (e) return 'error: ' + e.innerText;
             return n && n.innerText.includes('Imported') ? n.innerText : null;",
        )
        .await;
    }

    /// Waits for the preview of picked files and clicks its Import button.
    pub async fn import(&self) {
        self.wait_for(
            "the preview",
            "const b = document.getElementById('import'); const e = document.getElementById('upload-error');
             if (e) return 'error: ' + e.innerText;
             return b && !b.disabled && document.querySelector('#preview .preview-file') !== null;",
        )
        .await;
        self.driver
            .find(By::Id("import"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Clicks the element `by` finds (the test fails if there is none).
    pub async fn click(&self, by: By) {
        self.driver.find(by).await.unwrap().click().await.unwrap();
    }

    /// Sets an input's value as if typed (fires `input` and `change`).
    pub async fn set_value(&self, id: &str, value: &str) {
        self.driver
            .execute(
                "const el = document.getElementById(arguments[0]);
                 el.value = arguments[1];
                 el.dispatchEvent(new Event('input', { bubbles: true }));
                 el.dispatchEvent(new Event('change', { bubbles: true }));",
                vec![serde_json::json!(id), serde_json::json!(value)],
            )
            .await
            .unwrap();
    }

    /// Saves what the user sees under `target/screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = workspace_root().join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        self.driver.screenshot(&path).await.unwrap();
        path
    }
}
