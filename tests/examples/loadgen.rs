//! Load generator for a running curvecast (127.0.0.1 only), bounded in time.
//!
//! ```sh
//! cargo run -p e2e --example loadgen -- --url http://127.0.0.1:8080 --clients 50 --seconds 60
//! ```
//!
//! With `--rate R` the clients are open-loop instead: together they send R requests per
//! second on a fixed schedule, and a latency counts from when its request was due (so a
//! server that falls behind is not hidden by clients that wait for it). Closed loop
//! measures the throughput at saturation; open loop the latency at a given load.
//!
//! Set-up: uploads three real curves (`../shared/data/multipowerlaw/csv_25`) and fits the
//! momentum law to them. Then `clients - 1` clients loop over a mix of requests (per 10:
//! 2 uploads of a fresh 200-point CSV, 3 listings, 5 predictions from the fit) while one
//! client keeps fits running (create a momentum fit with a 200-resample bootstrap, poll it
//! until it ends, again). Prints per request kind the count, throughput, p50/p99/max
//! latency and errors, then checks that every acknowledged upload is listed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Args {
    url: String,
    clients: usize,
    seconds: u64,
    token: Option<String>,
    /// Requests per second across all clients (open loop), or `None` (closed loop).
    rate: Option<f64>,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        url: "http://127.0.0.1:8080".into(),
        clients: 50,
        seconds: 60,
        token: std::env::var("CURVECAST_TOKEN").ok(),
        rate: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => args.url = value.trim_end_matches('/').to_string(),
            "--clients" => args.clients = value.parse().map_err(|e| format!("--clients: {e}"))?,
            "--seconds" => args.seconds = value.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--token" => args.token = Some(value),
            "--rate" => match value.parse() {
                Ok(r) if r > 0.0 => args.rate = Some(r),
                _ => {
                    return Err(format!(
                        "--rate: a number of requests per second > 0, not {value}"
                    ));
                }
            },
            _ => {
                return Err(format!(
                    "unknown flag {flag}: use --url, --clients, --seconds, --token, --rate"
                ));
            }
        }
    }
    let host = args
        .url
        .strip_prefix("http://")
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or_default();
    if !matches!(host, "127.0.0.1" | "localhost") {
        return Err(format!(
            "refusing to load {}: only http://127.0.0.1 targets",
            args.url
        ));
    }
    if args.clients < 2 || args.seconds == 0 || args.seconds > 600 {
        return Err("use --clients >= 2 and --seconds in 1..=600".into());
    }
    Ok(args)
}

/// (kind, latency, HTTP status or 0 for a transport error)
type Sample = (&'static str, Duration, u16);

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl Client {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.url));
        match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    }

    /// Sends, records the latency and status, returns the JSON body on success.
    async fn timed(
        &self,
        kind: &'static str,
        request: reqwest::RequestBuilder,
        log: &mut Vec<Sample>,
    ) -> Option<Value> {
        let start = Instant::now();
        let response = request.send().await;
        let (status, body) = match response {
            Ok(r) => {
                let status = r.status().as_u16();
                let body = r.bytes().await.ok();
                (status, body)
            }
            Err(_) => (0, None),
        };
        log.push((kind, start.elapsed(), status));
        if (200..300).contains(&status) {
            body.and_then(|b| serde_json::from_slice(&b).ok())
        } else {
            None
        }
    }

    async fn upload(&self, name: &str, bytes: Vec<u8>, log: &mut Vec<Sample>) -> Option<Value> {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
        self.timed(
            "upload",
            self.request(reqwest::Method::POST, "/api/runs")
                .multipart(form),
            log,
        )
        .await
    }
}

