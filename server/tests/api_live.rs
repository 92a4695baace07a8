//! Every endpoint, in process (`oneshot`) and over a real listening server: one session
//! that uses each documented operation, including the error cases users meet (malformed
//! JSON, unknown law, a run without LR for a schedule law, a fit on too few points, a
//! prediction for a deleted fit, an oversized upload, a cancelled job), then checks
//! against the OpenAPI document that no operation was left out.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};
use server::api::Config;
use shared::api::{FitDetail, FitStatus};

mod common;
use common::TestApp;

/// The app and the (method, path) of every request sent to it.
struct Session {
    app: TestApp,
    sent: BTreeSet<(String, String)>,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts an error answer: its status and `error.code`.
    fn error(&self, status: StatusCode, code: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
        body["error"].clone()
    }
}

impl Session {
    fn new(config: Config) -> Self {
        Self {
            app: TestApp::new(config),
            sent: BTreeSet::new(),
        }
    }

    async fn send(&mut self, request: Request<Body>) -> Answer {
        self.sent.insert((
            request.method().as_str().to_lowercase(),
            request.uri().path().to_string(),
        ));
        let (status, headers, body) = common::send(&self.app.router, request).await;
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&mut self, uri: &str) -> Answer {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    async fn json(&mut self, method: &str, uri: &str, body: impl Into<String>) -> Answer {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.into()))
            .unwrap();
        self.send(request).await
    }

    async fn files(&mut self, uri: &str, files: &[(&str, Vec<u8>)]) -> Answer {
        self.send(common::multipart(uri, files, None)).await
    }

    async fn wait_ended(&mut self, id: i64) -> FitDetail {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let answer = self.get(&format!("/api/fits/{id}")).await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
            let fit: FitDetail = serde_json::from_slice(&answer.body).unwrap();
            if !matches!(fit.summary.status, FitStatus::Queued | FitStatus::Running) {
                return fit;
            }
            assert!(Instant::now() < deadline, "fit {id} did not end in 300 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn data(file: &str) -> (&str, Vec<u8>) {
    let path = format!(
        "{}/../../shared/data/multipowerlaw/csv_25/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    (file, std::fs::read(path).unwrap())
}

/// Does a documented path template (`/api/fits/{id}`) match a sent path?
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()))
}

