//! Issue 19's property test: generated hostile runs (extreme, negative, huge, non-finite
//! and repeated steps and values; odd schedules) driven through a real `curvecast serve`
//! process over HTTP: upload, fit, predict. After every case the process must be alive,
//! no answer may be a 5xx, and its resident memory must stay under [`MAX_RSS_BYTES`]; at
//! the end every acknowledged upload must read back exactly as it did when stored.
//!
//! The test command runs [`DEFAULT_CASES`] cases; the long run is a benchmark:
//! `CURVECAST_HOSTILE_CASES=1000 cargo test -p server --test hostile_property -- --nocapture`.

use std::net::TcpListener;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use reqwest::blocking::{Client, multipart};
use serde_json::{Value, json};

const DEFAULT_CASES: u32 = 24;
const MAX_RSS_BYTES: u64 = 1 << 30;
/// Longest a generated fit may stay queued or running before the case fails.
const FIT_DEADLINE: Duration = Duration::from_secs(120);

struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_curvecast"))
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .args(["--dist", "/nonexistent", "--db"])
            .arg(dir.path().join("hostile.db"))
            .env_remove("CURVECAST_TOKEN")
            .env("RUST_LOG", "warn")
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}/api"),
            _dir: dir,
        }
    }

    /// Alive, and under the memory bound.
    fn check_health(&mut self) -> Result<(), TestCaseError> {
        if let Some(status) = self.child.try_wait().unwrap() {
            return Err(TestCaseError::fail(format!("the server died: {status}")));
        }
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let rss_kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        prop_assert!(
            rss_kib * 1024 < MAX_RSS_BYTES,
            "resident memory {} MiB",
            rss_kib / 1024
        );
        Ok(())
    }
}

/// One generated run and what to do with it.
#[derive(Clone, Debug)]
struct HostileRun {
    steps: Vec<f64>,
    loss: Vec<f64>,
    lr: Vec<f64>,
    as_json: bool,
    schedule: Option<String>,
    predict: String,
    every: i64,
}

/// Values a run may carry: `hostile` adds ones the server must refuse (negative,
/// non-finite, fractional, beyond the limits); otherwise only extreme but valid ones.
fn step(hostile: bool) -> BoxedStrategy<f64> {
    let valid = prop_oneof![
        6 => (0u32..2_000).prop_map(f64::from),
        2 => (0u32..50).prop_map(f64::from), // repeats
        1 => prop::sample::select(vec![0.0, 1e6, 5e6, 9_999_999.0, 10_000_000.0]),
    ];
    if !hostile {
        return valid.boxed();
    }
    prop_oneof![
        4 => valid,
        1 => prop::sample::select(vec![
            1e12, 1e20, -8.0, 2.5, f64::NAN, f64::INFINITY, 9.007e15, 10_000_001.0, -0.0,
        ]),
    ]
    .boxed()
}

fn loss(hostile: bool) -> BoxedStrategy<f64> {
    let valid = prop_oneof![
        8 => 0.5f64..10.0,
        1 => prop::sample::select(vec![1e-300, 5e-324, 1e5, 999_999.0]),
    ];
    if !hostile {
        return valid.boxed();
    }
    prop_oneof![
        4 => valid,
        1 => prop::sample::select(vec![
            -5.0, 0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e308, -1e308, 2e6,
        ]),
    ]
    .boxed()
}

fn lr(hostile: bool) -> BoxedStrategy<f64> {
    let valid = prop_oneof![
        8 => 0.0f64..1e-2,
        1 => prop::sample::select(vec![0.0, 1e-300, 50.0, 100.0]),
    ];
    if !hostile {
        return valid.boxed();
    }
    prop_oneof![
        4 => valid,
        1 => prop::sample::select(vec![-1.0, f64::NAN, 1e300, 1e5, f64::INFINITY]),
    ]
    .boxed()
}

fn schedule_text() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "constant:peak=3e-4,total=2000",
        "cosine:peak=3e-4,final=3e-5,warmup=100,total=2000",
        "wsd:peak=3e-4,warmup=100,total=2000,decay=0.2,shape=sqrt",
        "cosine:peak=3e-4,total=1000000000000",
        "constant:peak=1e300,total=1000",
        "constant:peak=-1,total=1000",
        "constant:peak=3e-4,total=0",
        "wsd:peak=3e-4,warmup=5000,total=100,decay=2",
        "linear:peak=nan,total=100",
        "constant:peak=3e-4,total=18446744073709551615",
    ])
    .prop_map(String::from)
}

/// Half the runs carry values to refuse; the other half are valid but extreme, so that
/// fits and predictions run on them too.
fn hostile_run() -> impl Strategy<Value = HostileRun> {
    (1usize..40, any::<bool>()).prop_flat_map(|(n, hostile)| {
        (
            prop::collection::vec(step(hostile), n),
            prop::collection::vec(loss(hostile), n),
            prop::collection::vec(lr(hostile), n),
            any::<bool>(),
            prop::option::of(schedule_text()),
            schedule_text(),
            prop::sample::select(vec![-1i64, 0, 1, 7, 100, 1 << 40]),
        )
            .prop_map(
                move |(mut steps, loss, lr, as_json, schedule, predict, every)| {
                    if !hostile {
                        // A valid run's steps increase, as JSON points must (a file may
                        // repeat and reorder them: it is sorted and de-duplicated).
                        steps.sort_by(f64::total_cmp);
                        steps.dedup();
                    }
                    let n = steps.len();
                    HostileRun {
                        steps,
                        loss: loss[..n].to_vec(),
                        lr: lr[..n].to_vec(),
                        as_json,
                        schedule,
                        predict,
                        every,
                    }
                },
            )
    })
}