fn small_csv(seed: usize) -> Vec<u8> {
    let mut text = String::from("step,lr,loss\n");
    for i in 1..=200 {
        text.push_str(&format!(
            "{},3e-4,{}\n",
            i * 10,
            2.5 + 2.0 / (1.0 + i as f64 / 20.0) + seed as f64 * 1e-9
        ));
    }
    text.into_bytes()
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = args()?;
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?,
        url: args.url.clone(),
        token: args.token.clone(),
    };
    // Set-up: real curves and one fit to predict from.
    let mut setup = Vec::new();
    let mut runs = Vec::new();
    for file in ["cosine_24000.csv", "constant_24000.csv", "wsdcon_9.csv"] {
        let path = format!(
            "{}/../../shared/data/multipowerlaw/csv_25/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
        let body = client
            .upload(file, bytes, &mut setup)
            .await
            .ok_or(format!("set-up upload of {file} failed"))?;
        runs.push(body["runs"][0]["id"].as_i64().ok_or("no run id")?);
    }
    let fit_request = |bootstrap: usize| json!({"law": "momentum", "runs": runs, "options": {"bootstrap": bootstrap}});
    let fit = client
        .timed(
            "fit",
            client
                .request(reqwest::Method::POST, "/api/fits")
                .json(&fit_request(20)),
            &mut setup,
        )
        .await
        .ok_or("set-up fit refused")?;
    let fit_id = fit["id"].as_i64().ok_or("no fit id")?;
    loop {
        let f = client
            .timed(
                "poll",
                client.request(reqwest::Method::GET, &format!("/api/fits/{fit_id}")),
                &mut setup,
            )
            .await
            .ok_or("poll failed")?;
        match f["status"].as_str() {
            Some("done") => break,
            Some("queued" | "running") => tokio::time::sleep(Duration::from_millis(200)).await,
            other => return Err(format!("set-up fit ended {other:?}: {}", f["error"])),
        }
    }
    println!(
        "set-up: 3 runs, fit {fit_id}; {} clients for {} s against {}, {}",
        args.clients,
        args.seconds,
        args.url,
        match args.rate {
            Some(r) => format!("open loop at {r} req/s"),
            None => "closed loop".into(),
        }
    );

    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let fits_done = Arc::new(Mutex::new(0usize));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (client, acknowledged, fits_done) =
            (client.clone(), acknowledged.clone(), fits_done.clone());
        let fit_request = fit_request(200);
        let (rate, clients) = (args.rate, args.clients);
        tasks.push(tokio::spawn(async move {
            let mut log = Vec::new();
            let predict = json!({"schedule": "wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt", "every": 100});
            let mut k = 0usize;
            // Open loop: this client's share of the rate, its first request staggered.
            let interval = rate.map(|r| Duration::from_secs_f64((clients - 1) as f64 / r));
            let mut due = Instant::now() + interval.unwrap_or_default().mul_f64(c as f64 / clients as f64);
            while Instant::now() < deadline {
                k += 1;
                let lag = match interval {
                    Some(interval) if c != 0 => {
                        tokio::time::sleep_until(due.into()).await;
                        let lag = due.elapsed();
                        due += interval;
                        lag
                    }
                    _ => Duration::ZERO,
                };
                let before = log.len();
                if c == 0 {
                    // The fit client: one fit at a time, polled until it ends.
                    let Some(f) = client.timed("fit", client.request(reqwest::Method::POST, "/api/fits").json(&fit_request), &mut log).await else { continue };
                    let id = f["id"].as_i64().unwrap_or_default();
                    while Instant::now() < deadline {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                        let status = client.timed("poll", client.request(reqwest::Method::GET, &format!("/api/fits/{id}")), &mut log).await;
                        if status.as_ref().and_then(|s| s["status"].as_str()).is_some_and(|s| s != "queued" && s != "running") {
                            *fits_done.lock().unwrap() += 1;
                            break;
                        }
                    }
                    continue;
                }
                match k % 10 {
                    0 | 5 => {
                        let name = format!("load_{c}_{k}.csv");
                        if client.upload(&name, small_csv(c * 1_000_000 + k), &mut log).await.is_some() {
                            acknowledged.lock().unwrap().push(name);
                        }
                    }
                    1 | 4 | 7 => {
                        let path = if k % 20 == 1 { "/api/runs?q=load_1_&has_lr=true" } else { "/api/runs" };
                        client.timed("list", client.request(reqwest::Method::GET, path), &mut log).await;
                    }
                    _ => {
                        let request = client.request(reqwest::Method::POST, &format!("/api/fits/{fit_id}/predict")).json(&predict);
                        client.timed("predict", request, &mut log).await;
                    }
                }
                // A request that went out late counts its wait.
                for sample in &mut log[before..] {
                    sample.1 += lag;
                }
            }
            log
        }));
    }
    let mut samples: Vec<Sample> = Vec::new();
    for task in tasks {
        samples.extend(task.await.map_err(|e| e.to_string())?);
    }
    let elapsed = started.elapsed().as_secs_f64();

    let mut kinds: BTreeMap<&str, Vec<&Sample>> = BTreeMap::new();
    for s in &samples {
        kinds.entry(s.0).or_default().push(s);
    }
    println!(
        "{:<8} {:>7} {:>8} {:>9} {:>9} {:>9} {:>7} {:>5}",
        "kind", "count", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "5xx"
    );
    for (kind, list) in &kinds {
        let mut latencies: Vec<Duration> = list.iter().map(|s| s.1).collect();
        latencies.sort();
        let errors = list.iter().filter(|s| !(200..300).contains(&s.2)).count();
        let server_errors = list.iter().filter(|s| s.2 >= 500 || s.2 == 0).count();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{kind:<8} {:>7} {:>8.1} {:>9.1} {:>9.1} {:>9.1} {errors:>7} {server_errors:>5}",
            list.len(),
            list.len() as f64 / elapsed,
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
            ms(*latencies.last().unwrap()),
        );
    }
    let errors = samples
        .iter()
        .filter(|s| !(200..300).contains(&s.2))
        .count();
    println!(
        "total    {:>7} {:>8.1} req/s over {elapsed:.1} s; errors {errors}; fits finished meanwhile {}",
        samples.len(),
        samples.len() as f64 / elapsed,
        fits_done.lock().unwrap()
    );

    // No lost upload: every acknowledged file is listed.
    let listed: Vec<Value> = client
        .request(reqwest::Method::GET, "/api/runs")
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let names: std::collections::HashSet<&str> = listed
        .iter()
        .filter_map(|r| r["file_name"].as_str())
        .collect();
    let acknowledged = acknowledged.lock().unwrap();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|n| !names.contains(n.as_str()))
        .collect();
    println!(
        "uploads acknowledged {}, listed afterwards {}, lost {}",
        acknowledged.len(),
        acknowledged.len() - lost.len(),
        lost.len()
    );
    if lost.is_empty() && errors == 0 {
        Ok(())
    } else {
        Err(format!("{} errors, {} lost uploads", errors, lost.len()))
    }
}
