//! Peak resident memory of a real `curvecast serve` while many maximum-size uploads
//! arrive at once (issue 19: "peak RSS with 16 concurrent maximum-size uploads").
//!
//! ```sh
//! cargo build --all-targets && $CARGO_TARGET_DIR/debug/examples/upload_rss --uploads 16
//! ```
//!
//! Starts the `curvecast` built beside this example on a loopback port with a fresh
//! database and `--max-upload-mib` (default: the server's default), sends `--uploads`
//! CSV files of that size at once (each a long run of `step,loss,lr,grad_norm` rows), and
//! prints how each was answered, how long it took, and the server's peak resident memory
//! (`VmHWM` of `/proc/PID/status`). Bounded: every request has a time limit, and the
//! server is killed at the end.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Args {
    uploads: usize,
    mib: Option<usize>,
}

fn parse_args() -> Args {
    let mut args = Args {
        uploads: 16,
        mib: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--uploads" => args.uploads = value.parse().expect("--uploads N"),
            "--max-upload-mib" => args.mib = Some(value.parse().expect("--max-upload-mib N")),
            _ => {
                eprintln!("usage: upload_rss [--uploads N] [--max-upload-mib MIB]");
                std::process::exit(2)
            }
        }
    }
    args
}

/// The `curvecast` binary built beside this example (`target/debug/examples/..`).
fn curvecast() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    let debug = exe.parent().and_then(|p| p.parent()).expect("target/debug");
    debug.join("curvecast")
}

/// A CSV of one run just under `bytes` long, with at most `max_rows` rows.
fn csv_of(bytes: usize, max_rows: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes);
    out.extend_from_slice(b"step,loss,lr,grad_norm\n");
    let mut step = 0usize;
    loop {
        let loss = 2.0 + 8.0 / (1.0 + step as f64 / 1000.0).sqrt();
        let row = format!(
            "{step},{loss:.15},0.000299999999999,{:.15}\n",
            1.0 + loss / 7.0
        );
        if out.len() + row.len() > bytes - 1024 || step + 1 >= max_rows {
            break;
        }
        out.extend_from_slice(row.as_bytes());
        step += 1;
    }
    out
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn main() {
    let args = parse_args();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut server = Command::new(curvecast());
    server
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .args(["--dist", "/nonexistent", "--db"])
        .arg(dir.path().join("rss.db"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null());
    if let Some(mib) = args.mib {
        server.args(["--max-upload-mib", &mib.to_string()]);
    }
    let mut server = server.spawn().expect("start curvecast serve");
    let url = format!("http://127.0.0.1:{port}/api");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let baseline = peak_rss_mib(server.id());
    let limit_mib = args
        .mib
        .unwrap_or(server::api::Config::default().max_upload_bytes >> 20);
    // The multipart framing adds a few hundred bytes: stay just under the limit.
    let body = csv_of(limit_mib << 20, server::ingest::Limits::default().max_rows);
    println!(
        "{} uploads of {:.1} MiB each (limit {limit_mib} MiB), baseline RSS {baseline:.0} MiB",
        args.uploads,
        body.len() as f64 / 1048576.0
    );
    let started = Instant::now();
    let answers: Vec<(u16, f64, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..args.uploads)
            .map(|i| {
                let body = body.clone();
                let url = url.clone();
                scope.spawn(move || {
                    let client = reqwest::blocking::Client::builder()
                        .timeout(Duration::from_secs(600))
                        .build()
                        .expect("client");
                    let part = reqwest::blocking::multipart::Part::bytes(body)
                        .file_name(format!("big_{i}.csv"));
                    let t = Instant::now();
                    match client
                        .post(format!("{url}/runs"))
                        .multipart(reqwest::blocking::multipart::Form::new().part("file", part))
                        .send()
                    {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let text = r.text().unwrap_or_default();
                            (
                                status,
                                t.elapsed().as_secs_f64(),
                                text.chars().take(160).collect(),
                            )
                        }
                        Err(e) => (0, t.elapsed().as_secs_f64(), e.to_string()),
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("upload thread"))
            .collect()
    });
    let peak = peak_rss_mib(server.id());
    let alive = server.try_wait().ok().flatten().is_none();
    let _ = server.kill();
    let _ = server.wait();
    let mut out = std::io::stdout().lock();
    for (i, (status, seconds, text)) in answers.iter().enumerate() {
        let text = if *status == 201 { "" } else { text.as_str() };
        let _ = writeln!(out, "upload {i:2}: {status} after {seconds:6.1} s {text}");
    }
    let count = |s: u16| answers.iter().filter(|a| a.0 == s).count();
    let _ = writeln!(
        out,
        "201: {}, 503: {}, other: {}; {:.1} s in all; peak RSS {peak:.0} MiB; server alive: {alive}",
        count(201),
        count(503),
        answers.len() - count(201) - count(503),
        started.elapsed().as_secs_f64(),
    );
}