async fn session() {
    let mut s = Session::new(Config::default());
    let transport = common::transport();

    let answer = s.get("/api/health").await;
    assert_eq!(
        (answer.status, &answer.json()["status"]),
        (StatusCode::OK, &json!("ok"))
    );
    let doc = s.get("/api/openapi.json").await.json();

    // Runs: preview, upload (files and JSON points), list, get, rename.
    let answer = s
        .files("/api/runs/preview", &[data("cosine_24000.csv")])
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(
        answer.json()["files"][0]["runs"].as_array().unwrap().len(),
        1
    );
    let answer = s
        .files(
            "/api/runs",
            &[data("cosine_24000.csv"), data("constant_24000.csv")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    let runs: Vec<i64> = answer.json()["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    let answer = s
        .json(
            "POST",
            "/api/runs",
            json!({"name": "short", "points": {"loss": {"steps": [1, 2, 3], "values": [4.0, 3.9, 3.7]}}})
                .to_string(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    let short = answer.json()["runs"][0]["id"].as_i64().unwrap();
    let answer = s.get("/api/runs?q=cosine&has_lr=true").await;
    assert_eq!(answer.json().as_array().unwrap().len(), 1);
    s.get("/api/runs?colour=red")
        .await
        .error(StatusCode::BAD_REQUEST, "invalid_query");
    // Pages of one run, followed by their `Link: <...>; rel="next"`, list every run once,
    // in id order, and keep the filter.
    let all: Vec<i64> = s
        .get("/api/runs")
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(all.len(), 3);
    let (mut paged, mut next) = (Vec::new(), Some("/api/runs?limit=1".to_string()));
    while let Some(uri) = next.take() {
        let answer = s.get(&uri).await;
        let page = answer.json();
        assert_eq!(page.as_array().unwrap().len(), 1, "{uri}: {page}");
        paged.push(page[0]["id"].as_i64().unwrap());
        next = answer.headers.get(header::LINK).map(|link| {
            let link = link.to_str().unwrap();
            assert!(link.ends_with(">; rel=\"next\""), "{link}");
            link[1..link.find('>').unwrap()].to_string()
        });
    }
    assert_eq!(paged, all);
    let answer = s.get("/api/runs?has_lr=true&limit=1").await;
    let link = answer.headers[header::LINK].to_str().unwrap().to_string();
    assert!(
        link.contains("has_lr=true") && link.contains(&format!("after={}", all[0])),
        "{link}"
    );
    let answer = s.get(&link[1..link.find('>').unwrap()]).await;
    assert_eq!(answer.json().as_array().unwrap().len(), 1);
    assert!(
        answer.headers.get(header::LINK).is_none(),
        "two runs have an LR"
    );
    s.get("/api/runs?limit=0")
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    let answer = s.get(&format!("/api/runs/{}", runs[0])).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.json()["points"]["lr"]["values"]
            .as_array()
            .unwrap()
            .len()
            > 100
    );
    let answer = s
        .json(
            "PATCH",
            &format!("/api/runs/{short}"),
            r#"{"name": "three points"}"#,
        )
        .await;
    assert_eq!(answer.json()["name"], "three points", "{}", answer.text());
    // A mapping re-reads a file, but a run sent as points has no file to re-read.
    s.json(
        "PATCH",
        &format!("/api/runs/{short}"),
        r#"{"mapping": {"loss_col": ["loss"]}}"#,
    )
    .await
    .error(StatusCode::UNPROCESSABLE_ENTITY, "not_a_file");

    // Fit requests refused at once.
    s.json("POST", "/api/fits", "{\"law\": \"momentum\", \"runs\": [")
        .await
        .error(StatusCode::BAD_REQUEST, "invalid_json");
    let error = s
        .json(
            "POST",
            "/api/fits",
            json!({"law": "kaplan-xyz", "runs": runs}).to_string(),
        )
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_fit_request");
    assert!(
        error["message"].as_str().unwrap().contains("kaplan-xyz"),
        "{error}"
    );
    let error = s
        .json(
            "POST",
            "/api/fits",
            json!({"law": "momentum", "runs": [short]}).to_string(),
        )
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_fit_request");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no learning rate"),
        "{error}"
    );

    // Too few points: accepted as a job, which fails saying why.
    let answer = s
        .json(
            "POST",
            "/api/fits",
            json!({"law": "momentum", "runs": [short],
                   "options": {"schedules": {short.to_string(): "constant:peak=1e-3,total=10"}}})
            .to_string(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text());
    let few = answer.json()["id"].as_i64().unwrap();
    let fit = s.wait_ended(few).await;
    assert_eq!(fit.summary.status, FitStatus::Failed);
    assert!(fit.summary.error.unwrap().contains("cannot determine"));

    // A fit, and a second one cancelled while it waits behind the first.
    let request = json!({"law": "momentum", "runs": runs, "options": {"bootstrap": 10}});
    let answer = s.json("POST", "/api/fits", request.to_string()).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text());
    let fit = answer.json()["id"].as_i64().unwrap();
    assert_eq!(answer.headers[header::LOCATION], format!("/api/fits/{fit}"));
    let queued = s
        .json("POST", "/api/fits", request.to_string())
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let answer = s
        .json("POST", &format!("/api/fits/{queued}/cancel"), "")
        .await;
    assert_eq!(answer.json()["status"], "cancelled", "{}", answer.text());
    let answer = s.get(&format!("/api/fits/{fit}/events")).await;
    assert_eq!(answer.headers[header::CONTENT_TYPE], "text/event-stream");
    assert!(answer.text().contains("event: done"), "{}", answer.text());
    assert_eq!(s.wait_ended(fit).await.summary.status, FitStatus::Done);
    assert_eq!(
        s.wait_ended(queued).await.summary.status,
        FitStatus::Cancelled
    );
    s.json(
        "POST",
        &format!("/api/fits/{queued}/predict"),
        r#"{"schedule": "constant:peak=3e-4,total=1000"}"#,
    )
    .await
    .error(StatusCode::CONFLICT, "fit_not_done");
    let answer = s.get("/api/fits").await;
    assert_eq!(answer.json().as_array().unwrap().len(), 3);

    // Forecasts from the done fit.
    let answer = s
        .json(
            "POST",
            &format!("/api/fits/{fit}/predict?format=csv"),
            r#"{"schedule": "cosine:peak=3e-4,final=3e-5,warmup=500,total=5000", "every": 1000}"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert!(
        answer.text().starts_with("run,step,loss,lower,upper\n"),
        "{}",
        answer.text()
    );
    assert_eq!(answer.text().lines().count(), 1 + 4);
    // In JSON, each row has exactly the fields of the documented schema.
    let rows = s
        .json(
            "POST",
            &format!("/api/fits/{fit}/predict"),
            r#"{"schedule": "cosine:peak=3e-4,final=3e-5,warmup=500,total=5000", "every": 1000}"#,
        )
        .await
        .json();
    let schema = &doc["paths"]["/api/fits/{id}/predict"]["post"]["responses"]["200"]["content"]["application/json"]
        ["schema"]["items"]["$ref"];
    let name = schema.as_str().unwrap().rsplit('/').next().unwrap();
    let documented: std::collections::BTreeSet<&String> =
        doc["components"]["schemas"][name]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
    let sent: std::collections::BTreeSet<&String> = rows[0].as_object().unwrap().keys().collect();
    assert_eq!(
        sent, documented,
        "the JSON predict rows against schema {name}"
    );
    assert_eq!(rows.as_array().unwrap().len(), 4);
    let answer = s
        .json(
            "POST",
            &format!("/api/fits/{fit}/best-schedule"),
            r#"{"candidates": ["constant:peak=3e-4,total=5000", "cosine:peak=3e-4,final=3e-5,warmup=500,total=5000"]}"#,
        )
        .await;
    assert_eq!(answer.json()[0]["rank"], 1, "{}", answer.text());
    s.json(
        "POST",
        &format!("/api/fits/{fit}/plan"),
        r#"{"compute": [1e21]}"#,
    )
    .await
    .error(StatusCode::UNPROCESSABLE_ENTITY, "unsupported");

    // Runs a fit uses are kept as they are.
    s.json(
        "PATCH",
        &format!("/api/runs/{}", runs[0]),
        r#"{"mapping": {"lr_col": "lr"}}"#,
    )
    .await
    .error(StatusCode::CONFLICT, "run_in_use");
    s.send(
        Request::delete(format!("/api/runs/{}", runs[0]))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .error(StatusCode::CONFLICT, "run_in_use");

    // A deleted fit predicts nothing.
    let answer = s
        .send(
            Request::delete(format!("/api/fits/{fit}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    s.json(
        "POST",
        &format!("/api/fits/{fit}/predict"),
        r#"{"schedule": "constant:peak=3e-4,total=1000"}"#,
    )
    .await
    .error(StatusCode::NOT_FOUND, "not_found");
    // Once the (failed) fit that used it is gone, the short run can go.
    let answer = s
        .send(
            Request::delete(format!("/api/fits/{few}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let answer = s
        .send(
            Request::delete(format!("/api/runs/{short}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text());

    // The batch-size workflow: a prediction from given constants, and refused inputs.
    let su = json!({"law": {"n_c": 6.5e13, "alpha_n": 0.076, "s_c": 2.1e3, "alpha_s": 0.76,
                            "b_star": 2e8, "alpha_b": 0.21},
                    "n_params": 1e9, "batch": 1e6, "max_steps": 1e4, "n_points": 5});
    let answer = s.json("POST", "/api/batch/predict", su.to_string()).await;
    assert_eq!(
        answer.json()["curve"].as_array().unwrap().len(),
        5,
        "{}",
        answer.text()
    );
    let answer = s
        .json("POST", "/api/batch/predict?format=csv", su.to_string())
        .await;
    assert!(
        answer.text().starts_with("step,tokens,loss\n"),
        "{}",
        answer.text()
    );
    // Tables sent as files become the rows those requests take; a table without the
    // needed column is refused naming it.
    let zhang = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/zhang_cbs/steps_to_goal_loss_vs_batch.csv"
    ))
    .unwrap();
    let table = |uri: &str, bytes: Vec<u8>| {
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(bytes))
            .unwrap()
    };
    let answer = s
        .send(table("/api/batch/table?name=zhang.csv", zhang))
        .await;
    assert!(
        answer.json().as_array().unwrap().len() > 10,
        "{}",
        answer.text()
    );
    s.send(table("/api/batch/table?name=x.csv", b"a,b\n1,2\n".to_vec()))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "missing_column");
    let step_law = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/steplaw/dense_lr_bs_loss.csv"
    ))
    .unwrap();
    let answer = s
        .send(table("/api/hyper/table?name=steplaw.csv", step_law))
        .await;
    assert!(
        answer.json().as_array().unwrap().len() > 100,
        "{}",
        answer.text()
    );

    for uri in ["/api/batch/analyze", "/api/batch/su-fit", "/api/hyper/fit"] {
        let answer = s.json("POST", uri, "{}").await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri}: {}",
            answer.text()
        );
        s.json("POST", uri, "[")
            .await
            .error(StatusCode::BAD_REQUEST, "invalid_json");
    }

    // An upload over the limit, on a server with a small one.
    let mut small = Session::new(Config {
        max_upload_bytes: 4096,
        ..Config::default()
    });
    let big = format!("step,loss\n{}", "1,2.5\n".repeat(2000)).into_bytes();
    small
        .files("/api/runs", &[("big.csv", big)])
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE, "upload_too_large");

    // Nothing documented was left out.
    let mut missed = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item
            .as_object()
            .unwrap()
            .keys()
            .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
        {
            let hit = s.sent.iter().any(|(m, p)| m == method && matches(path, p));
            if !hit {
                missed.push(format!("{method} {path}"));
            }
        }
    }
    assert!(
        missed.is_empty(),
        "over {transport:?}, never called: {missed:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_and_error_case_in_process_and_over_tcp() {
    common::both_transports(session).await;
}
