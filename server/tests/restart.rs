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
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_curvecast"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--dist", "/nonexistent"])
        .arg("--db")
        .arg(db)
        .spawn()
        .unwrap();
    let server = Server { child, url: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::blocking::get(format!("{}/api/health", server.url)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

fn list(server: &Server) -> Vec<RunSummary> {
    reqwest::blocking::get(format!("{}/api/runs", server.url)).unwrap().json().unwrap()
}

#[test]
fn runs_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let server = start(&db);
    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(b"step,loss\n10,4.0\n20,3.5\n".to_vec()).file_name("kept.csv"),
    );
    let response = reqwest::blocking::Client::new().post(format!("{}/api/runs", server.url)).multipart(form).send().unwrap();
    assert_eq!(response.status(), 201);
    let before = list(&server);
    assert_eq!(before.len(), 1);
    drop(server);

    let server = start(&db);
    assert_eq!(list(&server), before);
}