fn csv_of(run: &HostileRun) -> Vec<u8> {
    let mut text = String::from("step,loss,lr\n");
    for ((s, l), r) in run.steps.iter().zip(&run.loss).zip(&run.lr) {
        text.push_str(&format!("{s},{l},{r}\n"));
    }
    text.into_bytes()
}

/// The JSON points body; non-finite numbers become `null` (JSON has no NaN).
fn json_of(run: &HostileRun) -> String {
    json!({
        "name": "hostile",
        "points": {
            "loss": {"steps": run.steps, "values": run.loss},
            "lr": {"steps": run.steps, "values": run.lr},
        }
    })
    .to_string()
}

/// Fails the case on a failed exchange (the server died or hung up), on any 5xx, or on
/// an error answer that is not the documented JSON error.
fn no_server_error(
    what: &str,
    response: reqwest::Result<reqwest::blocking::Response>,
) -> Result<(u16, Value), TestCaseError> {
    let response = response.map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?;
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    prop_assert!(status < 500, "{what}: {status} {text}");
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status >= 400 {
        prop_assert!(
            value["error"]["code"].is_string(),
            "{what}: {status} is not the JSON error: {text}"
        );
    }
    Ok((status, value))
}

fn run_case(
    server: &mut Server,
    client: &Client,
    kept: &mut Vec<(i64, Value)>,
    run: &HostileRun,
) -> Result<(), TestCaseError> {
    let url = server.url.clone();
    let upload = if run.as_json {
        client
            .post(format!("{url}/runs"))
            .header("content-type", "application/json")
            .body(json_of(run))
    } else {
        let part = multipart::Part::bytes(csv_of(run)).file_name("hostile.csv");
        client
            .post(format!("{url}/runs"))
            .multipart(multipart::Form::new().part("file", part))
    };
    let (status, body) = no_server_error("upload", upload.send())?;
    server.check_health()?;
    if status != 201 {
        return Ok(());
    }
    let id = body["runs"][0]["id"].as_i64().unwrap();
    let (_, stored) = no_server_error("get run", client.get(format!("{url}/runs/{id}")).send())?;
    kept.push((id, stored));

    let mut options = json!({"bootstrap": 0});
    if let Some(schedule) = &run.schedule {
        options["schedules"] = json!({ id.to_string(): schedule });
    }
    let fit = client
        .post(format!("{url}/fits"))
        .json(&json!({"law": "momentum", "runs": [id], "options": options}))
        .send();
    let (status, body) = no_server_error("fit", fit)?;
    server.check_health()?;
    if status != 202 {
        return Ok(());
    }
    let fit_id = body["id"].as_i64().unwrap();
    let deadline = Instant::now() + FIT_DEADLINE;
    loop {
        let (_, fit) = no_server_error("poll", client.get(format!("{url}/fits/{fit_id}")).send())?;
        server.check_health()?;
        match fit["status"].as_str() {
            Some("queued" | "running") => {
                prop_assert!(Instant::now() < deadline, "fit {fit_id} still running");
                std::thread::sleep(Duration::from_millis(50));
            }
            Some("done") => break,
            _ => return Ok(()),
        }
    }
    let predict = client
        .post(format!("{url}/fits/{fit_id}/predict"))
        .json(&json!({"schedule": run.predict, "every": run.every}))
        .send();
    no_server_error("predict", predict)?;
    server.check_health()
}

#[test]
fn hostile_runs_never_hurt_the_server() {
    let cases = std::env::var("CURVECAST_HOSTILE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let server = std::cell::RefCell::new(Server::start());
    let client = Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let kept = std::cell::RefCell::new(Vec::new());
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        // The server is one process with state: shrinking against it (perhaps dead)
        // would mislead. The failing case is printed whole instead.
        max_shrink_iters: 0,
        ..ProptestConfig::default()
    });
    let started = Instant::now();
    let result = runner.run(&hostile_run(), |run| {
        let outcome = run_case(
            &mut server.borrow_mut(),
            &client,
            &mut kept.borrow_mut(),
            &run,
        );
        // The exchange that failed may have been the one that killed the server.
        outcome.and_then(|()| server.borrow_mut().check_health())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Every acknowledged upload reads back as it was stored.
    let (server, kept) = (server.into_inner(), kept.into_inner());
    for (id, stored) in &kept {
        let now: Value = client
            .get(format!("{}/runs/{id}", server.url))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(&now, stored, "run {id} changed");
    }
    eprintln!(
        "{cases} hostile cases in {:.1} s: {} uploads acknowledged, the server alive",
        started.elapsed().as_secs_f64(),
        kept.len()
    );
}
