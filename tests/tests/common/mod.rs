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
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A server on a free port, serving `dist/`; stops with the test's runtime.
pub struct TestServer {
    pub url: String,
    _dir: tempfile::TempDir,
}

pub async fn start_server() -> TestServer {
    let dist = workspace_root().join("dist");
    assert!(dist.join("index.html").exists(), "no web app in {}: run `cargo xtask dist` first", dist.display());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("e2e.db")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = api::app(store, Config { dist: Some(dist), ..Config::default() });
    tokio::spawn(async move { api::serve(listener, app).await.unwrap() });
    TestServer { url, _dir: dir }
}

/// chromedriver plus one headless Chromium session; both are killed on drop, even
/// when the test fails.
pub struct Browser {
    pub driver: WebDriver,
    chromedriver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

pub async fn start_browser() -> Browser {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
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
        "--window-size=1280,800",
    ] {
        caps.add_arg(arg).unwrap();
    }
    caps.add_arg(&format!("--user-data-dir={}", profile.path().display())).unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let driver = loop {
        match WebDriver::new(&url, caps.clone()).await {
            Ok(driver) => break driver,
            Err(e) if Instant::now() > deadline => panic!("cannot start a Chromium session: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    Browser { driver, chromedriver, _profile: profile }
}

impl Browser {
    /// Polls a JavaScript expression until it returns something other than null/false.
    pub async fn wait_for(&self, what: &str, script: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let value = self.driver.execute(script, vec![]).await.unwrap().json().clone();
            if !(value.is_null() || value == serde_json::Value::Bool(false)) {
                return value;
            }
            if Instant::now() > deadline {
                self.screenshot(&format!("timeout-{}", what.replace(' ', "-"))).await;
                panic!("timed out waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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
