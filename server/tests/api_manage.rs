//! The API over the real router, in process and over TCP: managing runs (JSON-points upload, filters,
//! rename, schedule, delete), planning from a Chinchilla fit, ranking schedules from a
//! momentum-law fit, the access token and the time limit.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use server::api::Config;
use shared::api::{
    FitDetail, FitStatus, FitSummary, PlanResponse, RankedSchedule, RunSummary, UploadResponse,
};
use tower::ServiceExt;

mod common;
use common::TestApp;

fn test_app(config: Config) -> TestApp {
    TestApp::new(config)
}

/// The status and JSON body (`Null` when empty) of the answer.
async fn call(app: &TestApp, request: Request<Body>) -> (StatusCode, Value) {
    let (status, _, bytes) = common::send(&app.router, request).await;
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
    };
    (status, value)
}

async fn send(app: &TestApp, method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    call(app, request).await
}

async fn get(app: &TestApp, uri: &str) -> (StatusCode, Value) {
    call(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

async fn upload_files(app: &TestApp, files: &[(&str, Vec<u8>)]) -> Vec<RunSummary> {
    let request = common::multipart("/api/runs", files, None);
    let (status, body) = call(app, request).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    serde_json::from_value::<UploadResponse>(body).unwrap().runs
}

fn data(path: &str) -> (&str, Vec<u8>) {
    let full = format!("{}/../../shared/data/{path}", env!("CARGO_MANIFEST_DIR"));
    (
        path.rsplit('/').next().unwrap(),
        std::fs::read(full).unwrap(),
    )
}

async fn wait_done(app: &TestApp, id: i64) -> FitDetail {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (status, body) = get(app, &format!("/api/fits/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        let fit: FitDetail = serde_json::from_value(body).unwrap();
        if !matches!(fit.summary.status, FitStatus::Queued | FitStatus::Running) {
            return fit;
        }
        assert!(
            Instant::now() < deadline,
            "fit {id} did not finish in 300 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create_fit(app: &TestApp, request: Value) -> i64 {
    let (status, body) = send(app, "POST", "/api/fits", &request.to_string()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    serde_json::from_value::<FitSummary>(body).unwrap().id
}

/// Uploads curves of `multipowerlaw/csv_25` and starts a momentum fit of them with a
/// bootstrap; the fit's id.
async fn momentum_fit(app: &TestApp, curves: &[&str], bootstrap: usize) -> i64 {
    let paths: Vec<String> = curves
        .iter()
        .map(|c| format!("multipowerlaw/csv_25/{c}"))
        .collect();
    let files: Vec<(&str, Vec<u8>)> = paths.iter().map(|p| data(p)).collect();
    let ids: Vec<i64> = upload_files(app, &files)
        .await
        .iter()
        .map(|r| r.id)
        .collect();
    let request = json!({"law": "momentum", "runs": ids, "options": {"bootstrap": bootstrap}});
    create_fit(app, request).await
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_upload_as_points_filter_patch_and_delete() {
    common::both_transports(runs_upload_as_points_filter_patch_and_delete_case).await;
}

async fn runs_upload_as_points_filter_patch_and_delete_case() {
    let app = test_app(Config::default());
    let points = json!({
        "name": "Points-A",
        "points": {"loss": {"steps": [1, 2, 3, 4, 5, 6], "values": [4.0, 3.8, 3.6, 3.5, 3.45, 3.4]}},
        "attrs": {"n_params": 1.0e6}
    });
    let (status, body) = send(&app, "POST", "/api/runs", &points.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let run: RunSummary = serde_json::from_value(body["runs"][0].clone()).unwrap();
    assert_eq!(
        (run.name.as_str(), run.format.as_str(), run.n_points),
        ("Points-A", "json-points", 6)
    );
    assert_eq!(run.attrs["n_params"], 1.0e6);
    assert_eq!(run.lr_source, shared::api::LrSource::None);
    let (_, detail) = get(&app, &format!("/api/runs/{}", run.id)).await;
    assert_eq!(detail["points"]["loss"]["values"][5], 3.4);
    assert_eq!(detail["sources"]["loss"], "JSON points");

    // Bad points are refused, naming the series and the index.
    for (body, status, error, place) in [
        (
            r#"{"name": "x", "points": {"loss": {"steps": [1, 2], "values": [4.0]}}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_file",
            "2 steps but 1 values",
        ),
        (
            r#"{"name": "x", "points": {"loss": {"steps": [1, 3, 2], "values": [4, 3, 2]}}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_file",
            "points.loss.steps[2], column 'loss': step 2 does not increase",
        ),
        (
            r#"{"name": "x", "points": {"lr": {"steps": [1], "values": [1e-3]}}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_column",
            "no `loss` series",
        ),
        (
            r#"{"name": "x", "points": "#,
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "EOF",
        ),
        (
            r#"{"name": "x", "points": {}, "colour": 1}"#,
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "unknown field `colour`",
        ),
    ] {
        let (got, response) = send(&app, "POST", "/api/runs", body).await;
        assert_eq!(
            (got, code(&response)),
            (status, error),
            "{body}: {response}"
        );
        assert!(
            response["error"]["message"]
                .as_str()
                .unwrap()
                .contains(place),
            "{body}: {response}"
        );
    }

    let csv = upload_files(
        &app,
        &[(
            "with_lr.csv",
            b"step,lr,loss\n1,1e-3,4.0\n2,1e-3,3.9\n3,1e-3,3.8\n".to_vec(),
        )],
    )
    .await;
    let names = |body: &Value| -> Vec<String> {
        serde_json::from_value::<Vec<RunSummary>>(body.clone())
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect()
    };
    let csv_name = csv[0].name.clone();
    // The detail says where each series came from (its column: the detected role).
    let (_, detail) = get(&app, &format!("/api/runs/{}", csv[0].id)).await;
    for series in ["loss", "lr"] {
        let source = detail["sources"][series].as_str().unwrap_or_default();
        assert!(source.contains(series), "{series}: {detail}");
    }
    for (query, expected) in [
        ("", vec!["Points-A".to_string(), csv_name.clone()]),
        ("?q=points", vec!["Points-A".to_string()]),
        ("?has_lr=true", vec![csv_name.clone()]),
        ("?has_lr=false", vec!["Points-A".to_string()]),
        ("?format=csv", vec![csv_name.clone()]),
        ("?format=csv&q=points", vec![]),
    ] {
        let (status, body) = get(&app, &format!("/api/runs{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(names(&body), expected, "{query}");
    }
    let (status, body) = get(&app, "/api/runs?has_lr=maybe").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );

    // Rename, then give the run a schedule: it now counts as having a learning rate.
    let uri = format!("/api/runs/{}", run.id);
    let (status, body) = send(&app, "PATCH", &uri, r#"{"name": "renamed"}"#).await;
    assert_eq!(
        (status, body["name"].as_str()),
        (StatusCode::OK, Some("renamed"))
    );
    let (status, body) = send(&app, "PATCH", &uri, r#"{"schedule": "cosine:peak=oops"}"#).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_schedule")
    );
    let (status, body) = send(&app, "PATCH", &uri, r#"{"name": " "}"#).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_name")
    );
    let (status, body) = send(&app, "PATCH", &uri, "{oops").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_json")
    );
    let (status, _) = send(&app, "PATCH", "/api/runs/999", r#"{"name": "a"}"#).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let schedule = "constant:peak=1e-3,total=10";
    let (status, body) = send(
        &app,
        "PATCH",
        &uri,
        &json!({ "schedule": schedule }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["lr_source"].as_str(), body["schedule"].as_str()),
        (Some("schedule"), Some(schedule))
    );
    let (_, body) = get(&app, "/api/runs?has_lr=true").await;
    assert_eq!(names(&body).len(), 2);

    // A schedule-law fit takes the run's schedule and records it in its request.
    let fit = create_fit(&app, json!({"law": "momentum", "runs": [run.id]})).await;
    let (_, detail) = get(&app, &format!("/api/fits/{fit}")).await;
    assert_eq!(
        detail["request"]["options"]["schedules"][run.id.to_string()],
        schedule
    );

    // Clearing the schedule: the same request is refused, naming the run.
    let (status, body) = send(&app, "PATCH", &uri, r#"{"schedule": null}"#).await;
    assert_eq!(
        (status, body["lr_source"].as_str()),
        (StatusCode::OK, Some("none"))
    );
    assert!(body.get("schedule").is_none());
    let (status, body) = send(
        &app,
        "POST",
        "/api/fits",
        &json!({"law": "momentum", "runs": [run.id]}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("renamed"),
        "{body}"
    );

    // A run a fit uses is kept (409 naming the fit) until the fit is deleted.
    wait_done(&app, fit).await;
    let (status, body) = send(&app, "DELETE", &uri, "").await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "run_in_use"));
    assert_eq!(body["error"]["details"]["fits"], json!([fit]));
    let (status, _) = send(&app, "DELETE", &format!("/api/fits/{fit}"), "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(&app, "DELETE", &uri, "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = get(&app, &uri).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = send(&app, "DELETE", &uri, "").await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (_, body) = get(&app, "/api/runs").await;
    assert_eq!(names(&body), vec![csv_name]);
}

/// Compute-optimal N for `c` from the fitted `[a, b, e, alpha, beta]`, written out here
/// independently of `shared::laws::chinchilla`.
fn n_opt_oracle(p: &[f64], c: f64) -> f64 {
    let (a, b, alpha, beta) = (p[0].exp(), p[1].exp(), p[3], p[4]);
    let g = (alpha * a / (beta * b)).powf(1.0 / (alpha + beta));
    g * (c / 6.0).powf(beta / (alpha + beta))
}

#[tokio::test(flavor = "multi_thread")]
async fn chinchilla_plan_with_bootstrap_intervals() {
    common::both_transports(chinchilla_plan_with_bootstrap_intervals_case).await;
}

async fn chinchilla_plan_with_bootstrap_intervals_case() {
    let app = test_app(Config::default());
    let runs = upload_files(&app, &[data("epoch_chinchilla/svg_extracted_data.csv")]).await;
    let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let fit = create_fit(
        &app,
        json!({"law": "chinchilla", "runs": ids, "options": {"exclude_highest": 5, "bootstrap": 40}}),
    )
    .await;
    let detail = wait_done(&app, fit).await;
    assert_eq!(
        detail.summary.status,
        FitStatus::Done,
        "{:?}",
        detail.summary.error
    );
    let params = detail.params.unwrap();

    let budgets = [1e21, 5.76e23, 1e25];
    let (status, body) = send(
        &app,
        "POST",
        &format!("/api/fits/{fit}/plan"),
        &json!({"compute": budgets, "n": [7e10, 1.4e11], "d": [1.4e12, 7e11]}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let plan: PlanResponse = serde_json::from_value(body).unwrap();
    assert_eq!(
        (plan.law.as_str(), plan.optimal.len(), plan.proposed.len()),
        ("chinchilla", 3, 2)
    );
    assert!(plan.resamples >= 30, "{} resamples", plan.resamples);
    for (point, &c) in plan.optimal.iter().zip(&budgets) {
        let n = point.n_opt.value;
        let d = point.d_opt.value;
        // The closed form, to 1e-9, and the budget is spent exactly.
        assert!(
            (n / n_opt_oracle(&params, c) - 1.0).abs() < 1e-9,
            "N_opt {n} at C={c}"
        );
        assert!((6.0 * n * d / c - 1.0).abs() < 1e-9);
        assert!((point.tokens_per_param.value - d / n).abs() < 1e-9 * d / n);
        // Every interval brackets its estimate, and is a real spread.
        for e in [point.n_opt, point.d_opt, point.tokens_per_param, point.loss] {
            let (lo, hi) = (e.lower.unwrap(), e.upper.unwrap());
            assert!(lo <= e.value && e.value <= hi && lo < hi, "{e:?}");
        }
    }
    // Along the 5.76e23 budget (Chinchilla's), the proposals are no better than the optimum.
    let best = plan.optimal[1].loss.value;
    for p in &plan.proposed {
        assert!((p.compute / 5.88e23 - 1.0).abs() < 1e-9);
        assert!(p.loss.value > plan.optimal[1].loss.value - 1e-3 || p.compute > 5.76e23);
        assert!(p.loss.value.is_finite() && p.loss.lower.unwrap() <= p.loss.value);
    }
    // The loss of the optimum, asked as a proposal, is the optimum's loss.
    let (n, d) = (plan.optimal[1].n_opt.value, plan.optimal[1].d_opt.value);
    let (_, body) = send(
        &app,
        "POST",
        &format!("/api/fits/{fit}/plan"),
        &json!({"n": [n, 2.0 * n], "d": [d, d / 2.0]}).to_string(),
    )
    .await;
    let again: PlanResponse = serde_json::from_value(body).unwrap();
    assert!((again.proposed[0].loss.value - best).abs() < 1e-12);
    assert!(again.proposed[1].loss.value > best);

    for (request, error) in [
        (json!({"compute": [-1.0]}), "invalid_plan"),
        (json!({"n": [1e9], "d": []}), "invalid_plan"),
        (json!({}), "invalid_plan"),
    ] {
        let (status, body) = send(
            &app,
            "POST",
            &format!("/api/fits/{fit}/plan"),
            &request.to_string(),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, error),
            "{request}"
        );
    }
    let (status, body) = send(
        &app,
        "POST",
        &format!("/api/fits/{fit}/plan"),
        r#"{"budget": 1}"#,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_json")
    );
    // A scaling-law fit has no schedule to rank.
    let (status, body) = send(
        &app,
        "POST",
        &format!("/api/fits/{fit}/best-schedule"),
        r#"{"candidates": ["constant:peak=1e-3,total=10"]}"#,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unsupported")
    );
    // A deleted fit plans nothing.
    send(&app, "DELETE", &format!("/api/fits/{fit}"), "").await;
    let (status, _) = send(
        &app,
        "POST",
        &format!("/api/fits/{fit}/plan"),
        r#"{"compute": [1e21]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn best_schedule_ranks_as_the_held_out_runs_do() {
    common::both_transports(best_schedule_ranks_as_the_held_out_runs_do_case).await;
}

async fn best_schedule_ranks_as_the_held_out_runs_do_case() {
    let app = test_app(Config::default());
    let fit = momentum_fit(
        &app,
        &["cosine_24000.csv", "constant_24000.csv", "wsdcon_9.csv"],
        20,
    )
    .await;
    let detail = wait_done(&app, fit).await;
    assert_eq!(
        detail.summary.status,
        FitStatus::Done,
        "{:?}",
        detail.summary.error
    );

    // Observed losses at step 23904 (`csv_25`): WSD with linear decay from 20000 (never
    // fitted) 3.2776, cosine about 3.3045, constant about 3.3473.
    let candidates = [
        ("constant:peak=3e-4,warmup=2160,total=24000", 3.3473),
        (
            "wsd:peak=3e-4,final=3e-5,warmup=2160,total=24000,decay_start=20000,shape=linear",
            3.2776,
        ),
        (
            "cosine:peak=3e-4,final=3e-5,warmup=2160,total=24000",
            3.3045,
        ),
    ];
    let request =
        json!({"candidates": candidates.iter().map(|c| c.0).collect::<Vec<_>>(), "horizon": 23904});
    let (status, body) = send(
        &app,
        "POST",
        &format!("/api/fits/{fit}/best-schedule"),
        &request.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ranked: Vec<RankedSchedule> = serde_json::from_value(body).unwrap();
    let order: Vec<&str> = ranked
        .iter()
        .map(|r| r.schedule.split(':').next().unwrap())
        .collect();
    assert_eq!(order, ["wsd", "cosine", "constant"]);
    for r in &ranked {
        let observed = candidates.iter().find(|c| c.0 == r.schedule).unwrap().1;
        // Within 1% of what the run reached, with a bootstrap band around the estimate.
        assert!(
            (r.loss.value / observed - 1.0).abs() < 0.01,
            "{} predicted {} observed {observed}",
            r.schedule,
            r.loss.value
        );
        assert!(r.loss.lower.unwrap() <= r.loss.value && r.loss.value <= r.loss.upper.unwrap());
        assert_eq!(r.step, 23904);
    }
    assert_eq!(ranked.iter().map(|r| r.rank).collect::<Vec<_>>(), [1, 2, 3]);

    for request in [
        json!({"candidates": []}),
        json!({"candidates": ["cosine:nonsense=1"]}),
        json!({"candidates": ["constant:peak=1e-3,total=10"], "horizon": 0}),
    ] {
        let (status, body) = send(
            &app,
            "POST",
            &format!("/api/fits/{fit}/best-schedule"),
            &request.to_string(),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_schedule"),
            "{request}"
        );
    }
    let (status, body) = send(
        &app,
        "POST",
        &format!("/api/fits/{fit}/plan"),
        r#"{"compute": [1e21]}"#,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unsupported")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_guards_the_api_but_not_the_app_files() {
    common::both_transports(a_token_guards_the_api_but_not_the_app_files_case).await;
}

async fn a_token_guards_the_api_but_not_the_app_files_case() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), "<html>curvecast</html>").unwrap();
    let app = test_app(Config {
        token: Some("s3cret".into()),
        dist: Some(dist.path().to_path_buf()),
        ..Config::default()
    });
    let with = |auth: Option<&str>| {
        let mut request = Request::get("/api/runs");
        if let Some(auth) = auth {
            request = request.header(header::AUTHORIZATION, auth);
        }
        request.body(Body::empty()).unwrap()
    };
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Bearer s3cre"),
        Some("s3cret"),
    ] {
        let (status, body) = call(&app, with(auth)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{auth:?}"
        );
    }
    let (status, _) = call(&app, with(Some("Bearer s3cret"))).await;
    assert_eq!(status, StatusCode::OK);
    let response = app
        .router
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_over_its_time_limit_is_a_503() {
    common::both_transports(a_request_over_its_time_limit_is_a_503_case).await;
}

async fn a_request_over_its_time_limit_is_a_503_case() {
    // Long enough for the 25 MB body to arrive (about 60 ms over loopback), far shorter than
    // checking and storing its 1,000,000 points (0.7-0.8 s here). With a shorter limit the
    // server answers while the client is still sending, and over TCP the client may see
    // the connection closed instead of the 503.
    let app = test_app(Config {
        timeout: Duration::from_millis(200),
        upload_timeout: Duration::from_millis(200),
        ..Config::default()
    });
    let n = 1_000_000;
    let steps: Vec<usize> = (1..=n).collect();
    let values: Vec<f64> = steps.iter().map(|&s| 2.0 + 1.0 / s as f64).collect();
    let body = json!({"name": "big", "points": {"loss": {"steps": steps, "values": values}}});
    let (status, body) = send(&app, "POST", "/api/runs", &body.to_string()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "timeout")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fit_events_stream_follows_the_job_to_its_end() {
    common::both_transports(fit_events_stream_follows_the_job_to_its_end_case).await;
}

async fn fit_events_stream_follows_the_job_to_its_end_case() {
    let app = test_app(Config::default());
    let fit = momentum_fit(&app, &["cosine_24000.csv", "constant_24000.csv"], 1000).await;
    let response = app
        .router
        .clone()
        .oneshot(
            Request::get(format!("/api/fits/{fit}/events"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    // The stream ends by itself when the fit ends; collect it all (bounded by a deadline).
    let body = tokio::time::timeout(Duration::from_secs(300), response.into_body().collect())
        .await
        .expect("the event stream did not end with the fit")
        .unwrap()
        .to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(events.last(), Some(&"done"), "{text}");
    assert!(
        events.len() >= 2 && matches!(events[0], "queued" | "running"),
        "{text}"
    );
    let last_data = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .last()
        .unwrap();
    let progress: shared::api::FitProgress = serde_json::from_str(last_data).unwrap();
    assert_eq!((progress.id, progress.status), (fit, FitStatus::Done));
    // While it ran: `progress` events through the bootstrap's resamples.
    let counts: Vec<u64> = text
        .split("\n\n")
        .filter(|e| e.contains("event: progress"))
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| serde_json::from_str::<shared::api::FitProgress>(d).unwrap())
        .filter_map(|p| p.progress.filter(|p| p.stage == "bootstrap"))
        .map(|p| {
            assert_eq!(p.total, 1000);
            p.done
        })
        .collect();
    assert!(!counts.is_empty(), "no bootstrap progress event: {text}");
    assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");

    let (status, body) = get(&app, "/api/fits/999/events").await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
}
